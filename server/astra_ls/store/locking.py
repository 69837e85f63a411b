"""An exclusive, cross-process lock per stream, kept beside the stores in `.astra/.locks/`.

The lock is a separate file because quarantine and compaction replace the store by rename: a lock on
the store's own inode would not exclude a writer that opened the new file.

Two small branches instead of a locking library: `flock` where `fcntl` exists, `msvcrt.locking` on
Windows. Both lock a file descriptor this module opened itself, without following links (filelock and
portalocker open or lock the path their own way), both are released by the system when the process
dies, and the Windows branch runs on any machine whose `fcntl` is taken away (the portable test mode).
"""

from __future__ import annotations

import importlib
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from astra_ls.store.fileio import open_file
from astra_ls.store.paths import PathRefused


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


_FCNTL = _module("fcntl")
_MSVCRT = None if _FCNTL is not None else _module("msvcrt")


@contextmanager
def stream_lock(store: Path) -> Iterator[None]:
    folder, lock = _lock_paths(store)
    _check_folder(folder)
    try:
        fd = open_file(lock, os.O_RDWR | os.O_CREAT, 0o644, follow=False)
    except FileNotFoundError:
        try:
            os.mkdir(folder)
        except FileExistsError:
            _check_folder(folder)
        fd = open_file(lock, os.O_RDWR | os.O_CREAT, 0o644, follow=False)
    try:
        _acquire(fd)
        try:
            yield
        finally:
            _release(fd)
    finally:
        os.close(fd)


def _check_folder(folder: str) -> None:
    """`.locks` must be a real folder: a link there would put lock files outside the workspace."""
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a folder"
        raise PathRefused(f"{folder} is {what}: astra-ls keeps its lock files there; remove it")


def _acquire(fd: int) -> None:
    if _FCNTL is not None:
        _FCNTL.flock(fd, _FCNTL.LOCK_EX)
        return
    if _MSVCRT is None:
        raise OSError("this system offers no file locking (neither fcntl nor msvcrt)")
    pause = 0.001
    while True:  # msvcrt's blocking mode gives up after 10 s: poll without its 1 s steps instead
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            _MSVCRT.locking(fd, _MSVCRT.LK_NBLCK, 1)
            return
        except OSError:
            time.sleep(pause)
            pause = min(pause * 2, 0.05)


def _release(fd: int) -> None:
    if _FCNTL is not None:
        _FCNTL.flock(fd, _FCNTL.LOCK_UN)
    elif _MSVCRT is not None:
        os.lseek(fd, 0, os.SEEK_SET)
        _MSVCRT.locking(fd, _MSVCRT.LK_UNLCK, 1)


@lru_cache(maxsize=256)
def _lock_paths(store: Path) -> tuple[str, str]:
    """(locks folder, lock file) of a store, as strings: a writer appending in a loop builds them once."""
    locks = store.parent / ".locks"
    return os.fspath(locks), os.fspath(locks / f"{store.name}.lock")
