"""Files of the user cache folder (index entries): written whole or not at all, and kept within bounds."""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

STALE_TEMP_S = 3600.0


def lies_within(folder: Path, roots: Iterable[Path | str]) -> bool:
    """`folder`, links resolved, is one of `roots` or inside one: a cache there would write into a
    workspace, which the server never does."""
    real = folder.resolve()
    return any(real.is_relative_to(Path(root).resolve()) for root in roots)


def write_cache_file(target: Path, pieces: Iterable[bytes]) -> None:
    """Write a temp file beside `target` and rename it over `target`: a reader sees the old file or the
    new one. Private: 0600, in folders made 0700. Raises OSError (the temp file is gone by then)."""
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            for piece in pieces:
                out.write(piece)
        os.replace(temp, target)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise


def evict(folder: Path, suffix: str, max_entries: int, max_bytes: int) -> None:
    """Keep the newest `suffix` files within the count and size bounds; drop leftovers of killed writers."""
    now = time.time()
    entries = []
    for item in folder.iterdir():
        try:
            info = item.stat()
        except OSError:
            continue
        if item.name.endswith(".tmp") and now - info.st_mtime > STALE_TEMP_S:
            item.unlink(missing_ok=True)
        elif item.name.endswith(suffix):
            entries.append((info.st_mtime, info.st_size, item))
    entries.sort(key=lambda e: e[0], reverse=True)
    total = 0
    for index, (_, size, item) in enumerate(entries):
        total += size
        if index >= max_entries or total > max_bytes:
            item.unlink(missing_ok=True)
