"""A one-off check of a store file: read once into a `LeanAnalysis`, nothing kept for later (no index cache,
no following). What the server keeps current is a `FollowedFile`'s `StoreAnalysis`."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from functools import partial
from pathlib import Path

from astra_ls.core.analysis import AnalysisRules, ReadRange
from astra_ls.core.blocks import iter_blocks
from astra_ls.core.lean_analysis import LeanAnalysis
from astra_ls.core.parallel import scan_parallel
from astra_ls.store.fileio import not_a_file
from astra_ls.store.follow import read_range, reporting


def file_reader(path: Path) -> ReadRange:
    """`read(offset, length)` of the file at `path`, opened for each read (a regular file only)."""
    return partial(read_range, path)


def check_scan(path: Path, rules: AnalysisRules,
               on_progress: Callable[[int, int], None] | None = None) -> LeanAnalysis | None:
    """The lean analysis of the whole file (None: there is no file); `on_progress(bytes read, total)`
    when it is read in this process."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        raise not_a_file(path, info.st_mode)  # a FIFO would block the scan forever
    analysis = scan_parallel(path, rules, info.st_size, LeanAnalysis)
    if analysis is None:
        analysis = LeanAnalysis(rules)
        with path.open("rb") as handle:
            total = os.fstat(handle.fileno()).st_size
            blocks = iter_blocks(handle, 0, rules.line.max_line_bytes)
            analysis.feed_scan(reporting(blocks, total, on_progress))
    analysis.finish_full_scan(file_reader(path))
    return analysis
