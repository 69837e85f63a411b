"""Scan a big store on every core: the file is cut into chunks at line starts, each process claims the
next chunk until none is left (so a process slowed down by anything else just claims fewer), and the
parts are joined in order. Only worth it for big files.

Two ways to start the workers. A process with a single thread (the command line) forks them where the
system can: they inherit the compiled schema, and each sends its parts back on a pipe, small facts
pickled and per-line arrays raw, read straight into the joined analysis. A process with threads (the
language server) must not fork, so it hands the chunks to a pool of spawned processes (kept for the next
big scan), which works on every system: the rules travel pickled (schemas rebuild from their models or
document) and the parts come back pickled. How a part travels is `core.part_handover`. Id hashes are the
same in every process (`core.facts`). The caller chooses the kind of analysis (`StoreAnalysis`, or the
`LeanAnalysis` of a one-off check); the parts and the joined analysis are of that kind.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import logging
import os
import pickle
import signal
import struct
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, TypeVar

from astra_ls.core.analysis import AnalysisRules, BaseAnalysis
from astra_ls.core.blocks import iter_blocks
from astra_ls.core.part_handover import HandedPart, PartStream, hand_over, send_parts

if TYPE_CHECKING:  # loaded with the first spawned scan: a plain check has no use for them
    from concurrent.futures import Future, ProcessPoolExecutor

MIN_PARALLEL_BYTES = 32 * 1024 * 1024
CHUNKS_PER_PROCESS = 4  # enough for one process to make up for another that is slowed down
MIN_CHUNK_BYTES = 8 * 1024 * 1024
SEARCH_PIECE = 64 * 1024  # read at a time while looking for a line start
MAX_WORKERS = 8
CHUNK_TIMEOUT_S = 300.0  # a spawned worker's chunk is a few seconds of work: this long means it hangs
Start = Literal["auto", "fork", "spawn"]
A = TypeVar("A", bound=BaseAnalysis)
log = logging.getLogger(__name__)


def worker_count(size: int) -> int:
    if size < MIN_PARALLEL_BYTES:
        return 1
    wanted = int(os.environ.get("ASTRA_LS_WORKERS", "0")) or (os.cpu_count() or 1)
    return max(1, min(wanted, size // MIN_PARALLEL_BYTES, MAX_WORKERS))


def may_fork() -> bool:
    """Forking is safe here: the system has it and this process runs no other thread (a forked child of a
    threaded process can inherit a lock some other thread held, and hang on it)."""
    return hasattr(os, "fork") and threading.active_count() == 1


def chunk_count(size: int, workers: int) -> int:
    """How many chunks the processes claim: a few each, none under MIN_CHUNK_BYTES but one per process at
    least, and at most 255 (a chunk number is one byte on the claims pipe)."""
    return max(workers, min(workers * CHUNKS_PER_PROCESS, size // MIN_CHUNK_BYTES, 255))


def split_points(path: Path, size: int, parts: int) -> list[int]:
    """Byte offsets where each part starts: the first line start at or after each equal share (a very long
    line just takes the shares it covers), found without reading that line into memory."""
    points = [0]
    with path.open("rb") as handle:
        for index in range(1, parts):
            share = size * index // parts
            if share < points[-1]:
                continue  # inside the line that starts at the last point: no line starts before it ends
            where = _next_line_start(handle, share)
            if points[-1] < where < size:
                points.append(where)
    return points


def _next_line_start(handle: BinaryIO, offset: int) -> int:
    """The offset just after the first newline at or after `offset - 1`: a line start (or the file's end)."""
    position = max(0, offset - 1)
    handle.seek(position)
    while piece := handle.read(SEARCH_PIECE):
        found = piece.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(piece)
    return position


def scan_range(path: Path, rules: AnalysisRules, start: int, end: int | None, kind: type[A]) -> A:
    """The analysis, of the given kind, of the lines from byte `start` to `end` (the end of the file: None)."""
    analysis = kind(rules)
    with path.open("rb") as handle:
        analysis.feed_scan(iter_blocks(handle, start, rules.line.max_line_bytes, end=end))
    return analysis


_kept_streams: list[object] = []


def _quiet_worker() -> None:
    """Forked from a process that may be mid-write to stdout (the language server's JSON-RPC stream):
    the worker must never flush a copy of that buffer, so its std streams point at /dev/null and the
    inherited ones are kept alive (and unflushed) until the worker's os._exit."""
    _kept_streams.extend((sys.stdout, sys.stderr))
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker


def _fork_part(path: Path, rules: AnalysisRules, bounds: list[tuple[int, int]], chunks: Chunks,
               kind: type[BaseAnalysis]) -> tuple[int, int]:
    """A process scanning the chunks it claims, and the read end of the pipe its parts come on.

    A plain fork that ends in os._exit: no interpreter clean-up in the child, which in a language server
    could block on the stdin its reader thread holds."""
    if sys.platform == "win32":  # never called there (see may_fork); keeps the Windows type check exact
        raise OSError("fork is not available on Windows")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_end)
            _quiet_worker()
            parts = [(index, scan_range(path, rules, *bounds[index], kind)) for index in chunks]
            trim_heap()  # held until the parent has read the parts: only the parts themselves should be
            send_parts(parts, write_end)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end


class Chunks:
    """Chunk numbers on a pipe, written before the fork: each one-byte read takes the next number, so the
    processes sharing the pipe never claim the same chunk, and an empty pipe reads as the end."""

    def __init__(self, numbers: range) -> None:
        self._read, write = os.pipe()
        os.write(write, bytes(numbers))
        os.close(write)

    def __iter__(self) -> Iterator[int]:
        while taken := os.read(self._read, 1):
            yield taken[0]

    def close(self) -> None:
        os.close(self._read)


def _join(head: A, mine: dict[int, A], streams: list[PartStream], count: int) -> None:
    """Chunks 1 to count - 1 adopted in order: this process's own, and the workers' as they come."""
    for index in range(1, count):
        if index in mine:
            _adopt_here(head, hand_over(mine.pop(index)))
            continue
        holder = next((stream for stream in streams if stream.peek() == index), None)
        if holder is None:
            raise EOFError(f"no scanning process sent chunk {index}")
        holder.adopt_next(head)


def _adopt_here(head: BaseAnalysis, part: HandedPart) -> None:
    head.adopt(part.facts, part.reader())


def scan_parallel(path: Path, rules: AnalysisRules, size: int, kind: type[A], start: Start = "auto") -> A | None:
    """The whole file scanned by several processes into one analysis of the given kind, or None when one
    process is the better choice (or a scanning process failed: the caller then scans the file itself).
    `start`: fork or spawn the workers; "auto" forks only where `may_fork`."""
    workers = worker_count(size)
    if workers < 2:
        return None
    points = split_points(path, size, chunk_count(size, workers))
    if len(points) < 2:
        return None
    bounds = list(zip(points, [*points[1:], size], strict=True))
    if hasattr(os, "fork") and (start == "fork" or (start == "auto" and may_fork())):
        return _scan_forked(path, rules, bounds, kind, workers)
    return _scan_spawned(path, rules, bounds, kind, workers)


def _scan_forked(path: Path, rules: AnalysisRules, bounds: list[tuple[int, int]], kind: type[A],
                 workers: int) -> A | None:
    chunks = Chunks(range(1, len(bounds)))  # chunk 0 is this process's: it starts the joined analysis
    children = _fork_parts(path, rules, bounds, chunks, kind, workers - 1)
    streams = [PartStream(pipe) for _, pipe in children]
    try:
        head = scan_range(path, rules, *bounds[0], kind)
        mine = {index: scan_range(path, rules, *bounds[index], kind) for index in chunks}
        trim_heap()  # before the parts arrive, which would otherwise come on top of the scan's leftovers
        _join(head, mine, streams, len(bounds))
        return head
    except (EOFError, pickle.UnpicklingError, ValueError, struct.error) as error:
        log.warning("parallel scan of %s failed (%s): scanning it in one process", path, error)
        return None
    finally:
        chunks.close()
        for stream in streams:
            stream.close()
        for pid, _ in children:
            _reap(pid)


# --- spawned workers: safe in a process with threads, and on every system -----------------------------

_pool: ProcessPoolExecutor | None = None
_pool_guard = threading.Lock()
_worker_rules: dict[bytes, AnalysisRules] = {}  # in a worker: the rules of the scans it served, unpickled once


def _spawn_pool() -> ProcessPoolExecutor:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _pool
    with _pool_guard:
        if _pool is None:
            count = max(1, min((os.cpu_count() or 2) - 1, MAX_WORKERS - 1))
            _pool = ProcessPoolExecutor(count, multiprocessing.get_context("spawn"), initializer=_quiet_spawned)
            atexit.register(shutdown_pool)
        return _pool


def _drop_pool(pool: ProcessPoolExecutor, kill: bool, wait: bool = False) -> None:
    """Stop using a pool that broke or hangs; `kill`: its processes are stuck, end them. The pool is the
    only user of multiprocessing in this process, so its children are the pool's workers."""
    import multiprocessing

    global _pool
    with _pool_guard:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=wait and not kill, cancel_futures=True)
    if kill:
        for child in multiprocessing.active_children():
            child.kill()


def shutdown_pool() -> None:
    """End the spawned workers (the language server is leaving)."""
    with _pool_guard:
        pool = _pool
    if pool is not None:
        _drop_pool(pool, kill=False, wait=True)


def _quiet_spawned() -> None:
    """A spawned worker inherits the language server's stdout, its JSON-RPC stream: nothing may reach it.
    And it leaves with its parent: a server killed mid-scan must not leave a worker blocked on a pipe that
    nobody reads any more."""
    import multiprocessing

    quiet = os.open(os.devnull, os.O_RDWR)
    os.dup2(quiet, 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), name="astra-scan-parent", daemon=True).start()


def _exit_with(parent: Any) -> None:
    parent.join()  # returns once the parent process has ended (its sentinel closes)
    os._exit(0)


def _scan_chunk(path: str, rules: bytes, start: int, end: int, kind: type[BaseAnalysis]) -> HandedPart:
    """In a spawned worker: one chunk's analysis, handed over to be pickled back (the compiled schema
    stays here: the parent has its own)."""
    found = _worker_rules.get(rules)
    if found is None:
        found = _worker_rules[rules] = pickle.loads(rules)
    return hand_over(scan_range(Path(path), found, start, end, kind))


def _scan_spawned(path: Path, rules: AnalysisRules, bounds: list[tuple[int, int]], kind: type[A],
                  workers: int) -> A | None:
    """Chunks 1 on are queued for the pool; this process scans chunk 0, then takes back from the end of the
    queue whatever no worker has begun, and joins the parts in order."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        blob = pickle.dumps(rules, pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as error:  # a user schema that cannot travel
        log.info("rules of %s cannot be sent to a worker (%s): scanning it in one process", path, error)
        return None
    pool = _spawn_pool()
    futures: list[Future[HandedPart]] = []
    try:
        futures = [pool.submit(_scan_chunk, str(path), blob, *bounds[index], kind) for index in range(1, len(bounds))]
        head = scan_range(path, rules, *bounds[0], kind)
        mine: dict[int, A] = {}
        for index in range(len(bounds) - 1, 0, -1):
            if not futures[index - 1].cancel():
                break  # a worker has it, and (first in, first out) every chunk before it
            mine[index] = scan_range(path, rules, *bounds[index], kind)
        for index in range(1, len(bounds)):
            part = hand_over(mine.pop(index)) if index in mine else futures[index - 1].result(timeout=CHUNK_TIMEOUT_S)
            _adopt_here(head, part)
        return head
    except TimeoutError:
        log.warning("a worker scanning %s has not answered for %.0f s: scanning it in one process", path,
                    CHUNK_TIMEOUT_S)
        _drop_pool(pool, kill=True)
        return None
    except (BrokenProcessPool, OSError, EOFError, pickle.UnpicklingError, ValueError) as error:
        log.warning("parallel scan of %s failed (%r): scanning it in one process", path, error)
        _drop_pool(pool, kill=False)
        return None
    finally:
        for future in futures:
            future.cancel()


def _fork_parts(path: Path, rules: AnalysisRules, bounds: list[tuple[int, int]], chunks: Chunks,
                kind: type[BaseAnalysis], count: int) -> list[tuple[int, int]]:
    # Frozen, the objects inherited from this process are never visited by a worker's garbage collector,
    # whose visits would write to (and so copy) every page that holds one.
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        return [_fork_part(path, rules, bounds, chunks, kind) for _ in range(count)]
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
        os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))  # only a child that failed is still running here
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
