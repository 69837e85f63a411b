"""Everything known about one store's lines, kept as compact arrays (never one object per event).

A `StoreAnalysis` is built from blocks of bytes and then kept current: `resume` re-reads only the tail
another writer appended, `splice` re-checks only the lines an editor changed. Cross-line checks and
counts follow incrementally; problems are materialised on demand.

`BaseAnalysis` holds what it shares with the lean analysis of a one-off check (`core.lean_analysis`):
scanning, joining parts scanned elsewhere, counting, and building problems.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from astra_ls.core.blocks import BLOCK_SIZE, Block, LongLine
from astra_ls.core.care import release_scratch
from astra_ls.core.crossline import DuplicateIds, TimeOrder
from astra_ls.core.facts import NO_ID, id_identity, id_key, line_id
from astra_ls.core.linecheck import BAD, EVENT, SNAPSHOT, LineRules, LineVerdict
from astra_ls.core.part_handover import PartFacts, ReadSent, item_size, sent_spans
from astra_ls.core.problems import Problem, Related, make_problem
from astra_ls.core.scan import BlockScanner, ScannedLines, TypeTable

ReadRange = Callable[[int, int], bytes]  # (offset, length) -> bytes of the store
LINE_ARRAYS = ("offsets", "kinds", "type_ids", "timestamps", "id_hashes")


@dataclass(frozen=True, slots=True)
class AnalysisRules:
    line: LineRules
    unique_ids: bool = True
    ordered_timestamps: bool = True


@dataclass(frozen=True, slots=True)
class CrossLines:
    known_ids: np.ndarray  # sorted distinct id hashes
    duplicates: dict[int, int]  # line -> first line with its id
    backwards: dict[int, int]  # line -> the event line before it, whose timestamp is later
    last_time: float
    last_line: int


class BaseAnalysis(ABC):
    """What the full analysis and the lean one of a one-off check share: lines scanned in order (here or
    by other processes, see `adopt`), per-line problems, snapshots, counts by type, the cross-line
    indexes, and problems built on demand. Each kind keeps its own per-line arrays (`SENT_ARRAYS`)."""

    SENT_ARRAYS: ClassVar[tuple[str, ...]]  # the per-line arrays a part scanned elsewhere hands over, in order
    id_hashes: array[int]  # one item per line

    def __init__(self, rules: AnalysisRules) -> None:
        self.rules = rules
        self.types = TypeTable()
        self._scanner = BlockScanner(rules.line, self.types)
        self.line_problems: dict[int, list[Problem]] = {}
        self.snapshots: dict[int, dict[str, Any]] = {}
        self.size = 0
        self.terminated = True  # the last line ends with '\n'
        self.duplicates = DuplicateIds()
        self.order = TimeOrder()
        self._type_counts: Counter[int] = Counter()
        # `problems()` as last built: its problems on lines below `_valid_below` still hold, so after an
        # append or an edit only the problems from the first changed line on are built again.
        self._materialised: list[Problem] = []
        self._valid_below = 0

    # --- building -----------------------------------------------------------------------------------

    @property
    def line_count(self) -> int:
        return len(self.id_hashes)

    def feed_scan(self, pieces: Iterable[Block | LongLine]) -> None:
        """Append the lines of a full scan (of the file, or of a part of it), in order; `finish_full_scan`
        then indexes their cross-line facts in bulk."""
        self._feed(pieces, incremental=False)

    def _feed(self, pieces: Iterable[Block | LongLine], incremental: bool) -> None:
        for piece in pieces:
            scanned = ScannedLines()
            if isinstance(piece, LongLine):
                self._scan_long(piece, scanned)
                end = piece.offset + piece.length + (1 if piece.terminated else 0)
                terminated = piece.terminated
            else:
                self._scanner.scan(piece.data, piece.offset, self.line_count, scanned)
                end = piece.offset + len(piece.data)
                terminated = piece.data.endswith(b"\n")
            self._absorb(scanned, incremental)
            self.size, self.terminated = end, terminated
        if not incremental:
            release_scratch()

    def _scan_long(self, piece: LongLine, scanned: ScannedLines) -> None:
        limit = self.rules.line.max_line_bytes
        message = f"line is {piece.length:,} bytes, over the {limit:,}-byte limit; not parsed"
        problem = make_problem("ASTRA034", self.line_count, 0, 1, message, data={"bytes": piece.length})
        scanned.offsets.append(piece.offset)
        scanned.add_verdict(self.line_count, LineVerdict(BAD, problems=[problem]), self.types)

    def _absorb(self, scanned: ScannedLines, incremental: bool) -> None:
        first = self.line_count
        self._stale_from(first)
        is_event = np.frombuffer(bytes(scanned.kinds), np.uint8) == EVENT
        self._keep_lines(scanned, is_event, first, incremental)
        self.line_problems.update(scanned.problems)
        self.snapshots.update(scanned.snapshots)
        types = np.asarray(scanned.type_ids, np.int64)[is_event]
        for type_id, number in enumerate(np.bincount(types).tolist() if len(types) else []):
            if number:
                self._type_counts[type_id] += number
        if incremental:
            for offset in np.flatnonzero(is_event).tolist():
                if self.rules.unique_ids:
                    self.duplicates.add(first + offset, scanned.id_hashes[offset])
                if self.rules.ordered_timestamps:
                    self.order.add(first + offset, scanned.timestamps[offset])

    @abstractmethod
    def _keep_lines(self, scanned: ScannedLines, is_event: np.ndarray, first: int, incremental: bool) -> None:
        """Append the per-line facts of freshly scanned lines (the first is line `first`) to this analysis's arrays."""

    def handover_facts(self) -> PartFacts:
        """What this analysis, a part scanned for another one, hands over besides its `SENT_ARRAYS`."""
        return PartFacts(list(self.types.names), self._type_counts, self.line_problems, self.snapshots, self.size,
                         self.terminated, self._folded_order(),
                         {name: len(getattr(self, name)) for name in self.SENT_ARRAYS})

    def _renumbered(self, name: str, chunk: bytes | memoryview, mapping: np.ndarray,
                    first: int) -> bytes | memoryview:
        """A chunk of a part's array `name` as this analysis holds it: its type ids mapped to this one's
        (`mapping`), its line numbers counted from this one's first line (the part's line 0 is `first`)."""
        return chunk

    @abstractmethod
    def _folded_order(self) -> TimeOrder | None:
        """The time order as folded in while scanning, for the analysis that adopts this one as a part (None:
        that analysis indexes the order of the whole file itself)."""

    def adopt(self, part: PartFacts, read: ReadSent) -> None:
        """Append the analysis of the bytes that follow this one's (a part of the same kind, scanned by
        another process or here).

        The part's arrays follow on a stream (`read(n)` gives exactly the next n bytes), raw, in
        `SENT_ARRAYS` order, `part.lengths[name]` items each, in the `sent_spans` of each (last first: the
        sender cuts each off once sent), and are appended to this analysis's arrays in order, so a
        million lines never sit in memory twice."""
        first = self.line_count
        self._stale_from(first)
        mapping = np.array([self.types.id_of(name or None) for name in part.type_names], np.uint16)
        for name in self.SENT_ARRAYS:
            self._adopt_array(name, part.lengths[name], read, mapping, first)
        if part.order is not None and self.rules.ordered_timestamps:
            self.order.join(part.order, first)
        for line, problems in part.line_problems.items():
            self.line_problems[first + line] = [p.shifted(first) for p in problems]
        self.snapshots.update({first + line: event for line, event in part.snapshots.items()})
        for type_id, number in part.type_counts.items():
            self._type_counts[int(mapping[type_id])] += number
        self.size, self.terminated = part.size, part.terminated

    def _adopt_array(self, name: str, count: int, read: ReadSent, mapping: np.ndarray, first: int) -> None:
        target: Any = getattr(self, name)
        size = item_size(target)
        received = [read((end - start) * size) for start, end in sent_spans(count, size)]
        while received:  # the first span came last
            chunk = self._renumbered(name, received.pop(), mapping, first)
            if isinstance(target, bytearray):
                target.extend(chunk)
            else:
                target.frombytes(chunk)

    # --- reading ------------------------------------------------------------------------------------

    def event_count(self) -> int:
        return sum(self._type_counts.values()) + sum(int(s["events"]) for s in self.snapshots.values())

    def counts_by_type(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for snapshot in self.snapshots.values():
            counts.update({str(k): int(v) for k, v in snapshot["byType"].items()})
        for type_id, number in self._type_counts.items():
            if number:
                counts[self.types.names[type_id] or "(untyped)"] += number
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def _stale_from(self, line: int) -> None:
        self._valid_below = min(self._valid_below, line)

    @abstractmethod
    def confirmed_first(self, line: int, first: int, read: ReadRange) -> int | None:
        """The first line whose id truly equals `line`'s, given that the index found `first`; None when
        no earlier line has that id."""

    @abstractmethod
    def _line_text(self, line: int, read: ReadRange) -> str:
        """A line's text, without its '\\n'."""

    def problems(self, read: ReadRange) -> list[Problem]:
        """All problems, in line order; cross-line ones read the lines they name to point at them.

        Only the problems from the first line changed since the last call are built; the others are the
        same objects as last time (so comparing two results is cheap)."""
        valid = self._valid_below
        kept = self._materialised[: bisect_left(self._materialised, valid, key=lambda p: p.line)]
        found = [p for line in sorted(k for k in self.line_problems if k >= valid) for p in self.line_problems[line]]
        for line, first in self.duplicates.duplicates.items():
            confirmed = self.confirmed_first(line, first, read) if line >= valid else None
            if confirmed is not None:
                found.append(self._duplicate_problem(line, confirmed, read))
        found.extend(self._order_problem(line, previous, read)
                     for line, previous in self.order.backwards.items() if line >= valid)
        if not self.terminated and self.line_count and self.line_count - 1 >= valid:
            found.append(self._missing_newline(read))
        found.sort(key=lambda p: (p.line, p.start))
        self._materialised, self._valid_below = kept + found, self.line_count
        return list(self._materialised)

    def problems_on(self, line: int, read: ReadRange) -> list[Problem]:
        """The problems of one line, without materialising everyone else's (hovers, quick fixes)."""
        found = list(self.line_problems.get(line, ()))
        first = self.duplicates.duplicates.get(line)
        confirmed = None if first is None else self.confirmed_first(line, first, read)
        if confirmed is not None:
            found.append(self._duplicate_problem(line, confirmed, read))
        previous = self.order.backwards.get(line)
        if previous is not None:
            found.append(self._order_problem(line, previous, read))
        if not self.terminated and self.line_count and line == self.line_count - 1:
            found.append(self._missing_newline(read))
        return sorted(found, key=lambda p: p.start)

    def _field_cols(self, line: int, field: str, read: ReadRange) -> tuple[int, int, str]:
        from astra_ls.core.locate import locate
        from astra_ls.core.positions import utf16_col_of_char

        text = self._line_text(line, read)
        span = locate(text, tuple(field.split(".")))
        if span is None:
            return 0, len(text), ""
        value = text[span.value.start : span.value.end]
        return utf16_col_of_char(text, span.value.start), utf16_col_of_char(text, span.value.end), value

    def _duplicate_problem(self, line: int, first: int, read: ReadRange) -> Problem:
        field = self.rules.line.id_field
        start, end, value = self._field_cols(line, field, read)
        first_start, first_end, _ = self._field_cols(first, field, read)
        related = (Related(first, first_start, first_end, f"first event with id {value}"),)
        return make_problem("ASTRA020", line, start, end,
                            f"duplicate id {value}: already used by the event on line {first + 1}",
                            related=related, data={"first": first + 1})

    def _order_problem(self, line: int, previous: int, read: ReadRange) -> Problem:
        field = self.rules.line.time_field
        start, end, value = self._field_cols(line, field, read)
        prev_start, prev_end, prev_value = self._field_cols(previous, field, read)
        related = (Related(previous, prev_start, prev_end, f"previous event, at {prev_value}"),)
        return make_problem("ASTRA021", line, start, end,
                            f"timestamp {value} is earlier than the previous event's {prev_value} "
                            f"(line {previous + 1}): events must be appended in time order",
                            related=related, data={"previous": previous + 1})

    def _missing_newline(self, read: ReadRange) -> Problem:
        from astra_ls.core.positions import utf16_len

        line = self.line_count - 1
        end = utf16_len(self._line_text(line, read))
        return make_problem("ASTRA033", line, end, end,
                            "missing final newline: the last line is torn or unterminated, and a naive "
                            "append would glue the next event onto it")




class StoreAnalysis(BaseAnalysis):
    """The full analysis the server and every command keep current: every line's start, kind, type, time and
    8-byte id hash, so it can be edited (`splice`), cut (`truncate`), grown (`resume`) and saved."""

    SENT_ARRAYS = LINE_ARRAYS

    def __init__(self, rules: AnalysisRules) -> None:
        super().__init__(rules)
        self.offsets = array("q")
        self.kinds = bytearray()
        self.type_ids = array("H")
        self.timestamps = array("d")
        self.id_hashes = array("q")

    def _keep_lines(self, scanned: ScannedLines, is_event: np.ndarray, first: int, incremental: bool) -> None:
        self.offsets.extend(scanned.offsets)
        self.kinds.extend(scanned.kinds)
        self.type_ids.extend(scanned.type_ids)
        self.timestamps.extend(scanned.timestamps)
        self.id_hashes.extend(scanned.id_hashes)

    def feed(self, pieces: Iterable[Block | LongLine], incremental: bool = True) -> None:
        """Append lines read from the store's end, in order: a tail read checks each new event against the
        indexes as it comes (a full scan passes incremental=False, or calls `feed_scan`)."""
        self._feed(pieces, incremental)

    def _folded_order(self) -> None:
        return None  # indexed for the whole file by `finish_full_scan`

    def _renumbered(self, name: str, chunk: bytes | memoryview, mapping: np.ndarray,
                    first: int) -> bytes | memoryview:
        return mapping[np.frombuffer(chunk, np.uint16)].tobytes() if name == "type_ids" else chunk

    def finish_full_scan(self) -> None:
        """After a scan from byte 0: index cross-line facts in bulk (cheaper than line by line)."""
        self._stale_from(0)
        mask = self.event_mask()
        if self.rules.unique_ids:
            self.duplicates.rebuild(self.id_hashes, mask)
        if self.rules.ordered_timestamps:
            self.order.rebuild(self.timestamps, mask)

    def confirmed_first(self, line: int, first: int, read: ReadRange) -> int | None:
        """The hash is not keyed: ids made to collide must not pass for duplicates."""
        field = self.rules.line.id_field
        mine = line_id(read(*self.line_span(line)), field)
        if mine is None:
            return None
        if line_id(read(*self.line_span(first)), field) == mine:
            return first
        hashes = np.frombuffer(self.id_hashes, np.int64)[:line]
        mask = self.event_mask()
        for other in np.flatnonzero(hashes == self.id_hashes[line]).tolist():
            if other != first and mask[other] and line_id(read(*self.line_span(other)), field) == mine:
                return int(other)
        return None

    def first_line_with_id(self, value: Any, read: ReadRange) -> int | None:
        """The first event line whose id is `value`, where ids are kept unique (else None). The index
        finds it by hash; the ids themselves are compared, as hashes can be made to collide."""
        key = id_key(value)
        if not self.rules.unique_ids or key == NO_ID or self.duplicates.line_of(key) is None:
            return None
        wanted, field = id_identity(value), self.rules.line.id_field
        mask = self.event_mask()
        for line in np.flatnonzero(np.frombuffer(self.id_hashes, np.int64) == key).tolist():
            if mask[line] and line_id(read(*self.line_span(line)), field) == wanted:
                return int(line)
        return None

    def cross_lines_saved(self) -> CrossLines:
        """The duplicate-id and time-order indexes, for `restore_cross_lines` in another process."""
        known, duplicates = self.duplicates.saved()
        backwards, last_time, last_line = self.order.saved()
        return CrossLines(known, dict(duplicates), dict(backwards), last_time, last_line)

    def restore_cross_lines(self, saved: CrossLines) -> None:
        """After the per-line arrays were filled in bulk from a saved analysis: its indexes, as saved."""
        self._stale_from(0)
        if self.rules.unique_ids:
            self.duplicates.restore(self.id_hashes, self.event_mask(), saved.known_ids, saved.duplicates)
        if self.rules.ordered_timestamps:
            self.order.restore(saved.backwards, saved.last_time, saved.last_line)

    def recount(self) -> None:
        """Count events by type afresh from the per-line arrays (after they were filled in bulk)."""
        kinds = np.frombuffer(bytes(self.kinds), np.uint8)
        types = np.frombuffer(self.type_ids, np.uint16)[kinds == EVENT] if len(kinds) else np.empty(0, np.uint16)
        self._type_counts = Counter({i: n for i, n in enumerate(np.bincount(types).tolist()) if n})

    def resume_offset(self) -> int:
        """Where to read from to bring the analysis up to date with a grown store."""
        if self.terminated or not self.line_count:
            return self.size
        return self.offsets[-1]

    def truncate(self, line: int) -> None:
        """Forget line `line` and everything after it."""
        self._stale_from(line)
        if line >= self.line_count:
            return
        for index in range(line, self.line_count):
            if self.kinds[index] == EVENT:
                self._type_counts[self.type_ids[index]] -= 1
        self.size = self.offsets[line]
        self.terminated = True
        del self.offsets[line:], self.kinds[line:], self.type_ids[line:]
        del self.timestamps[line:], self.id_hashes[line:]
        self.line_problems = {k: v for k, v in self.line_problems.items() if k < line}
        self.snapshots = {k: v for k, v in self.snapshots.items() if k < line}
        self.duplicates.forget_from(line)
        if self.rules.ordered_timestamps:
            self.order.rebuild(self.timestamps, self.event_mask())

    def resume(self, pieces: Iterable[Block | LongLine], from_offset: int) -> None:
        """Re-read the tail from `from_offset` (a value `resume_offset` gave)."""
        if self.offsets and from_offset < self.size:
            self.truncate(self.line_of_offset(from_offset))
        self.feed(pieces)

    def splice(self, first: int, old_count: int, new_data: bytes, tail: bool) -> None:
        """Replace lines [first, first+old_count) by the lines of `new_data` (an editor's change).

        `new_data` holds whole lines ending in '\\n', except at the end of the document (`tail`).
        Lines after the change keep their facts and are only renumbered and shifted.
        """
        old_end = first + old_count
        base = self.offsets[first] if first < self.line_count else self.size
        old_bytes = (self.offsets[old_end] if old_end < self.line_count else self.size) - base
        scanned = ScannedLines()
        self._scan_in_blocks(new_data, base, first, scanned)
        if tail:
            if new_data:
                self.terminated = new_data.endswith(b"\n")
            elif old_count:  # the last lines were deleted: the document now ends after a line's '\n' (or is empty)
                self.terminated = True
        delta_lines = len(scanned.offsets) - old_count
        delta_bytes = len(new_data) - old_bytes
        old_ids = [self.id_hashes[index] for index in range(first, old_end) if self.kinds[index] == EVENT]
        for index in range(first, old_end):
            if self.kinds[index] == EVENT:
                self._type_counts[self.type_ids[index]] -= 1
        for offset, kind in enumerate(scanned.kinds):
            if kind == EVENT:
                self._type_counts[scanned.type_ids[offset]] += 1
        shifted = np.frombuffer(self.offsets, np.int64)[old_end:] + delta_bytes if delta_bytes else None
        self.offsets[first:old_end] = scanned.offsets
        if shifted is not None:
            self.offsets[first + len(scanned.offsets):] = array("q", shifted.tobytes())
        self.kinds[first:old_end] = scanned.kinds
        self.type_ids[first:old_end] = array("H", scanned.type_ids)
        self.timestamps[first:old_end] = scanned.timestamps
        self.id_hashes[first:old_end] = array("q", scanned.id_hashes)
        self.line_problems = _renumber(self.line_problems, first, old_end, delta_lines, scanned.problems)
        self.snapshots = _renumber(self.snapshots, first, old_end, delta_lines, scanned.snapshots)
        self.size += delta_bytes
        self._stale_from(first)
        self._splice_cross_lines(first, old_end, len(scanned.offsets), old_ids)

    def _scan_in_blocks(self, data: bytes, base: int, first: int, out: ScannedLines) -> None:
        """Scan `data` a block of whole lines at a time: edits far apart make one wide change, and the
        scanner's work arrays are as large as what it is given."""
        view = memoryview(data)
        start = 0
        while start < len(data):
            cut = data.find(b"\n", start + BLOCK_SIZE - 1) + 1 if len(data) - start > BLOCK_SIZE else 0
            end = cut if cut > 0 else len(data)
            self._scanner.scan(bytes(view[start:end]), base + start, first + len(out.offsets), out)
            start = end

    def _splice_cross_lines(self, first: int, old_end: int, new_count: int, old_ids: list[int]) -> None:
        """Carry the cross-line indexes over an edit, looking again only at what it touched."""
        mask = self.event_mask()
        if self.rules.unique_ids:
            self.duplicates.splice(first, old_end, new_count, old_ids, self.id_hashes, mask)
        if self.rules.ordered_timestamps:
            self.order.splice(first, old_end, new_count, self.timestamps, mask)

    # --- reading ------------------------------------------------------------------------------------

    def event_mask(self) -> np.ndarray:
        # read in place, not copied: the view lives only as long as the comparison
        mask: np.ndarray = np.frombuffer(self.kinds, np.uint8) == EVENT
        return mask

    def line_of_offset(self, offset: int) -> int:
        return max(0, int(np.searchsorted(np.frombuffer(self.offsets, np.int64), offset, "right")) - 1)

    def line_span(self, line: int) -> tuple[int, int]:
        """Byte offset and length of a line, without its '\\n'."""
        start = self.offsets[line]
        end = self.offsets[line + 1] - 1 if line + 1 < self.line_count else self.size
        if line + 1 >= self.line_count and self.terminated:
            end -= 1
        return start, max(0, end - start)

    def is_event(self, line: int) -> bool:
        return 0 <= line < self.line_count and self.kinds[line] in (EVENT, SNAPSHOT)

    def _line_text(self, line: int, read: ReadRange) -> str:
        return read(*self.line_span(line)).decode("utf-8", "replace")


def _renumber(table: dict[int, Any], first: int, old_end: int, delta: int,
              fresh: dict[int, Any]) -> dict[int, Any]:
    result = {k: v for k, v in table.items() if k < first}
    result.update(fresh)
    for key, value in table.items():
        if key >= old_end:
            if isinstance(value, list):
                value = [p.shifted(delta) for p in value]
            result[key + delta] = value
    return result


def events_through(analysis: StoreAnalysis, line: int) -> int:
    """How many events the store holds up to and including `line` (snapshots count what they cover)."""
    if line < 0:
        return 0
    # A view, not a copy (a hover asks this for any line); released at once, so the kinds can grow again.
    with memoryview(analysis.kinds)[: line + 1] as head:
        events = int(np.count_nonzero(np.frombuffer(head, np.uint8) == EVENT))
    return events + sum(int(s["events"]) for at, s in analysis.snapshots.items() if at <= line)
