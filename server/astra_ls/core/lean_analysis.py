"""The lean analysis of a one-off `astra-ls check`: only what its problems need, for a big store read once.

Per line it keeps a 4-byte short key of the id hash (NO_ID but on event lines: duplicate ids are confirmed
by reading the candidate lines again), and the start of every MARK_EVERY-th line (to read the lines a
problem names); the time order is folded in as the lines come. It has no per-line offsets, kinds, types or
times, so it cannot be edited, cut, grown or saved: those operations exist only on `StoreAnalysis`.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right

import numpy as np

from astra_ls.core.analysis import AnalysisRules, BaseAnalysis, ReadRange
from astra_ls.core.crossline import TimeOrder, short_keys
from astra_ls.core.facts import NO_ID, line_id
from astra_ls.core.scan import ScannedLines

MARK_EVERY = 64  # the analysis knows where one line in this many starts
SKIP_CHUNK = 16 * 1024  # about MARK_EVERY lines of a typical store


class LeanAnalysis(BaseAnalysis):
    """A store's lines, read once for a check: finds exactly the problems and counts a `StoreAnalysis` finds."""

    SENT_ARRAYS = ("id_hashes", "mark_lines", "mark_offsets")

    def __init__(self, rules: AnalysisRules) -> None:
        super().__init__(rules)
        self.id_hashes = array("i")  # short keys
        self.mark_lines = array("q")
        self.mark_offsets = array("q")

    def _keep_lines(self, scanned: ScannedLines, is_event: np.ndarray, first: int, incremental: bool) -> None:
        # only ever fed by `feed_scan` (incremental is False): it cannot be grown once indexed
        self._mark(scanned.offsets, first)
        if self.rules.ordered_timestamps:
            self.order.extend(np.frombuffer(scanned.timestamps, np.float64), is_event, first)
        hashes = np.frombuffer(scanned.id_hashes, np.int64) if scanned.id_hashes else np.empty(0, np.int64)
        self.id_hashes.frombytes(short_keys(np.where(is_event, hashes, NO_ID)).tobytes())

    def _mark(self, offsets: array[int], first: int) -> None:
        """Keep the starts of the lines MARK_EVERY apart, counted from this batch's first line."""
        if offsets:
            self.mark_lines.extend(range(first, first + len(offsets), MARK_EVERY))
            self.mark_offsets.extend(offsets[::MARK_EVERY])

    def _folded_order(self) -> TimeOrder:
        return self.order  # joined at the border by the analysis that adopts this part

    def _renumbered(self, name: str, chunk: bytes | memoryview, mapping: np.ndarray,
                    first: int) -> bytes | memoryview:
        return (np.frombuffer(chunk, np.int64) + first).tobytes() if name == "mark_lines" else chunk

    def finish_full_scan(self, read: ReadRange) -> None:
        """After a scan from byte 0: index the ids in bulk, reading the lines whose short keys repeat
        (`read`) to keep only true duplicates (only event lines have an id; the order is folded in)."""
        self._stale_from(0)
        if self.rules.unique_ids:
            self.duplicates.rebuild(self.id_hashes, None, keep_known=False)
            self.duplicates.duplicates = self._true_duplicates(self.duplicates.duplicates, read)

    def _true_duplicates(self, candidates: dict[int, int], read: ReadRange) -> dict[int, int]:
        """line -> first line with the same id, among the lines whose short keys repeat (`candidates`), by
        their ids read again: exactly what a full analysis finds, as two lines with one id share a key."""
        duplicates: dict[int, int] = {}
        first_of: dict[str | bytes, int] = {}
        field = self.rules.line.id_field
        for line in sorted({*candidates, *candidates.values()}):
            ident = line_id(self._marked_line(line, read), field)
            if ident is None:
                continue
            first = first_of.setdefault(ident, line)
            if first != line:
                duplicates[line] = first
        return duplicates

    def confirmed_first(self, line: int, first: int, read: ReadRange) -> int:
        return first  # `finish_full_scan` compared the ids already

    def _line_text(self, line: int, read: ReadRange) -> str:
        return self._marked_line(line, read).decode("utf-8", "replace")

    def _marked_line(self, line: int, read: ReadRange) -> bytes:
        """A line's bytes (without its '\\n'): one read from the nearest marked line before it holds the
        whole line, unless lines there are long."""
        at = bisect_right(self.mark_lines, line) - 1
        chunk = read(self.mark_offsets[at], SKIP_CHUNK)
        start = _after_newlines(chunk, line - self.mark_lines[at])
        end = chunk.find(b"\n", start) if start >= 0 else -1
        if end >= 0:
            return chunk[start:end]
        return read(*self._marked_span(line, read))

    def _marked_span(self, line: int, read: ReadRange) -> tuple[int, int]:
        """Byte offset and length of a line (without its '\\n'): read on from the nearest marked line before it."""
        at = bisect_right(self.mark_lines, line) - 1
        start = _skip_lines(read, self.mark_offsets[at], line - self.mark_lines[at])
        if line + 1 < self.line_count:
            return start, _skip_lines(read, start, 1) - 1 - start
        return start, max(0, self.size - (1 if self.terminated else 0) - start)


def _skip_lines(read: ReadRange, offset: int, count: int) -> int:
    """The start of the line `count` lines after the one starting at `offset`."""
    while count:
        chunk = read(offset, SKIP_CHUNK)
        if not chunk:
            raise EOFError(f"the store ends {count} lines before the line it was asked for")
        found = chunk.count(b"\n")
        if found < count:
            offset, count = offset + len(chunk), count - found
            continue
        return offset + _after_newlines(chunk, count)
    return offset


def _after_newlines(chunk: bytes, count: int) -> int:
    """Where the line after the `count`-th '\\n' of `chunk` starts; -1 when it holds fewer."""
    position = -1
    for _ in range(count):
        position = chunk.find(b"\n", position + 1)
        if position < 0:
            return -1
    return position + 1
