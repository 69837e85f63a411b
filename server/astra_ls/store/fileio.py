"""File operations that behave the same on Linux, macOS and Windows.

Each POSIX-only call has a portable path beside it, chosen by what the `os` module offers (not by the
platform's name), so a test run with those calls removed executes the Windows paths:
- opening without following links: O_NOFOLLOW, else an lstat before and an fstat after that must
  name the same file;
- opening only regular files, never blocking on a FIFO: O_NONBLOCK, else a stat before the open;
- positioned reads: os.pread, else seek and read under a lock;
- atomic replace: os.replace, retried for a while when Windows refuses because the target is open;
- directory fsync: skipped where directories cannot be opened (Windows).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from astra_ls.store.paths import PathRefused
from astra_ls.store.results import StoreError

NO_FOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
NON_BLOCK: int = getattr(os, "O_NONBLOCK", 0)
BINARY: int = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_PREAD = getattr(os, "pread", None)
_SEEK_LOCK = threading.Lock()  # seek+read pairs of threads sharing an fd must not interleave

# Windows refuses to replace a file another process holds open (antivirus, indexers, editors): retry
# this long before giving up with a clear error.
REPLACE_RETRY_S = 2.0
# POSIX keeps an open file readable after another is renamed over its name; Windows refuses that rename
# while the file is open (a handle opened without FILE_SHARE_DELETE, as Python's are).
HOLD_OPEN_ACROSS_RENAME = sys.platform != "win32"


def open_file(path: Path | str, flags: int, mode: int = 0o644, follow: bool = True) -> int:
    """os.open, only ever onto a regular file, in binary mode, never blocking on a FIFO or device.

    With `follow=False` a symbolic link at `path` is refused (PathRefused), not opened through.
    Raises StoreError NOT_A_FILE for anything that is not a regular file, OSError as os.open does.
    """
    before = _stat_before(path, follow) if not (NON_BLOCK and (follow or NO_FOLLOW)) else None
    extra = BINARY | NON_BLOCK | (0 if follow else NO_FOLLOW)
    try:
        fd = os.open(path, flags | extra, mode)
    except OSError as error:
        if not follow and error.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path):
            raise PathRefused(f"{path} is a symbolic link: astra-ls never writes through one") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise not_a_file(path, info.st_mode)
        if before is not None and (before.st_dev, before.st_ino) != (info.st_dev, info.st_ino):
            raise PathRefused(f"{path} was replaced while it was being opened: try again")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _stat_before(path: Path | str, follow: bool) -> os.stat_result | None:
    """The file `path` names before it is opened (None when it does not exist yet): a link is refused
    when not following, and anything but a regular file is refused before an open could block on it."""
    try:
        info = os.stat(path, follow_symlinks=follow)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        raise PathRefused(f"{path} is a symbolic link: astra-ls never writes through one")
    if not stat.S_ISREG(info.st_mode):
        raise not_a_file(path, info.st_mode)
    return info


def not_a_file(path: Path | str, mode: int) -> StoreError:
    kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file")
    return StoreError("NOT_A_FILE", f"{path} is {kind}: only regular files are stores; remove or rename it",
                      {"path": str(path)})


def pread(fd: int, length: int, offset: int) -> bytes:
    """Up to `length` bytes at `offset` (fewer only at the end of the file)."""
    if _PREAD is not None:
        data: bytes = _PREAD(fd, length, offset)
        if len(data) == length or not data:
            return data
        parts = [data]  # a short read before the end: keep reading
        got = len(data)
    else:
        parts, got = [], 0
    with _SEEK_LOCK:
        while got < length:
            if _PREAD is not None:
                piece: bytes = _PREAD(fd, length - got, offset + got)
            else:
                os.lseek(fd, offset + got, os.SEEK_SET)
                piece = os.read(fd, length - got)
            if not piece:
                break
            parts.append(piece)
            got += len(piece)
    return b"".join(parts)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte; a write that makes no progress is a full disk."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, "short write (disk full?)")
        view = view[written:]


def create_exclusive(folder: Path, prefix: str, suffix: str, mode: int = 0o600) -> tuple[int, Path]:
    """A new file with a random name in `folder`, created by this call (O_EXCL: never a file or link
    someone planted there); opened for appending."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
    for _ in range(16):
        path = folder / f"{prefix}{secrets.token_hex(8)}{suffix}"
        try:
            return open_file(path, flags, mode, follow=False), path
        except (FileExistsError, PathRefused):  # O_EXCL never opens what is there, a link included
            continue
    raise OSError(errno.EEXIST, f"cannot create a temporary file in {folder}")


def set_mode(fd: int, path: Path, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:
        os.chmod(path, mode)  # Windows: only the read-only bit means anything


def replace(source: Path, target: Path, retry_s: float = REPLACE_RETRY_S) -> None:
    """os.replace; when the target is held open elsewhere (Windows answers PermissionError), retry
    with a growing pause for up to `retry_s`, then raise an OSError that says what to do."""
    _retrying(os.replace, source, target, retry_s)


def rename(source: Path, target: Path, retry_s: float = REPLACE_RETRY_S) -> None:
    """Rename `source` to `target`, which must not exist (FileExistsError, nothing changed, if it does),
    retrying like `replace` while a file involved is held open (Windows)."""
    _retrying(_rename_no_clobber, source, target, retry_s)


def _rename_no_clobber(source: Path, target: Path) -> None:
    if sys.platform == "win32":
        os.rename(source, target)  # Windows' rename never replaces an existing file
    else:  # POSIX rename replaces silently: a second name then dropping the first fails instead
        os.link(source, target, follow_symlinks=False)
        os.unlink(source)


def _retrying(move: Callable[[Path, Path], None], source: Path, target: Path, retry_s: float) -> None:
    deadline = time.monotonic() + retry_s
    pause = 0.005
    while True:
        try:
            move(source, target)
            return
        except PermissionError as error:
            if time.monotonic() >= deadline:
                held = target if target.exists() else source
                raise PermissionError(error.errno, f"cannot rename {held}: another program keeps it open "
                                      "(an editor, a virus scanner?); close it and try again") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.2)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable; a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename itself has happened
    finally:
        os.close(fd)


def identity(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino
