"""Replace a store so that readers see either the old or the new contents, never a mix, and so that no
line another program appended without our lock is lost.

The writer this product accompanies appends with `appendFileSync(JSON + "\\n")`: O_APPEND, no lock.
A rewrite (quarantine, compaction) therefore keeps the old file open from start to end and:
1. writes the new head to a temp file created exclusively beside the store (random name, O_EXCL, no
   links followed), then copies whatever the old file grew past the analysed bytes, round after round,
   until a round finds nothing new (still growing after CARRY_ROUNDS: refused where step 3 is not
   possible);
2. renames the temp file over the store (the old file's name and identity are checked first: a store
   replaced or truncated by someone else is refused, nothing changed);
3. drains the old file after the rename: a writer that opened the store's name just before the rename
   writes to the old file, so its bytes past what was copied are appended to the new one until the old
   file has stayed quiet for DRAIN_QUIET_S (at most DRAIN_MAX_S).
Windows cannot rename over a file held open (Python opens without FILE_SHARE_DELETE), so there step 2
first moves the old file aside under a hidden name (`.NAME.RANDOM.old`), then gives the temp file the
store's name without replacing anything: a file a writer created under that name in between is moved
aside too. Step 3 then drains every file moved aside, and removes it once the new store is on disk. A
rewrite killed between the two renames leaves the store under its hidden name: the next rewrite puts
it back (`restore_moved_aside`).
Lines carried in step 3 land after lines other writers already appended to the new file: none is lost,
the order between concurrent writers may change. A writer that keeps the store open for longer than
DRAIN_QUIET_S between its own writes is not covered: it writes into the replaced file.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from astra_ls.store.fileio import (
    HOLD_OPEN_ACROSS_RENAME,
    create_exclusive,
    fsync_dir,
    identity,
    open_file,
    pread,
    rename,
    replace,
    set_mode,
    write_all,
)
from astra_ls.store.results import StoreError

CARRY_ROUNDS = 32
DRAIN_QUIET_S = 0.15
DRAIN_MAX_S = 2.0
DRAIN_POLL_S = 0.005
COPY_CHUNK = 1 << 22
TEMP_SUFFIX = ".tmp"
ASIDE_SUFFIX = ".old"


class OpenStore:
    """A store opened for a rewrite: refused unless it is a regular file with one name (a hard link
    would let the rewrite change a file outside the workspace, or leave the other name stale). The
    caller holds the stream lock from before `open` until after `close`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        restore_moved_aside(path)
        self.fd = open_file(path, os.O_RDONLY, follow=False)
        try:
            info = os.fstat(self.fd)
            refuse_hard_links(path, info)
        except BaseException:
            os.close(self.fd)
            raise
        self.identity = identity(info)
        self.mode = stat.S_IMODE(info.st_mode)
        self.closed = False

    def read(self, offset: int, length: int) -> bytes:
        return pread(self.fd, length, offset)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def replaced(self) -> bool:
        """Whether the store's name now names another file (or none)."""
        try:
            return identity(os.stat(self.path, follow_symlinks=False)) != self.identity
        except FileNotFoundError:
            return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.fd)

    def __enter__(self) -> OpenStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def refuse_hard_links(path: Path, info: os.stat_result) -> None:
    if info.st_nlink > 1:
        raise StoreError("HARD_LINKED", f"{path} has {info.st_nlink} names (hard links): astra-ls does not "
                         "write to a store that another path shares; copy it to a file of its own",
                         {"links": info.st_nlink})


def rewrite_keeping_appends(store: OpenStore, head: Iterable[bytes], carry_from: int,
                            refuse_growth: bool = False) -> int:
    """Replace `store` with `head` followed by every byte the store holds past `carry_from` by the time
    the new file has taken its place. Answers how many bytes were carried.

    `refuse_growth`: any growth past `carry_from` means the head is wrong (its last line was still
    being written): refused (STORE_CHANGED), nothing changed.
    """
    remove_stale_temps(store.path)
    fd, temp = create_exclusive(store.path.parent, f".{store.path.name}.", TEMP_SUFFIX)
    asides: list[tuple[Path, int]] = []
    try:
        try:
            for piece in head:
                write_all(fd, piece)
            set_mode(fd, temp, store.mode)
            copied = _carry_durably(store, fd, carry_from, refuse_growth)
            _check_same(store, copied)
            if HOLD_OPEN_ACROSS_RENAME:
                replace(temp, store.path)
            else:
                store.close()
                asides = _install_moving_aside(store.path, temp, copied)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        if HOLD_OPEN_ACROSS_RENAME:
            copied = _drain(store, fd, copied)
        else:
            copied += _drain_asides(asides, fd)
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(store.path.parent)
    for aside, _ in asides:  # drained, and the new store is on disk
        with contextlib.suppress(OSError):  # still held open by a writer: the next rewrite removes it
            os.unlink(aside)
    return copied - carry_from


def _aside_name(path: Path, copied: int = 0) -> Path:
    """A hidden name for a store moved aside, saying how many of its bytes the new store already holds."""
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.{copied}{ASIDE_SUFFIX}")


def _aside_pattern(path: Path) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{16}}\.([0-9]+){re.escape(ASIDE_SUFFIX)}")


def _install_moving_aside(path: Path, temp: Path, copied: int) -> list[tuple[Path, int]]:
    """Where a file held open cannot be renamed over: move the store aside, then give `temp` its name
    without replacing anything. Answers the files moved aside with how much of each was copied."""
    first = _aside_name(path, copied)
    rename(path, first)
    asides = [(first, copied)]
    try:
        for _ in range(CARRY_ROUNDS):
            try:
                rename(temp, path)
                return asides
            except FileExistsError:  # a writer created the store between the renames: drained too
                extra = _aside_name(path)
                rename(path, extra)
                asides.append((extra, 0))
        raise StoreError("STORE_BUSY", f"{path} kept being created again while it was being rewritten: nothing "
                         "changed; try again when it is quieter")
    except BaseException:
        _put_back(path, asides)
        raise


def _put_back(path: Path, asides: list[tuple[Path, int]]) -> None:
    """The rewrite failed between its renames: the old store takes its name back, with what writers added
    meanwhile in files created under that name appended to it."""
    with contextlib.suppress(FileNotFoundError):
        if path.exists():
            asides.append((_aside_name(path), 0))
            rename(path, asides[-1][0])
    first, _ = asides[0]
    rename(first, path)
    for extra, _ in asides[1:]:
        append_durably(path, extra.read_bytes())
        extra.unlink()


def _drain_asides(asides: list[tuple[Path, int]], fd: int) -> int:
    """Carry what writers append to the files moved aside, until each is quiet; answers the bytes added."""
    added = 0
    for aside, copied in asides:
        with OpenStore(aside) as old:
            added += _drain(old, fd, copied) - copied
    return added


def restore_moved_aside(path: Path) -> None:
    """A rewrite killed between its two renames (Windows) left the store only under its hidden name: give
    it its name back. The caller holds the stream lock, so no live rewrite owns such a file."""
    if path.exists():
        return
    pattern = _aside_pattern(path)
    try:
        found = [name for name in os.listdir(path.parent) if pattern.fullmatch(name)]
    except OSError:
        return
    if not found:
        return
    # the store written last (files left by earlier rewrites, drained but still held open then, are older)
    newest = max(found, key=lambda name: os.stat(path.parent / name, follow_symlinks=False).st_mtime)
    with contextlib.suppress(FileExistsError):
        rename(path.parent / newest, path)


def _carry_durably(store: OpenStore, fd: int, start: int, refuse_growth: bool) -> int:
    """Copy the store's growth past `start` and fsync, again while the fsync let more arrive."""
    copied = start
    for _ in range(CARRY_ROUNDS):
        copied = _carry_until_quiet(store, fd, copied, start, refuse_growth)
        os.fsync(fd)
        if store.size() == copied:  # nothing arrived during the fsync
            return copied
    return copied  # the drain after the rename takes the rest


def _carry_until_quiet(store: OpenStore, fd: int, copied: int, start: int, refuse_growth: bool) -> int:
    for _ in range(CARRY_ROUNDS):
        size = _checked_size(store, copied)
        if size == copied:
            break
        if refuse_growth and size > start:
            raise StoreError("STORE_CHANGED", f"{store.path} grew while its last line was being moved (another "
                             "program was still writing it): nothing changed; run the command again")
        copied = _copy(store, fd, copied, size)
    return copied


def _checked_size(store: OpenStore, copied: int) -> int:
    size = store.size()
    if size < copied:
        raise StoreError("STORE_CHANGED", f"{store.path} shrank while it was being rewritten (another program "
                         "truncated it): nothing changed; check the store and run the command again")
    return size


def _check_same(store: OpenStore, copied: int) -> None:
    """The store's name still names the file that was read: another program did not replace it."""
    if store.replaced():
        raise StoreError("STORE_CHANGED", f"{store.path} was replaced or removed by another program while it "
                         "was being rewritten: nothing changed; run the command again")
    _checked_size(store, copied)


def _copy(store: OpenStore, fd: int, start: int, end: int, whole_lines: bool = False) -> int:
    """Append the store's bytes [start, end) to `fd`; with `whole_lines`, stop after the last newline
    (a write still arriving in pieces is taken whole later). Answers where copying stopped."""
    at = start
    while at < end:
        chunk = store.read(at, min(COPY_CHUNK, end - at))
        if not chunk:
            break
        if whole_lines:
            cut = chunk.rfind(b"\n") + 1
            if cut == 0:
                break
            chunk = chunk[:cut]
        write_all(fd, chunk)
        at += len(chunk)
    return at


def _drain(store: OpenStore, fd: int, copied: int) -> int:
    """After the rename: carry what writers that had opened the old file write into it, until quiet."""
    started = quiet_since = time.monotonic()
    while True:
        size = store.size()
        if size > copied:
            moved = _copy(store, fd, copied, size, whole_lines=True)
            if moved != copied:
                copied = moved
                quiet_since = time.monotonic()
        now = time.monotonic()
        if now - quiet_since >= DRAIN_QUIET_S or now - started >= DRAIN_MAX_S:
            break
        time.sleep(DRAIN_POLL_S)
    return _copy(store, fd, copied, store.size())  # an unfinished last line too: it stays as it was


def wait_for_whole_lines(path: Path, settle_s: float = 0.05) -> None:
    """Before a store is analysed for a rewrite: when it ends inside a line, give a writer that is still
    writing that line a moment to finish (a line torn by a crash stays as it is)."""
    deadline = time.monotonic() + settle_s
    last = -1
    while time.monotonic() < deadline:
        try:
            fd = open_file(path, os.O_RDONLY, follow=False)
        except (OSError, StoreError):
            return
        try:
            size = os.fstat(fd).st_size
            if size == 0 or pread(fd, 1, size - 1) == b"\n" or size == last:
                return
        finally:
            os.close(fd)
        last = size
        time.sleep(0.01)


def remove_stale_temps(store: Path) -> None:
    """Temp files of rewrites that were killed: the caller holds the stream lock, so no live rewrite of
    this store owns one."""
    pattern = re.compile(rf"\.{re.escape(store.name)}\.(?:[0-9]+|[0-9a-f]{{16}}){re.escape(TEMP_SUFFIX)}")
    try:
        names = os.listdir(store.parent)
    except OSError:
        return
    aside = _aside_pattern(store)
    for name in names:
        if pattern.fullmatch(name):
            with contextlib.suppress(OSError):
                os.unlink(store.parent / name)
        elif (moved := aside.fullmatch(name)) is not None:
            # A store moved aside by a rewrite killed while it drained (Windows): removed when nothing was
            # written to it after the new store took its bytes; otherwise kept, for no line to be lost.
            with contextlib.suppress(OSError):
                if os.stat(store.parent / name, follow_symlinks=False).st_size <= int(moved.group(1)):
                    os.unlink(store.parent / name)


def write_new_file(target: Path, temp_leaf: str, fill: Callable[[BinaryIO], None]) -> None:
    """Create `target` (an archive) with what `fill` writes, all or nothing: an exclusive temp file named
    after `temp_leaf` beside it, fsynced, renamed over, the folder fsynced."""
    fd, temp = create_exclusive(target.parent, f".{temp_leaf}.", TEMP_SUFFIX, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def append_durably(path: Path, data: bytes) -> int:
    """Append and fsync (for the quarantine and archives, which only grow); all of `data` or nothing.
    Never through a link, never to a file with other names. Answers the file's size before."""
    fd = open_file(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644, follow=False)
    try:
        info = os.fstat(fd)
        refuse_hard_links(path, info)
        size = info.st_size
        try:
            write_all(fd, data)
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)
    return size


def truncate_to(path: Path, size: int) -> None:
    fd = open_file(path, os.O_WRONLY, follow=False)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)
