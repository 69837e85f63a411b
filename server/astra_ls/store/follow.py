"""Keep one store file's analysis current: read only an appended tail, rescan a replaced file.

A file whose stamp (inode, size, mtime, ctime) moved is only resumed after the bytes already analysed
are proven unchanged by their complete hash (`PrefixHash`): an editor saving in place keeps the inode
and may grow the file, and an analysis must never outlive a change to bytes it read.
"""

from __future__ import annotations

import math
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from io import FileIO
from pathlib import Path

from astra_ls.core.analysis import AnalysisRules, StoreAnalysis
from astra_ls.core.blocks import Block, LongLine, iter_blocks
from astra_ls.core.facts import NO_ID
from astra_ls.core.parallel import scan_parallel
from astra_ls.store.fileio import not_a_file, open_file, pread
from astra_ls.store.index_cache import IndexCache
from astra_ls.store.prefix_hash import PrefixHash, hash_file

SAVE_INTERVAL_S = 30.0  # appended tails are saved to the index cache at most this often (and at flush)
PENDING_MAX_BYTES = 64 * 1024  # own appends not yet analysed: past this, they are analysed in one batch
# A file modified this close before it was stat'ed may change again within the same mtime tick, unseen
# by the stamp: its stamp is not trusted, so the next refresh checks the bytes (by hash) once more.
RACY_NS = 50_000_000  # above the 4 ms of ext4 and the 15.6 ms Windows clock tick; FAT's 2 s is not covered


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
    mtime_ns: int  # -1: not trusted, the next refresh checks the bytes
    ctime_ns: int = -1

    @staticmethod
    def of(info: os.stat_result) -> FileStamp:
        return FileStamp(info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def read_range(path: Path, offset: int, length: int) -> bytes:
    fd = open_file(path, os.O_RDONLY)  # a regular file only: never blocks on a FIFO
    try:
        return pread(fd, length, offset)
    finally:
        os.close(fd)


def reporting(blocks: Iterator[Block | LongLine], total: int,
              on_progress: Callable[[int, int], None] | None) -> Iterator[Block | LongLine]:
    """The blocks, each followed by a call to `on_progress(bytes read, total)` (when given)."""
    if on_progress is None:
        return blocks
    return _reported(blocks, total, on_progress)


def _reported(blocks: Iterator[Block | LongLine], total: int,
              on_progress: Callable[[int, int], None]) -> Iterator[Block | LongLine]:
    for piece in blocks:
        yield piece
        on_progress(piece.offset + (len(piece.data) if isinstance(piece, Block) else piece.length), total)


class FollowedFile:
    """An analysis of `path` that `refresh` brings up to date with what is on disk (a one-off check reads
    a file once instead: `store.check_scan`)."""

    def __init__(self, path: Path, rules: AnalysisRules, cache: IndexCache | None = None) -> None:
        self.path = path
        self._fspath = os.fspath(path)  # stat on every refresh: no Path-to-string conversion each time
        self.rules = rules
        self._analysis: StoreAnalysis | None = None
        self.stamp: FileStamp | None = None
        # The complete hash of the bytes analysed (own appends waiting included); None when unknown
        # (a file that moved during a parallel scan): then a moved stamp means a rescan.
        self._prefix: PrefixHash | None = None
        self._stat_at = 0  # time.time_ns() just before the last stat that refresh made
        self._hash_lost = False  # the last read could not be hashed (see `_hashing`)
        # Lines this process appended and has not analysed yet, all whole, valid events (see
        # `note_own_append`): a writer appending in a loop analyses them in batches, not one by one.
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._pending_ids: dict[int, int] = {}  # id hash -> index in `_pending` of the first with it
        self._pending_lock = threading.Lock()
        self.on_progress: Callable[[int, int], None] | None = None  # (bytes read, total) during rescans
        self.cache = cache
        self._cache_tried = False
        self._saved_at = -math.inf  # time.monotonic() of the last save to the cache
        self._unsaved = False

    def read(self, offset: int, length: int) -> bytes:
        return read_range(self.path, offset, length)

    def refresh(self) -> Change:
        self._stat_at = time.time_ns()
        try:
            info = os.stat(self._fspath)
        except FileNotFoundError:
            existed = self._analysis is not None
            self.analysis, self.stamp, self._prefix = None, None, None
            return Change.DELETED if existed else Change.MISSING
        if not stat.S_ISREG(info.st_mode):
            raise not_a_file(self.path, info.st_mode)  # a FIFO would block the scan forever
        stamp = FileStamp.of(info)
        if stamp == self.stamp and self._analysis is not None:  # own appends may wait: not read here
            return Change.UNCHANGED
        if self._analysis is None and self._load_cached(stamp):
            return Change.RESCANNED
        if self._kept_analysed_bytes(stamp):
            if stamp.size == self.analysis_size:
                self._settle(stamp)  # touched, or rewritten with the same bytes
                return Change.UNCHANGED
            self._resume(stamp)
            return Change.APPENDED
        self.rescan(stamp)
        return Change.RESCANNED

    def doubt(self) -> None:
        """The analysis turned out not to match the file (a line read back is not what the scan saw
        there): the next refresh checks every analysed byte, whatever the stamp says."""
        if self.stamp is not None:
            self.stamp = replace(self.stamp, mtime_ns=-1)

    @property
    def analysis(self) -> StoreAnalysis | None:
        """The analysis of the file as of the last refresh, own appends included."""
        if self._pending:
            self._take_pending()
        return self._analysis

    @analysis.setter
    def analysis(self, analysis: StoreAnalysis | None) -> None:
        with self._pending_lock:
            self._pending, self._pending_bytes, self._pending_ids = [], 0, {}
        self._analysis = analysis

    @property
    def has_analysis(self) -> bool:
        return self._analysis is not None

    @property
    def analysis_size(self) -> int:
        """The bytes the analysis covers, own appends waiting included."""
        return 0 if self._analysis is None else self._analysis.size + self._pending_bytes

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

    @property
    def analysed(self) -> StoreAnalysis | None:
        """The analysis as of the last refresh, without the own appends still waiting (see `pending_with_id`)."""
        return self._analysis

    def pending_with_id(self, key: int) -> tuple[int, bytes] | None:
        """The 0-based line and the bytes (without the line break) of the first own append still waiting to
        be analysed whose id hashes to `key`, if any."""
        with self._pending_lock:
            index = self._pending_ids.get(key)
            if index is None or self._analysis is None:
                return None
            return self._analysis.line_count + index, self._pending[index][:-1]

    def note_own_append(self, offset: int, data: bytes, after: os.stat_result, one_event: bool = False,
                        id_hash: int = NO_ID) -> None:
        """Take in bytes this process just appended (under the stream lock) without reading them back.

        `one_event`: `data` is one whole line holding one valid event (the caller validated it), so it
        can wait to be analysed with the next ones, `id_hash` its id's; anything else is analysed at once."""
        analysis = self._analysis
        known = self.stamp is not None and self.stamp.inode == after.st_ino and self._prefix is not None
        # another writer's bytes before or after these: the next refresh reads what is on the disk
        alone = after.st_size == offset + len(data) == self.analysis_size + len(data)
        if analysis is None or not known or not alone or not analysis.terminated:
            self._take_pending()
            if self.stamp is not None:
                self.doubt()
            return
        with self._pending_lock:
            if id_hash != NO_ID:
                self._pending_ids.setdefault(id_hash, len(self._pending))
            self._pending.append(data)
            self._pending_bytes += len(data)
        if not one_event or self._pending_bytes >= PENDING_MAX_BYTES:
            self._take_pending()
        assert self._prefix is not None
        self._prefix.update(data)
        self.stamp = FileStamp.of(after)
        self._unsaved = True

    def _take_pending(self) -> None:
        with self._pending_lock:
            pending, self._pending, self._pending_bytes, self._pending_ids = self._pending, [], 0, {}
            if pending and self._analysis is not None:
                start = self._analysis.size
                self._analysis.feed([Block(start, b"".join(pending))])

    def _kept_analysed_bytes(self, stamp: FileStamp) -> bool:
        """Whether the file (the same one, not shorter) still begins with every byte analysed."""
        if self._analysis is None or self.stamp is None or self._prefix is None or stamp.inode != self.stamp.inode:
            return False
        if stamp.size < self.analysis_size:
            return False
        with self._open_unbuffered() as handle:
            return self._prefix.matches(handle)

    def rescan(self, stamp: FileStamp | None = None) -> None:
        if stamp is None:
            self._stat_at = time.time_ns()
            info = os.stat(self._fspath)
            if not stat.S_ISREG(info.st_mode):
                raise not_a_file(self.path, info.st_mode)
            stamp = FileStamp.of(info)
        analysis = scan_parallel(self.path, self.rules, stamp.size, StoreAnalysis)
        prefix: PrefixHash | None
        if analysis is None:
            analysis = StoreAnalysis(self.rules)
            prefix = PrefixHash()
            with self.path.open("rb") as handle:
                total = os.fstat(handle.fileno()).st_size
                blocks = self._hashing(iter_blocks(handle, 0, self.rules.line.max_line_bytes), prefix)
                analysis.feed(reporting(blocks, total, self.on_progress), incremental=False)
        else:
            prefix = self._hash_scanned(stamp, analysis.size)
        analysis.finish_full_scan()
        self.analysis = analysis
        self._prefix = None if self._hash_lost else prefix
        self._settle(stamp)
        self._save()

    def _hash_scanned(self, stamp: FileStamp, size: int) -> PrefixHash | None:
        """The hash of what other processes scanned, read once more here: only trusted when the file's
        stamp did not move from before the scan to after the hash."""
        with self._open_unbuffered() as handle:
            hashed = hash_file(handle, size)
            after = FileStamp.of(os.fstat(handle.fileno()))
        return hashed if after == stamp and stamp.size == size else None

    def _open_unbuffered(self) -> FileIO:
        return FileIO(open_file(self._fspath, os.O_RDONLY), "rb")  # a regular file only: never a FIFO

    def _hashing(self, pieces: Iterator[Block | LongLine], prefix: PrefixHash) -> Iterator[Block | LongLine]:
        """The pieces read, their bytes past those `prefix` holds taken into it on the way. A line too long
        to be read into memory is hashed from the file: when it is no longer the line the analysis saw,
        the hash stops (`_hash_lost`) and is not used."""
        self._hash_lost = False
        for piece in pieces:
            if self._hash_lost:
                pass
            elif isinstance(piece, Block):
                skip = prefix.length - piece.offset
                if skip < len(piece.data):
                    prefix.update(memoryview(piece.data)[max(0, skip):])
            else:
                self._hash_lost = not self._hash_long_line(piece, prefix)
            yield piece

    def _hash_long_line(self, piece: LongLine, prefix: PrefixHash) -> bool:
        # the analysis of a long line is its length alone: the same newlines mean the same analysis
        end = piece.offset + piece.length
        with self._open_unbuffered() as handle:
            handle.seek(prefix.length)
            while prefix.length < end:
                data = handle.read(min(1 << 20, end - prefix.length))
                if not data or b"\n" in data:
                    return False
                prefix.update(data)
            if piece.terminated:
                if handle.read(1) != b"\n":
                    return False
                prefix.update(b"\n")
        return True

    def _resume(self, stamp: FileStamp) -> None:
        analysis, prefix = self.analysis, self._prefix
        assert analysis is not None and prefix is not None
        start = analysis.resume_offset()
        with self.path.open("rb") as handle:
            analysis.resume(self._hashing(iter_blocks(handle, start, self.rules.line.max_line_bytes), prefix), start)
        if self._hash_lost:
            self._prefix = None
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
        self._prefix = loaded.prefix
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
        analysis, stamp, prefix = self.analysis, self.stamp, self._prefix
        if self.cache is None or analysis is None or stamp is None or prefix is None:
            return
        if stamp.size != analysis.size:
            stamp = replace(stamp, size=analysis.size, mtime_ns=-1)
        self.cache.save(self.path, analysis, stamp.inode, stamp.mtime_ns, stamp.ctime_ns, prefix)
        self._saved_at, self._unsaved = time.monotonic(), False

    def _settle(self, stamp: FileStamp) -> None:
        """Remember what was read; a file that moved on meanwhile is caught by the next refresh, and so is
        one modified so shortly before its stat that it may have changed again within the same mtime."""
        size = self.analysis_size
        if stamp.size != size:
            info = os.stat(self.path)
            stamp = FileStamp(info.st_ino, size, info.st_mtime_ns if info.st_size == size else -1, info.st_ctime_ns)
        if stamp.mtime_ns >= self._stat_at - RACY_NS:
            stamp = replace(stamp, mtime_ns=-1)
        self.stamp = stamp
