"""Time travel's first pass, done ahead of the user: checkpoints for every big store after the first scan.

Without it the first hover deep in a million-event store replays from line 1 (or from the previous hover)
to there. Copy-on-write checkpoints are cheap to keep, so the pass costs about one replay of each store.
It runs on its own thread in steps, each under the store's lock; a hover stops the step under way within
a few events, and the pass waits until hovers have stopped coming for a moment. Users' projectors, whose
checkpoints are serialised copies, are not walked ahead. The pass shows as a progress item
("Preparing time travel"), so users (and benchmarks) can tell when any hover is answered from a nearby
checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from astra_ls.core.analysis import StoreAnalysis
from astra_ls.lsp.client import ClientLog, ProgressClient
from astra_ls.lsp.progress import ThreadedProgress
from astra_ls.lsp.workspace_state import Located, Workspaces
from astra_ls.projections.replay import Replayer

log = logging.getLogger(__name__)

MIN_LINES = 4_096  # smaller stores replay in a few milliseconds without checkpoints made ahead
STEP_CHECKPOINTS = 2  # checkpoint spacings per step under the store's lock: what a re-check may wait for
PAUSE_S = 0.0005  # between steps: another thread waiting for the store's lock takes it then
# While the pass runs, the thread answering a request waits this long at most for the interpreter
# (the default, 5 ms, would be added at each of a hover's hand-overs between threads).
SWITCH_S = 0.0005
GRACE_S = 0.2  # after a hover, the pass waits this long for the next one
REPORT_S = 0.25  # at most this often a progress report


class CheckpointWarmer:
    def __init__(self, workspaces: Workspaces, client: ClientLog, progress: ProgressClient) -> None:
        self._workspaces = workspaces
        self._client = client
        self._progress = progress
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="astra-warmup")
        self._generation = 0  # a new scan (settings reload) or shutdown makes older passes stop
        self._guard = threading.Lock()
        self._answering = 0
        self._idle = threading.Event()
        self._idle.set()
        self._quiet_until = 0.0  # hovers come in bursts (a pointer moving over lines): none until then

    def start(self) -> None:
        """Walk every store found now; a pass still running for an earlier scan stops. Called on the
        message loop (it reports progress there)."""
        with self._guard:
            self._generation += 1
            generation = self._generation
        progress = ThreadedProgress(self._progress, asyncio.get_running_loop(), "warmup", "Preparing time travel")
        self._pool.submit(self._warm_all, generation, progress)

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

    def _warm_all(self, generation: int, progress: ThreadedProgress) -> None:
        usual = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_S)
        try:
            todo = [(located, lines) for located in self._workspaces.discover()
                    if (lines := self._lines_to_fold(located)) > 0]
            if not todo:
                return
            tally = Tally(progress, sum(lines for _, lines in todo))
            progress.begin(f"{len(todo)} store(s)")
            for located, lines in todo:
                if not self._current(generation):
                    break
                tally.next_store(lines)
                try:
                    self._warm(located, generation, tally)
                except Exception as error:  # a store deleted or changed meanwhile: its next check says why
                    self._client.log(f"time-travel checkpoints for {located.path.name} stopped: {error!r}")
            progress.end("ready" if self._current(generation) else "stopped: the stores are being checked again")
        finally:
            sys.setswitchinterval(usual)

    def _lines_to_fold(self, located: Located) -> int:
        try:
            with self._workspaces.lock(located.path):
                store, stream = located.store, located.stream
                return _left(store.analysis(stream), store.replayer(stream))
        except Exception as error:  # deleted or unreadable since the scan: nothing to walk
            log.info("no time-travel checkpoints for %s: %r", located.path.name, error)
            return 0

    def _warm(self, located: Located, generation: int, tally: Tally) -> None:
        def stop() -> bool:
            return not self._idle.is_set() or not self._current(generation)

        while self._current(generation):
            self._idle.wait()
            quiet = self._quiet_until - time.monotonic()
            if quiet > 0:
                time.sleep(quiet)
                continue
            with self._workspaces.lock(located.path):
                left = self._step(located, stop)
            if left is None:
                return
            tally.at(located.stream, left)
            time.sleep(PAUSE_S)

    @staticmethod
    def _step(located: Located, stop: Callable[[], bool]) -> int | None:
        """Fold on past the last checkpoint for a while; the lines still left then, None once covered."""
        store, stream = located.store, located.stream
        analysis = store.analysis(stream)
        replayer = store.replayer(stream)
        if not _left(analysis, replayer):
            return None
        replayer.extend(analysis, store.reader(stream), STEP_CHECKPOINTS * replayer.every, stop)
        return _left(analysis, replayer)


def _left(analysis: StoreAnalysis, replayer: Replayer) -> int:
    """Lines of a store the pass walks that have no checkpoint after them yet (0: nothing to walk)."""
    if analysis.line_count < MIN_LINES or not replayer.shares:
        return 0
    return analysis.line_count - 1 - replayer.covered()


class Tally:
    """How far the pass is, over every store it walks: throttled reports of one progress item."""

    def __init__(self, progress: ThreadedProgress, total: int) -> None:
        self._progress = progress
        self._total = max(1, total)
        self._before = 0  # lines of the stores walked before the current one
        self._lines = 0  # lines the current store had to fold when the pass reached it
        self._reported = 0.0

    def next_store(self, lines: int) -> None:
        self._before += self._lines
        self._lines = lines

    def at(self, stream: str, left: int) -> None:
        """The current store has `left` lines without a checkpoint after them."""
        now = time.monotonic()
        if now - self._reported >= REPORT_S:
            self._reported = now
            done = self._before + max(0, self._lines - left)
            self._progress.report(stream, min(99, 100 * done // self._total))
