"""Time travel's first pass, done ahead of the user: checkpoints for every big store after the first scan.

Without it the first hover deep in a million-event store replays from line 1. The pass runs on its own
thread in bounded steps, each under the store's lock, so a hover or a re-check waits for one step at most.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from astra_ls.lsp.workspace_state import Located

if TYPE_CHECKING:
    from astra_ls.lsp.server import AstraServer

STEP_LINES = 20_000  # lines replayed per step: a hover waits at most for one step
MIN_LINES = 4_096  # smaller stores replay fast enough without checkpoints made ahead


class CheckpointWarmer:
    def __init__(self, server: AstraServer) -> None:
        self.server = server
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="astra-warmup")
        self._generation = 0  # a new scan (settings reload) or shutdown makes older passes stop
        self._guard = threading.Lock()

    def start(self, stores: list[Located]) -> None:
        with self._guard:
            self._generation += 1
            generation = self._generation
        for located in stores:
            self._pool.submit(self._warm, located, generation)

    def stop(self) -> None:
        with self._guard:
            self._generation += 1

    def _warm(self, located: Located, generation: int) -> None:
        line = 0
        while generation == self._generation:
            try:
                with self.server.workspaces.lock(located.path):
                    line = self._step(located, line)
            except Exception as error:  # a store deleted or changed meanwhile: its next check says why
                self.server.log(f"time-travel checkpoints for {located.path.name} stopped: {error!r}")
                return
            if line < 0:
                return

    @staticmethod
    def _step(located: Located, line: int) -> int:
        """Replay up to one step further; the next line to reach, or -1 when the store is covered."""
        store, stream = located.store, located.stream
        analysis = store.analysis(stream)
        if analysis.line_count < MIN_LINES or line >= analysis.line_count:
            return -1
        target = min(line + STEP_LINES, analysis.line_count - 1)
        store.replayer(stream).state_after(analysis, store.reader(stream), target)
        return target + 1
