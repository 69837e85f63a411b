"""Scan a big store on every core: each process reads its own byte range, the parts are joined in order.

Workers are forked, so they inherit the compiled schema (nothing to pickle on the way in) and the
process's string-hash seed (so id hashes from every part compare equal). Only worth it for big files.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from pathlib import Path

from astra_ls.core.analysis import AnalysisRules, StoreAnalysis
from astra_ls.core.blocks import iter_blocks

MIN_PARALLEL_BYTES = 32 * 1024 * 1024
_job: tuple[Path, AnalysisRules] | None = None  # what forked workers scan (set only while they are forked)
_forking = threading.Lock()  # one pool forked at a time: each inherits its own `_job`


def worker_count(size: int) -> int:
    if size < MIN_PARALLEL_BYTES or "fork" not in multiprocessing.get_all_start_methods():
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


def scan_range(path: Path, rules: AnalysisRules, start: int, end: int | None) -> StoreAnalysis:
    analysis = StoreAnalysis(rules)
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


def _scan_part(bounds: tuple[int, int]) -> StoreAnalysis:
    assert _job is not None
    part = scan_range(_job[0], _job[1], *bounds)
    # compiled schemas and decoders cannot be pickled, and the parent has its own
    part.rules = part._scanner = part.duplicates = part.order = None  # type: ignore[assignment]
    return part


def scan_parallel(path: Path, rules: AnalysisRules, size: int) -> StoreAnalysis | None:
    """The whole file scanned by several processes, or None when one process is the better choice."""
    global _job
    workers = worker_count(size)
    if workers < 2:
        return None
    points = split_points(path, size, workers)
    if len(points) < 2:
        return None
    bounds = [(start, end) for start, end in zip(points[1:], [*points[2:], size], strict=True)]
    with _forking:
        _job = (path, rules)
        stdin = sys.stdin
        # A forked process starts by closing its copy of sys.stdin; if another thread was blocked reading
        # it at the fork (a language server's message reader always is), the copy's lock is held forever
        # and the worker hangs. Workers never read stdin: they are forked without one.
        sys.stdin = None
        try:
            pool = multiprocessing.get_context("fork").Pool(len(bounds), initializer=_quiet_worker)
        finally:
            sys.stdin, _job = stdin, None
    with pool:
        pending = pool.map_async(_scan_part, bounds)
        head = scan_range(path, rules, 0, points[1])
        for part in pending.get():
            head.adopt(part)
    return head
