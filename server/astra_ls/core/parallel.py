"""Scan a big store on every core: each process reads its own byte range, the parts are joined in order.

Workers are forked, so they inherit the compiled schema (nothing to send on the way in) and the
process's string-hash seed (so id hashes from every part compare equal). Each sends its part back on a
pipe: small facts pickled, per-line arrays raw, read straight into the joined analysis. Only worth it
for big files.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import signal
import struct
import sys
import threading
from array import array
from pathlib import Path
from typing import Any, BinaryIO

from astra_ls.core.analysis import SENT_ARRAYS, AnalysisRules, StoreAnalysis, item_size, sent_spans
from astra_ls.core.blocks import iter_blocks

MIN_PARALLEL_BYTES = 32 * 1024 * 1024
# One set of workers forked at a time: a worker forked by another thread meanwhile would inherit the
# write end of a pipe and keep it open, so a crash of the pipe's own worker would go unnoticed.
_forking = threading.Lock()


def worker_count(size: int) -> int:
    if size < MIN_PARALLEL_BYTES or not hasattr(os, "fork"):
        return 1
    wanted = int(os.environ.get("ASTRA_LS_WORKERS", "0")) or (os.cpu_count() or 1)
    return max(1, min(wanted, size // MIN_PARALLEL_BYTES, 8))


def split_points(path: Path, size: int, parts: int) -> list[int]:
    """Byte offsets where each part starts: just after a newline near each equal share."""
    points = [0]
    with path.open("rb") as handle:
        for index in range(1, parts):
            handle.seek(max(points[-1], size * index // parts))
            handle.readline()  # move to the next line start (a very long line just skips a share)
            where = handle.tell()
            if points[-1] < where < size:
                points.append(where)
    return points


def scan_range(path: Path, rules: AnalysisRules, start: int, end: int | None, lean: bool = False) -> StoreAnalysis:
    analysis = StoreAnalysis(rules, lean)
    with path.open("rb") as handle:
        analysis.feed(iter_blocks(handle, start, rules.line.max_line_bytes, end=end), incremental=False)
    return analysis


_kept_streams: list[object] = []


def _quiet_worker() -> None:
    """Forked from a process that may be mid-write to stdout (the language server's JSON-RPC stream):
    the worker must never flush a copy of that buffer, so its std streams point at /dev/null and the
    inherited ones are kept alive (and unflushed) until the worker's os._exit."""
    _kept_streams.extend((sys.stdout, sys.stderr))
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker


def _fork_part(path: Path, rules: AnalysisRules, start: int, end: int, lean: bool) -> tuple[int, int]:
    """A process scanning [start, end) of `path`, and the read end of the pipe its result comes on.

    A plain fork that ends in os._exit: no interpreter clean-up in the child, which in a language server
    could block on the stdin its reader thread holds."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_end)
            _quiet_worker()
            part = scan_range(path, rules, start, end, lean)
            trim_heap()  # held until the parent has read the part: only the part itself should be
            _send(part, write_end)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end


def _send(part: StoreAnalysis, pipe: int) -> None:
    """The part's small facts pickled, then its arrays raw: nothing is copied to be sent."""
    arrays = [getattr(part, name) for name in SENT_ARRAYS]
    lengths = {name: len(values) for name, values in zip(SENT_ARRAYS, arrays, strict=True)}
    for name, values in zip(SENT_ARRAYS, arrays, strict=True):
        setattr(part, name, type(values)() if isinstance(values, bytearray) else array(values.typecode))
    # compiled schemas and decoders cannot be pickled, and the parent has its own; the parent indexes
    # the ids of the whole file itself, and the time order too unless the part folded it in (lean)
    part.rules = part._scanner = part.duplicates = None  # type: ignore[assignment]
    if not part.lean:
        part.order = None  # type: ignore[assignment]
    facts = pickle.dumps((lengths, part), pickle.HIGHEST_PROTOCOL)
    with os.fdopen(pipe, "wb") as out:
        out.write(struct.pack("<Q", len(facts)))
        out.write(facts)
        for values in arrays:
            _send_shrinking(values, out)


def _send_shrinking(values: array[Any] | bytearray, out: BinaryIO) -> None:
    """`values` in its `sent_spans`, each cut off once written: this process gives back what the parent
    takes while it reads, so the part is not held twice."""
    for start, end in sent_spans(len(values), item_size(values)):
        with memoryview(values) as view:
            out.write(view[start:end].cast("B"))
        del values[start:]


def _receive(head: StoreAnalysis, pipe: int) -> None:
    with os.fdopen(pipe, "rb") as stream:

        def read(count: int) -> bytes:
            data = stream.read(count)
            if len(data) != count:
                raise EOFError("a scanning process ended before sending its part")
            return data

        (length,) = struct.unpack("<Q", read(8))
        lengths, part = pickle.loads(read(length))
        head.adopt(part, lengths, read)


def scan_parallel(path: Path, rules: AnalysisRules, size: int, lean: bool = False) -> StoreAnalysis | None:
    """The whole file scanned by several processes, or None when one process is the better choice (or
    a scanning process failed: the caller then scans the file itself). A lean scan gives a lean analysis."""
    workers = worker_count(size)
    if workers < 2:
        return None
    points = split_points(path, size, workers)
    if len(points) < 2:
        return None
    bounds = list(zip(points[1:], [*points[2:], size], strict=True))
    with _forking:
        children = _fork_parts(path, rules, bounds, lean)
    try:
        head = scan_range(path, rules, 0, points[1], lean)
        trim_heap()  # before the parts arrive, which would otherwise come on top of the scan's leftovers
        for _, pipe in children:
            _receive(head, pipe)
        return head
    except (EOFError, pickle.UnpicklingError, ValueError):
        return None
    finally:
        for pid, _ in children:
            _reap(pid)


def _fork_parts(path: Path, rules: AnalysisRules, bounds: list[tuple[int, int]], lean: bool) -> list[tuple[int, int]]:
    # Frozen, the objects inherited from this process are never visited by a worker's garbage collector,
    # whose visits would write to (and so copy) every page that holds one.
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        return [_fork_part(path, rules, start, end, lean) for start, end in bounds]
    finally:
        if not frozen_before:  # what someone else froze stays frozen
            gc.unfreeze()


def trim_heap() -> None:
    """Give the heap's free pages back to the system (glibc keeps them for reuse; elsewhere, nothing)."""
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    malloc_trim(0)


def _reap(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)  # only a child that failed is still running here
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
