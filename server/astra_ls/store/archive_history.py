"""A store's full history: the events compaction archived, read back in order before the live file's.

A compacted file starts with a `$snapshot` header naming its archive (`archive`, relative to `.astra/`)
and how many of the archive's lines it replaced (`upToLine`); by-key compaction also wrote `lines` lines
after it. The history of a file is then the history of the archive's first `upToLine` lines (an archive
may itself start with an older header), followed by the file's lines after what compaction wrote. An
archive that is gone or unreadable ends the walk: the history then starts with that header, which the
projection restarts from, as the live file does.

Bounded: archives must lie in `.astra/archive/`, a chain holds at most MAX_CHAIN of them, and the history
at most MAX_HISTORY_BYTES (a decompression bomb stops there with a clear refusal).
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from astra_ls.core.linecheck import BOM, SNAPSHOT_TYPE
from astra_ls.store.paths import ASTRA_DIR, PathRefused, confine
from astra_ls.store.results import StoreError

MAX_CHAIN = 256
MAX_HISTORY_BYTES = 1 << 30
ARCHIVE_DIR = "archive"


@dataclass(frozen=True, slots=True)
class Segment:
    source: str | None  # an archive's path relative to .astra/, or None for the live file
    first_line: int  # 0-based line in the source where the segment starts
    start: int  # 0-based history line where it starts
    count: int


@dataclass(slots=True)
class History:
    data: bytes = b""
    segments: list[Segment] = field(default_factory=list)
    unreadable: str | None = None  # an archive the chain names that could not be read, and why

    @property
    def archives(self) -> list[str]:
        return [s.source for s in self.segments if s.source is not None]

    def origin(self, line: int) -> tuple[str | None, int]:
        """(archive or None for the live file, 0-based line in it) of a history line."""
        for segment in reversed(self.segments):
            if line >= segment.start:
                return segment.source, segment.first_line + line - segment.start
        return None, line

    def archived_lines(self) -> int:
        return sum(s.count for s in self.segments if s.source is not None)


def compaction_header(line: bytes) -> dict[str, Any] | None:
    """The `$snapshot` header compaction wrote, if `line` is one that names its archive."""
    if SNAPSHOT_TYPE.encode() not in line[:4096]:
        return None
    try:
        record = orjson.loads(line.removeprefix(BOM))
    except orjson.JSONDecodeError:
        return None
    if (isinstance(record, dict) and record.get("type") == SNAPSHOT_TYPE and isinstance(record.get("archive"), str)
            and _count(record.get("upToLine")) and _count(record.get("lines", 0)) is not None):
        return record
    return None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def is_compacted(first_line: bytes) -> bool:
    return compaction_header(first_line) is not None


def read_history(root: Path, live: bytes) -> History:
    history = History()
    pieces: list[bytes] = []
    _walk(root, live, None, None, history, pieces, 0)
    history.data = b"".join(pieces)
    return history


def _lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def _walk(root: Path, data: bytes, source: str | None, up_to: int | None, history: History, pieces: list[bytes],
          depth: int) -> None:
    lines = _lines(data)
    if up_to is not None:
        del lines[up_to:]
    first = 0
    header = compaction_header(lines[0]) if lines else None
    if header is not None and history.unreadable is None:
        archived = _read_archive(root, header["archive"], history, depth)
        if archived is not None:
            _walk(root, archived, header["archive"], header["upToLine"], history, pieces, depth + 1)
            first = 1 + int(header.get("lines", 0))
    start = sum(s.count for s in history.segments)
    history.segments.append(Segment(source, first, start, max(0, len(lines) - first)))
    size = sum(len(p) for p in pieces)
    for line in lines[first:]:
        size += len(line) + 1
        if size > MAX_HISTORY_BYTES:
            raise StoreError("HISTORY_TOO_LARGE", f"the store's history with its archives is over "
                             f"{MAX_HISTORY_BYTES // (1 << 20):,} MiB: query the live file, or a narrower range")
        pieces.append(line + b"\n")


def _read_archive(root: Path, name: str, history: History, depth: int) -> bytes | None:
    if depth >= MAX_CHAIN:
        history.unreadable = f"more than {MAX_CHAIN} archives in a chain (is one naming itself?)"
        return None
    path = root / ASTRA_DIR / name
    try:
        confine(root, path)
        if path.parent.resolve() != (root / ASTRA_DIR / ARCHIVE_DIR).resolve() or not path.name.endswith(".gz"):
            raise PathRefused(f"{name} is not a gzipped archive in {ASTRA_DIR}/{ARCHIVE_DIR}/")
        with gzip.open(path, "rb") as packed:
            data = packed.read(MAX_HISTORY_BYTES + 1)
    except (OSError, EOFError, zlib.error, PathRefused) as error:
        history.unreadable = f"{name}: {getattr(error, 'strerror', None) or error}"
        return None
    if len(data) > MAX_HISTORY_BYTES:
        raise StoreError("HISTORY_TOO_LARGE", f"the archive {name} holds over {MAX_HISTORY_BYTES // (1 << 20):,} MiB")
    return data
