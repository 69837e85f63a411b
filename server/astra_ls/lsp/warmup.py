"""Time travel's first pass, done ahead of the user: checkpoints for every big store after the first scan.

Without it the first hover deep in a million-event store replays from line 1 (or from the previous hover)
to there. Copy-on-write checkpoints are cheap to keep, so the pass costs about one replay of each store.
It runs on its own thread in steps of one checkpoint spacing, each under the store's lock, and stands
aside while a hover is answered, so a hover waits for one short step at most. Users' projectors, whose
checkpoints are serialised copies, are not walked ahead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

from astra_ls.lsp.workspace_state import Located

if TYPE_CHECKING:
    from astra_ls.lsp.server import AstraServer

MIN_LINES = 4_096  # smaller stores replay in a few milliseconds without checkpoints made ahead
PAUSE_S = 0.0005  # between steps: another thread waiting for the store's lock takes it then


class CheckpointWarmer:
    def __init__(self, server: AstraServer) -> None:
        self.server = server
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="astra-warmup")
        self._generation = 0  # a new scan (settings reload) or shutdown makes older passes stop
        self._guard = threading.Lock()
        self._answering = 0
        self._idle = threading.Event()
        self._idle.set()

    def start(self) -> None:
        """Walk every store found now; a pass still running for an earlier scan stops."""
        with self._guard:
            self._generation += 1
            generation = self._generation
        self._pool.submit(self._warm_all, generation)

    def stop(self) -> None:
        with self._guard:
            self._generation += 1
        self._pool.shutdown(wait=False, cancel_futures=True)

    @contextmanager
    def standing_aside(self) -> Iterator[None]:
        """Around a request's work: the pass takes no further step until it is answered."""
        with self._guard:
            self._answering += 1
            self._idle.clear()
        try:
            yield
        finally:
            with self._guard:
                self._answering -= 1
                if not self._answering:
                    self._idle.set()

    def _current(self, generation: int) -> bool:
        return generation == self._generation

    def _warm_all(self, generation: int) -> None:
        for located in self.server.workspaces.discover():
            if not self._current(generation):
                return
            try:
                self._warm(located, generation)
            except Exception as error:  # a store deleted or changed meanwhile: its next check says why
                self.server.log(f"time-travel checkpoints for {located.path.name} stopped: {error!r}")

    def _warm(self, located: Located, generation: int) -> None:
        while self._current(generation):
            self._idle.wait()
            with self.server.workspaces.lock(located.path):
                if not self._step(located):
                    return
            time.sleep(PAUSE_S)

    @staticmethod
    def _step(located: Located) -> bool:
        """Replay one checkpoint spacing past the last checkpoint; False when the store is covered."""
        store, stream = located.store, located.stream
        analysis = store.analysis(stream)
        replayer = store.replayer(stream)
        last = analysis.line_count - 1
        if analysis.line_count < MIN_LINES or replayer.covered() >= last or not replayer.shares:
            return False
        target = min(replayer.covered() + replayer.every, last)
        replayer.state_after(analysis, store.reader(stream), target, keep=True)
        return True
