"""Which bytes a store file holds, told cheaply: a hash of sampled content (no heavy imports, so the
start-up path can check a saved snapshot against a file before the engine is loaded); and the short
hashes the cache folder's files are named and keyed by."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from astra_ls.store.fileio import open_file, pread

EDGE_BYTES = 64 * 1024  # the fingerprint hashes the first and last 64 KiB of the file...
SAMPLES, SAMPLE_BYTES = 64, 4096  # ...and this many blocks spread evenly in between


def content_fingerprint(path: Path, size: int) -> str:
    """A hash of the file's first `size` bytes, sampled: both ends and blocks spread in between."""
    digest = hashlib.blake2b(size.to_bytes(8, "little"), digest_size=16)
    spans = [(0, EDGE_BYTES), (max(0, size - EDGE_BYTES), EDGE_BYTES)]
    spans.extend((size * index // (SAMPLES + 1), SAMPLE_BYTES) for index in range(1, SAMPLES + 1))
    fd = open_file(path, os.O_RDONLY)
    try:
        for start, length in spans:
            digest.update(pread(fd, min(length, size - start), start) if start < size else b"")
    finally:
        os.close(fd)
    return digest.hexdigest()


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def stamp_sources(hashed: Any, package: Path, sources: Iterable[Path]) -> None:
    """Add each source file's name (within `package`), size and mtime to `hashed`, in name order: a
    changed checkout changes the key."""
    for source in sorted(sources):
        info = source.stat()
        hashed.update(f"{source.relative_to(package)} {info.st_size} {info.st_mtime_ns}\n".encode())
