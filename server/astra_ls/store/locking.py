"""An exclusive, cross-process lock per stream, kept beside the stores in `.astra/.locks/`.

The lock is a separate file because quarantine and compaction replace the store by rename: a lock on
the store's own inode would not exclude a writer that opened the new file.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def stream_lock(store: Path) -> Iterator[None]:
    locks = store.parent / ".locks"
    try:
        fd = os.open(locks / f"{store.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:
        locks.mkdir(exist_ok=True)
        fd = os.open(locks / f"{store.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
