"""An open document's text as UTF-8 bytes, edited in place by the editor's incremental changes.

The engine reads bytes, so keeping the buffer as bytes spares encoding the whole text on every check,
and an index of line starts turns an LSP position into a byte offset without splitting the text: a
keystroke costs moving the bytes after it, and a check one immutable copy, whatever the number of lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from lsprotocol import types as lsp

from astra_ls.core.positions import char_of_utf16_col

CR, LF = 13, 10


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True, slots=True)
class Edit:
    """Bytes [start, end) of the buffer before the edit became `length` bytes."""

    start: int
    end: int
    length: int


def line_starts(data: bytes | bytearray, low: int, high: int) -> np.ndarray:
    """Offsets s in [low, high] (low >= 1) where an LSP line starts: after '\\n', or after a '\\r' that no
    '\\n' follows. Only data[s-1] and data[s] decide, so an edit moves the starts of its own bytes only."""
    if high < low:
        return np.empty(0, np.int64)
    window = bytes(data[low - 1 : high + 1]).ljust(high - low + 2, b"\0")  # a copy: the buffer must stay resizable
    before = np.frombuffer(window, np.uint8, count=high - low + 1)
    after = np.frombuffer(window, np.uint8, offset=1)
    breaks = before == LF
    if b"\r" in window:
        breaks |= (before == CR) & (after != LF)
    found: np.ndarray = np.flatnonzero(breaks) + low
    return found


class TextBuffer:
    def __init__(self, text: str) -> None:
        self._data = bytearray(encode(text))
        self._frozen: bytes | None = None
        self._starts = np.concatenate(([0], line_starts(self._data, 1, len(self._data)))).astype(np.int64)

    @property
    def data(self) -> bytes:
        """The current text, immutable (copied once per change, when asked for)."""
        if self._frozen is None:
            self._frozen = bytes(self._data)
        return self._frozen

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def text(self) -> str:
        return self._data.decode("utf-8", "surrogatepass")

    def apply(self, change: lsp.TextDocumentContentChangeEvent) -> Edit:
        """Apply one change (a whole-text change replaces everything) and say which bytes it replaced."""
        if isinstance(change, lsp.TextDocumentContentChangePartial):
            start, end = self.offset_at(change.range.start), self.offset_at(change.range.end)
            start, end = min(start, end), max(start, end)
        else:
            start, end = 0, len(self._data)
        inserted = encode(change.text)
        self._data[start:end] = inserted
        self._frozen = None
        self._move_starts(start, end, len(inserted))
        return Edit(start, end, len(inserted))

    def _move_starts(self, start: int, end: int, length: int) -> None:
        starts = self._starts
        low = max(start, 1)  # line 0 always starts at 0
        kept = starts[: int(np.searchsorted(starts, low))]
        moved = starts[int(np.searchsorted(starts, end + 1)) :] + (length - (end - start))
        self._starts = np.concatenate((kept, line_starts(self._data, low, start + length), moved))

    def offset_at(self, position: lsp.Position) -> int:
        """The byte offset of an LSP position (UTF-16 columns; past the end of a line means its end)."""
        if position.line >= len(self._starts):
            return len(self._data)
        start = int(self._starts[position.line])
        end = int(self._starts[position.line + 1]) if position.line + 1 < len(self._starts) else len(self._data)
        content = bytes(self._data[start:end])
        if content.endswith(b"\r\n"):
            content = content[:-2]
        elif content.endswith((b"\r", b"\n")):
            content = content[:-1]
        return start + _utf8_length(content, position.character)


def _utf8_length(line: bytes, units: int) -> int:
    """Bytes of `line` taken by its first `units` UTF-16 code units (a split pair counts whole)."""
    if line.isascii():
        return min(units, len(line))
    text = line.decode("utf-8", "surrogatepass")
    return len(encode(text[: char_of_utf16_col(text, units)]))
