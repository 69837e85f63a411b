"""An exclusive, cross-process lock per stream, kept beside the stores in `.astra/.locks/`.

The lock is a separate file because quarantine and compaction replace the store by rename: a lock on
the store's own inode would not exclude a writer that opened the new file.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path


@contextmanager
def stream_lock(store: Path) -> Iterator[None]:
    folder, lock = _lock_paths(store)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:
        Path(folder).mkdir(exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@lru_cache(maxsize=256)
def _lock_paths(store: Path) -> tuple[str, str]:
    """(locks folder, lock file) of a store, as strings: a writer appending in a loop builds them once."""
    locks = store.parent / ".locks"
    return os.fspath(locks), os.fspath(locks / f"{store.name}.lock")
