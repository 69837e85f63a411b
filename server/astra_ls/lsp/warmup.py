"""Time travel's first pass, done ahead of the user: checkpoints for every big store after the first scan.

Without it the first hover deep in a million-event store replays from line 1 (or from the previous hover)
to there. Copy-on-write checkpoints are cheap to keep, so the pass costs about one replay of each store.
It runs on its own thread in steps, each under the store's lock; a hover stops the step under way within
a few events, and the pass waits until hovers have stopped coming for a moment. Users' projectors, whose
checkpoints are serialised copies, are not walked ahead.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

from astra_ls.lsp.workspace_state import Located

if TYPE_CHECKING:
    from astra_ls.lsp.server import AstraServer

MIN_LINES = 4_096  # smaller stores replay in a few milliseconds without checkpoints made ahead
STEP_CHECKPOINTS = 2  # checkpoint spacings per step under the store's lock: what a re-check may wait for
PAUSE_S = 0.0005  # between steps: another thread waiting for the store's lock takes it then
# While the pass runs, the thread answering a request waits this long at most for the interpreter
# (the default, 5 ms, would be added at each of a hover's hand-overs between threads).
SWITCH_S = 0.0005
GRACE_S = 0.2  # after a hover, the pass waits this long for the next one


class CheckpointWarmer:
    def __init__(self, server: AstraServer) -> None:
        self.server = server
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="astra-warmup")
        self._generation = 0  # a new scan (settings reload) or shutdown makes older passes stop
        self._guard = threading.Lock()
        self._answering = 0
        self._idle = threading.Event()
        self._idle.set()
        self._quiet_until = 0.0  # hovers come in bursts (a pointer moving over lines): none until then

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
                self._quiet_until = time.monotonic() + GRACE_S
                if not self._answering:
                    self._idle.set()

    def _current(self, generation: int) -> bool:
        return generation == self._generation

    def _warm_all(self, generation: int) -> None:
        usual = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_S)
        try:
            for located in self.server.workspaces.discover():
                if not self._current(generation):
                    return
                try:
                    self._warm(located, generation)
                except Exception as error:  # a store deleted or changed meanwhile: its next check says why
                    self.server.log(f"time-travel checkpoints for {located.path.name} stopped: {error!r}")
        finally:
            sys.setswitchinterval(usual)

    def _warm(self, located: Located, generation: int) -> None:
        def stop() -> bool:
            return not self._idle.is_set() or not self._current(generation)

        while self._current(generation):
            self._idle.wait()
            quiet = self._quiet_until - time.monotonic()
            if quiet > 0:
                time.sleep(quiet)
                continue
            with self.server.workspaces.lock(located.path):
                if not self._step(located, stop):
                    return
            time.sleep(PAUSE_S)

    @staticmethod
    def _step(located: Located, stop: Callable[[], bool]) -> bool:
        """Fold on past the last checkpoint for a while; False when the store is covered."""
        store, stream = located.store, located.stream
        analysis = store.analysis(stream)
        replayer = store.replayer(stream)
        if analysis.line_count < MIN_LINES or not replayer.shares:
            return False
        return replayer.extend(analysis, store.reader(stream), STEP_CHECKPOINTS * replayer.every, stop)
