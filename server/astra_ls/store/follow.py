"""Keep one store file's analysis current: read only an appended tail, rescan a replaced file."""

from __future__ import annotations

import math
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from astra_ls.core.analysis import AnalysisRules, StoreAnalysis
from astra_ls.core.blocks import Block, LongLine, iter_blocks
from astra_ls.core.parallel import scan_parallel
from astra_ls.store.fileio import not_a_file, open_file, pread
from astra_ls.store.index_cache import IndexCache

SIGNATURE_BYTES = 64
SAVE_INTERVAL_S = 30.0  # appended tails are saved to the index cache at most this often (and at flush)
PENDING_MAX_BYTES = 64 * 1024  # own appends not yet analysed: past this, they are analysed in one batch


class Change(StrEnum):
    UNCHANGED = "unchanged"
    APPENDED = "appended"
    RESCANNED = "rescanned"
    DELETED = "deleted"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class FileStamp:
    inode: int
    size: int
    mtime_ns: int


def read_range(path: Path, offset: int, length: int) -> bytes:
    fd = open_file(path, os.O_RDONLY)  # a regular file only: never blocks on a FIFO
    try:
        return pread(fd, length, offset)
    finally:
        os.close(fd)


class FollowedFile:
    """An analysis of `path` that `refresh` brings up to date with what is on disk (a lean one, which
    keeps only what its problems need, for a one-off check: never cached, rescanned whenever it changed)."""

    def __init__(self, path: Path, rules: AnalysisRules, cache: IndexCache | None = None, lean: bool = False) -> None:
        self.path = path
        self._fspath = os.fspath(path)  # stat on every refresh: no Path-to-string conversion each time
        self.rules = rules
        self.lean = lean
        self._analysis: StoreAnalysis | None = None
        self.stamp: FileStamp | None = None
        self._signature = b""
        # Lines this process appended and has not analysed yet, all whole, valid events (see
        # `note_own_append`): a writer appending in a loop analyses them in batches, not one by one.
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._pending_lock = threading.Lock()
        self.on_progress: Callable[[int, int], None] | None = None  # (bytes read, total) during rescans
        if lean and cache is not None:
            raise ValueError("a lean analysis cannot be saved to the index cache")
        self.cache = cache
        self._cache_tried = False
        self._saved_at = -math.inf  # time.monotonic() of the last save to the cache
        self._unsaved = False

    def read(self, offset: int, length: int) -> bytes:
        return read_range(self.path, offset, length)

    def refresh(self) -> Change:
        try:
            info = os.stat(self._fspath)
        except FileNotFoundError:
            existed = self._analysis is not None
            self.analysis, self.stamp = None, None
            return Change.DELETED if existed else Change.MISSING
        if not stat.S_ISREG(info.st_mode):
            raise not_a_file(self.path, info.st_mode)  # a FIFO would block the scan forever
        stamp = FileStamp(info.st_ino, info.st_size, info.st_mtime_ns)
        if stamp == self.stamp and self._analysis is not None:  # own appends may wait: not read here
            return Change.UNCHANGED
        if self._analysis is None and self._load_cached(stamp):
            return Change.RESCANNED
        if not self.lean and self._grew_in_place(stamp):
            self._resume(stamp)
            return Change.APPENDED
        self.rescan(stamp)
        return Change.RESCANNED

    @property
    def analysis(self) -> StoreAnalysis | None:
        """The analysis of the file as of the last refresh, own appends included."""
        if self._pending:
            self._take_pending()
        return self._analysis

    @analysis.setter
    def analysis(self, analysis: StoreAnalysis | None) -> None:
        with self._pending_lock:
            self._pending, self._pending_bytes = [], 0
        self._analysis = analysis

    @property
    def has_analysis(self) -> bool:
        return self._analysis is not None

    @property
    def unanalysed_bytes(self) -> int:
        """Bytes of own appends waiting to be analysed."""
        return self._pending_bytes

    def counts(self) -> tuple[int, int] | None:
        """(lines, events) as of the last refresh, own appends included, without analysing those yet;
        None when there is no analysis (no file)."""
        analysis = self._analysis
        if analysis is None:
            return None
        with self._pending_lock:
            pending = len(self._pending)
        return analysis.line_count + pending, analysis.event_count() + pending

    def note_own_append(self, offset: int, data: bytes, after: os.stat_result, one_event: bool = False) -> None:
        """Take in bytes this process just appended (under the stream lock) without reading them back.

        `one_event`: `data` is one whole line holding one valid event (the caller validated it), so it
        can wait to be analysed with the next ones; anything else is analysed at once."""
        analysis = self._analysis
        known = self.stamp is not None and self.stamp.inode == after.st_ino
        if analysis is None or not known or analysis.size + self._pending_bytes != offset or not analysis.terminated:
            self._take_pending()  # the next refresh reads the new tail from the disk
            return
        with self._pending_lock:
            self._pending.append(data)
            self._pending_bytes += len(data)
        if not one_event or self._pending_bytes >= PENDING_MAX_BYTES:
            self._take_pending()
        self._signature = (self._signature + data)[-SIGNATURE_BYTES:]
        self.stamp = FileStamp(after.st_ino, after.st_size, after.st_mtime_ns)
        self._unsaved = True

    def _take_pending(self) -> None:
        with self._pending_lock:
            pending, self._pending, self._pending_bytes = self._pending, [], 0
            if pending and self._analysis is not None:
                start = self._analysis.size
                self._analysis.feed([Block(start, b"".join(pending))])

    def _grew_in_place(self, stamp: FileStamp) -> bool:
        if self.analysis is None or self.stamp is None or stamp.inode != self.stamp.inode:
            return False
        if stamp.size <= self.analysis.size:
            return False
        start = max(0, self.analysis.size - SIGNATURE_BYTES)
        return self.read(start, self.analysis.size - start) == self._signature

    def rescan(self, stamp: FileStamp | None = None) -> None:
        if stamp is None:
            info = os.stat(self._fspath)
            if not stat.S_ISREG(info.st_mode):
                raise not_a_file(self.path, info.st_mode)
        size = stamp.size if stamp else info.st_size
        analysis = scan_parallel(self.path, self.rules, size, self.lean)
        if analysis is None:
            analysis = StoreAnalysis(self.rules, self.lean)
            with self.path.open("rb") as handle:
                total = os.fstat(handle.fileno()).st_size
                blocks = iter_blocks(handle, 0, self.rules.line.max_line_bytes)
                analysis.feed(self._reporting(blocks, total) if self.on_progress else blocks, incremental=False)
        analysis.finish_full_scan(self.read)
        self.analysis = analysis
        self._settle(stamp)
        self._save()

    def _reporting(self, blocks: Iterator[Block | LongLine], total: int) -> Iterator[Block | LongLine]:
        for piece in blocks:
            yield piece
            if self.on_progress is not None:
                end = piece.offset + (len(piece.data) if isinstance(piece, Block) else piece.length)
                self.on_progress(end, total)

    def _resume(self, stamp: FileStamp) -> None:
        assert self.analysis is not None
        start = self.analysis.resume_offset()
        with self.path.open("rb") as handle:
            self.analysis.resume(iter_blocks(handle, start, self.rules.line.max_line_bytes), start)
        self._settle(stamp)
        self._unsaved = True
        if time.monotonic() - self._saved_at >= SAVE_INTERVAL_S:
            self._save()

    # --- the index cache ----------------------------------------------------------------------------

    def _load_cached(self, stamp: FileStamp) -> bool:
        """The first scan starts from the cache when it holds this file's first bytes: an unchanged
        file costs no read at all, a grown one only its new tail."""
        if self.cache is None or self._cache_tried:
            return False
        self._cache_tried = True
        loaded = self.cache.load(self.path, self.rules)
        if loaded is None:
            return False
        self.analysis = loaded.analysis
        if stamp.size > loaded.size:
            self._resume(stamp)  # saved at once: the next start need not read this tail again
        else:
            self._settle(stamp)
            self._saved_at = time.monotonic()
        return True

    def flush(self) -> None:
        """Save what the cache does not have yet (appends since the last save)."""
        if self._unsaved:
            self._save()

    def _save(self) -> None:
        analysis, stamp = self.analysis, self.stamp
        if self.cache is None or analysis is None or stamp is None:
            return
        self.cache.save(self.path, analysis, stamp.inode, stamp.mtime_ns if stamp.size == analysis.size else -1)
        self._saved_at, self._unsaved = time.monotonic(), False

    def _settle(self, stamp: FileStamp | None) -> None:
        """Remember what was read; a file that moved on meanwhile is caught by the next refresh."""
        assert self.analysis is not None
        size = self.analysis.size
        start = max(0, size - SIGNATURE_BYTES)
        self._signature = self.read(start, size - start)
        if stamp is None or stamp.size != size:
            info = os.stat(self.path)
            stamp = FileStamp(info.st_ino, size, info.st_mtime_ns if info.st_size == size else -1)
        self.stamp = stamp
