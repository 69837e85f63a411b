"""Freed memory handed back to the operating system after a big store's buffer was worked on (glibc).

glibc keeps memory freed inside its heaps for reuse instead of returning it, so the transient copies an
open 50 MB store causes (its text arriving in one message, a re-checked range, a frozen buffer) stayed
resident long after: a few hundred MB that no later work needed. `malloc_trim`, glibc's documented call
for this, gives it back. Elsewhere (musl, macOS, Windows) there is no such call and nothing is done.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 2.0  # a trim walks the heap (milliseconds for a few hundred MB): not after every keystroke
BIG_BYTES = 4 * 1024 * 1024  # smaller buffers leave too little behind to be worth a trim


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own C library
    except (OSError, AttributeError):  # a C library without it (musl)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


class MemoryGiver:
    """Returns freed memory to the system after work on big buffers: at most every MIN_INTERVAL_S, and once
    more at the end of a burst of edits (what the last ones freed is given back too)."""

    def __init__(self) -> None:
        self._trim = _malloc_trim()
        self._guard = threading.Lock()
        self._last = 0.0
        self._later: threading.Timer | None = None

    def after_work_on(self, size: int) -> None:
        if self._trim is None or size < BIG_BYTES:
            return
        with self._guard:
            wait = self._last + MIN_INTERVAL_S - time.monotonic()
            if wait > 0:
                if self._later is None:
                    self._later = threading.Timer(wait, self._give_back)
                    self._later.daemon = True
                    self._later.start()
                return
            self._last = time.monotonic()
        self._give_back(scheduled=False)

    def _give_back(self, scheduled: bool = True) -> None:
        if scheduled:
            with self._guard:
                self._later = None
                self._last = time.monotonic()
        assert self._trim is not None
        started = time.perf_counter()
        self._trim(0)
        log.debug("freed memory returned to the system in %.1f ms", 1000 * (time.perf_counter() - started))

    def stop(self) -> None:
        with self._guard:
            if self._later is not None:
                self._later.cancel()
