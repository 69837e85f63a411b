"""A remote event stream's local mirror: one line per message, in sequence order, plus a sequence index.

The engine works on bytes and line offsets, so the mirror is an ordinary JSONL file and every analysis,
projection and query runs on it unchanged and incrementally. Line N holds the N-th message of the
subject; the index beside it records each line's stream sequence and end offset, 16 bytes per line.
Lines are written before their index records: after a crash the index is the truth and any unindexed
tail of the mirror is cut off (the next sync fetches those messages again). The mirror is a cache,
rebuilt from the server whenever it does not fit.
"""

from __future__ import annotations

import os
import struct
from array import array
from pathlib import Path

from astra_ls.remote.jetstream import Message

RECORD = struct.Struct("<QQ")  # (stream sequence, end offset of the line in the mirror)


def line_of(data: bytes) -> bytes:
    """A payload as one mirror line. Outside JSON strings a newline is only whitespace, so a space keeps the
    meaning of a JSON payload (inside strings newlines are escaped); the line count stays one per message."""
    return data.replace(b"\n", b" ") + b"\n"


class Mirror:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.index_path = path.parent / ".index" / f"{path.name}.seq"
        self.seqs = array("Q")
        self.ends = array("Q")
        self._index_size = 0

    @property
    def count(self) -> int:
        return len(self.seqs)

    @property
    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    def load(self) -> None:
        """Catch up with the index on disk (another process may have synced) and repair a torn mirror."""
        try:
            size = self.index_path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < self._index_size:
            self.seqs, self.ends, self._index_size = array("Q"), array("Q"), 0
        whole = size - size % RECORD.size
        if whole > self._index_size:
            with self.index_path.open("rb") as handle:
                handle.seek(self._index_size)
                data = handle.read(whole - self._index_size)
            for seq, end in RECORD.iter_unpack(data):
                self.seqs.append(seq)
                self.ends.append(end)
            self._index_size = whole
        self._repair(size, whole)

    def _repair(self, index_size: int, whole: int) -> None:
        end = self.ends[-1] if self.ends else 0
        try:
            mirror_size = self.path.stat().st_size
        except FileNotFoundError:
            mirror_size = 0
        if mirror_size < end:  # the mirror lost lines the index knows: start over
            self.reset()
            return
        if index_size != whole:
            os.truncate(self.index_path, whole)
        if mirror_size > end:
            os.truncate(self.path, end)

    def reset(self) -> None:
        for path in (self.path, self.index_path):
            path.unlink(missing_ok=True)
        self.seqs, self.ends, self._index_size = array("Q"), array("Q"), 0

    def add(self, messages: list[Message]) -> None:
        """Append messages (sequences above `last_seq`): lines first, their index records after."""
        if not messages:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.index_path.parent.mkdir(exist_ok=True)
        end = self.ends[-1] if self.ends else 0
        lines = []
        records = []
        for message in messages:
            line = line_of(message.data)
            end += len(line)
            lines.append(line)
            records.append(RECORD.pack(message.seq, end))
        with self.path.open("ab") as handle:
            handle.write(b"".join(lines))
        with self.index_path.open("ab") as handle:
            handle.write(b"".join(records))
        for message, record in zip(messages, records, strict=True):
            self.seqs.append(message.seq)
            self.ends.append(RECORD.unpack(record)[1])
        self._index_size += len(records) * RECORD.size

    def line(self, at: int) -> bytes:
        """Line `at` (0-based; -1 for the last) as written; empty when there is no such line."""
        if not -len(self.ends) <= at < len(self.ends):
            return b""
        at %= len(self.ends)
        start = self.ends[at - 1] if at else 0
        with self.path.open("rb") as handle:
            handle.seek(start)
            return handle.read(self.ends[at] - start)

    def line_of_seq(self, seq: int) -> int | None:
        """0-based line of a stream sequence, by bisection (sequences only grow)."""
        import bisect

        at = bisect.bisect_left(self.seqs, seq)
        return at if at < len(self.seqs) and self.seqs[at] == seq else None
