"""Turn a block of whole lines into per-line facts: the fast decoder first, the precise path on failure.

Valid lines are decoded and validated in batches by one C call; a batch that fails is halved until the
lines at fault are found, and only those go through `check_line`. The results are plain lists, ready
to be appended to the compact arrays of a `StoreAnalysis`.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import numpy as np

from astra_ls.core.facts import id_key, timestamp_ms
from astra_ls.core.linecheck import BAD, BOM, EVENT, SNAPSHOT_TYPE, LineRules, LineVerdict, check_line
from astra_ls.core.problems import Problem
from astra_ls.schemas.fastpath import FastDecoder

BATCH = 128
LEAF = 4
SMALL_BLOCK = 16 * 1024
UTF8_WINDOW = 256 * 1024  # bytes validated at a time: the decoded copy is up to 4x its size
_RISKY_NUMBER = re.compile(rb"\d{19}|\d[eE][+-]?\d{3}")  # over-approximates `_risky_numbers`, for short blocks
class TypeTable:
    """Event type names interned to small integers (0: no type)."""

    def __init__(self) -> None:
        self.names: list[str] = [""]
        self._ids: dict[str | None, int] = {None: 0}

    def id_of(self, name: str | None) -> int:
        found = self._ids.get(name)
        if found is None:
            found = self._ids[name] = len(self.names)
            self.names.append(name or "")
        return found


@dataclass(slots=True)
class ScannedLines:
    offsets: array[int] = field(default_factory=lambda: array("q"))  # filled per block, in line order
    kinds: bytearray = field(default_factory=bytearray)
    type_ids: list[int] = field(default_factory=list)
    timestamps: array[float] = field(default_factory=lambda: array("d"))
    id_hashes: list[int] = field(default_factory=list)
    problems: dict[int, list[Problem]] = field(default_factory=dict)
    snapshots: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add_verdict(self, line: int, verdict: LineVerdict, types: TypeTable) -> None:
        self.kinds.append(verdict.kind)
        self.type_ids.append(types.id_of(verdict.type_name))
        self.timestamps.append(verdict.timestamp)
        self.id_hashes.append(verdict.id_hash)
        if verdict.problems:
            self.problems[line] = verdict.problems
        if verdict.kind == 1 and verdict.event is not None:
            self.snapshots[line] = verdict.event


class BlockScanner:
    """Scans blocks for one store; keeps the type table so ids stay stable across blocks."""

    def __init__(self, rules: LineRules, types: TypeTable) -> None:
        self.rules = rules
        self.types = types
        # the derived decoder reads the facts from fields named id and timestamp
        standard = rules.id_field == "id" and rules.time_field == "timestamp"
        self.fast: FastDecoder | None = rules.schema.fast_decoder() if standard else None
        self._class_ids: dict[type, int] = {}
        self._lines: tuple[bytes, list[int], list[int], int, int] = (b"", [], [], 0, 0)
        if self.fast is not None and self.fast.tagged:
            for struct in self.fast.structs:
                tag = struct.__struct_config__.tag
                self._class_ids[struct] = types.id_of(tag if isinstance(tag, str) else None)
        self._snapshot_id = types.id_of(SNAPSHOT_TYPE)

    def scan(self, data: bytes, base: int, first_line: int, out: ScannedLines) -> None:
        """Scan whole lines of `data` (starting at byte `base`, line `first_line`) into `out`."""
        if not data:
            return
        ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
        if len(ends) == 0 or ends[-1] != len(data) - 1:
            ends = np.append(ends, len(data))  # an unterminated tail: its end is the block's end
        starts = np.empty(len(ends), np.int64)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        self._lines = (data, starts.tolist(), ends.tolist(), base, first_line)
        out.offsets.frombytes((starts + base).astype(np.int64).tobytes())
        if self.fast is None:
            self._slow_range(0, len(ends), out)
            return
        if len(data) < SMALL_BLOCK:  # an append or an edit: array set-up would cost more than the lines
            for index in range(len(ends)):
                raw = data[starts[index] : ends[index]]
                if _line_needs_care(raw, self.rules.max_line_bytes):
                    self._add_slow(index, out)
                else:
                    self._one_line(index, out)
            return
        odd = _lines_needing_care(data, ends, ends - starts, self.rules.max_line_bytes, base == 0)
        first = 0
        for line in odd:
            self._fast_batches(first, line, out)
            self._add_slow(line, out)
            first = line + 1
        self._fast_batches(first, len(ends), out)

    def _fast_batches(self, first: int, last: int, out: ScannedLines) -> None:
        for start in range(first, last, BATCH):
            self._fast_range(start, min(start + BATCH, last), out)

    def _fast_range(self, first: int, last: int, out: ScannedLines) -> None:
        data, starts, ends, _, _ = self._lines
        assert self.fast is not None
        try:
            events = self.fast.decoder.decode_lines(data[starts[first] : ends[last - 1]])
        except Exception:
            events = None
        if events is not None and len(events) == last - first:
            self._add_fast(first, events, out)
        elif last - first <= LEAF:
            for index in range(first, last):
                self._one_line(index, out)
        else:
            middle = (first + last) // 2
            self._fast_range(first, middle, out)
            self._fast_range(middle, last, out)

    def _one_line(self, index: int, out: ScannedLines) -> None:
        data, starts, ends, _, _ = self._lines
        assert self.fast is not None
        try:
            event = self.fast.decoder.decode(data[starts[index] : ends[index]])
        except Exception:
            self._add_slow(index, out)
        else:
            self._add_fast(index, [event], out)

    def _slow_range(self, first: int, last: int, out: ScannedLines) -> None:
        for index in range(first, last):
            self._add_slow(index, out)

    def _add_slow(self, index: int, out: ScannedLines) -> None:
        data, starts, ends, _, first_line = self._lines
        verdict = check_line(data[starts[index] : ends[index]], first_line + index, self.rules)
        out.add_verdict(first_line + index, verdict, self.types)

    def _add_fast(self, first: int, events: list[Any], out: ScannedLines) -> None:
        assert self.fast is not None
        type_ids = self._type_ids(events)
        if self._snapshot_id in type_ids:  # a generic decoder lets snapshots through: judge them precisely
            for offset, event in enumerate(events):
                if type_ids[offset] == self._snapshot_id:
                    self._add_slow(first + offset, out)
                else:
                    self._add_fast(first + offset, [event], out)
            return
        count = len(events)
        out.kinds.extend(bytes(count))  # EVENT == 0
        out.type_ids.extend(type_ids)
        out.timestamps.extend(_timestamps(list(map(_TIME, events))))
        out.id_hashes.extend(_id_keys(list(map(_ID, events))))

    def _type_ids(self, events: list[Any]) -> list[int]:
        assert self.fast is not None
        if not self.fast.tagged:
            return [self.types.id_of(self.fast.type_name(e)) for e in events]
        return list(map(self._class_ids.__getitem__, map(type, events)))


_TIME = attrgetter("timestamp")
_ID = attrgetter("id")


def _timestamps(values: list[Any]) -> array[float]:
    if set(map(type, values)) <= {float}:
        return array("d", values)
    return array("d", [timestamp_ms(v) for v in values])


def _id_keys(values: list[Any]) -> list[int]:
    if set(map(type, values)) <= {str}:
        return list(map(hash, values))
    return [id_key(v) for v in values]


def _line_needs_care(raw: bytes, max_line: int) -> bool:
    """`_lines_needing_care` for one line, without arrays (a BOM fails the framing test)."""
    if len(raw) > max_line or b"\r" in raw or raw[:1] != b"{" or raw[-1:] != b"}":
        return True
    if _RISKY_NUMBER.search(raw):
        return True
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False


def _lines_needing_care(data: bytes, ends: np.ndarray, lengths: np.ndarray, max_line: int,
                        at_file_start: bool) -> list[int]:
    """Lines the fast decoder would accept but that have something to report, or that it may misjudge:
    a CR, a long number or a huge exponent, a BOM at the file's start, an oversized or unframed line,
    bytes that are not UTF-8. Found with whole-block array scans, not per line."""
    view = np.frombuffer(data, np.uint8)
    positions = [np.flatnonzero(view == 13) if b"\r" in data else np.empty(0, np.int64), *_risky_numbers(view)]
    marks = np.flatnonzero(lengths > max_line).tolist()
    for found in positions:
        marks.extend(np.searchsorted(ends, found).tolist())
    if at_file_start and data.startswith(BOM):
        marks.append(0)
    marks.extend(_unframed_lines(data, ends, lengths))
    marks.extend(_invalid_utf8_lines(data, ends))
    return sorted(set(marks))


_NUMBER_END = np.zeros(256, bool)
_NUMBER_END[list(b",}] \t\r\n")] = True
_NUMBER_START = np.zeros(256, bool)
_NUMBER_START[list(b":,[ \t-.")] = True


def _risky_numbers(view: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions inside runs of 19+ digits (maybe beyond 64 bits) and of numbers with a 3-digit exponent (maybe
    beyond a double): the decoder skips unknown fields without range checks, the precise path judges them.
    An exponent counts only where a JSON number can be (a structural character before its mantissa and
    after its exponent), so hex ids like "3e7229c5" do not send their lines down the slow path.

    Masks are combined before positions are listed: a block holds many digits and many letters e, and
    listing all of them costs more than the rest of the scan."""
    size = len(view)
    digit = (view - 48) < 10  # wraps around below '0'
    long_runs = np.flatnonzero(_starts_of_runs(digit, 19))
    if size < 6:
        return long_runs, np.empty(0, np.int64)
    after_e = view[2:-3]
    signed = (after_e == ord("+")) | (after_e == ord("-"))
    maybe = ((view[1:-4] | 0x20) == ord("e")) & digit[:-5] & (digit[2:-3] | signed)
    exponent = np.flatnonzero(maybe) + 1
    first = exponent + 1 + ((view[exponent + 1] == ord("+")) | (view[exponent + 1] == ord("-")))
    three = digit[first] & digit[np.minimum(first + 1, size - 1)] & digit[np.minimum(first + 2, size - 1)]
    exponent, first = exponent[three], first[three]
    if not len(exponent):
        return long_runs, exponent
    after, before = _walk_digits(digit, first + 3, 1), _walk_digits(digit, exponent - 1, -1)
    if after is None or before is None:  # a very long digit run: find every run's ends at once instead
        after, before = _digit_run_bounds(digit, first, exponent)
    number = _NUMBER_END[view[np.minimum(after, size - 1)]] & _NUMBER_START[view[np.maximum(before, 0)]]
    return long_runs, exponent[number]


def _starts_of_runs(digit: np.ndarray, length: int) -> np.ndarray:
    """Mask of the positions where `length` digits in a row start (doubling: a few passes, not `length`)."""
    covered, run = digit, 1
    while run * 2 <= length:
        covered = covered[:-run] & covered[run:]
        run *= 2
    if run < length:
        covered = covered[: -(length - run)] & covered[length - run :]
    return covered


WALK_LIMIT = 32


def _walk_digits(digit: np.ndarray, positions: np.ndarray, step: int) -> np.ndarray | None:
    """Each position moved by `step` while it is on a digit: the first non-digit after (or before) a run.
    None when some run is longer than WALK_LIMIT."""
    at, size = positions.copy(), len(digit)
    for _ in range(WALK_LIMIT):
        inside = (at >= 0) & (at < size)
        moving = inside & digit[np.clip(at, 0, size - 1)]
        if not moving.any():
            return at
        at[moving] += step
    return None


def _digit_run_bounds(digit: np.ndarray, first: np.ndarray, exponent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each exponent: where the digit run of its first exponent digit ends, and the position before the
    digit run that ends just before it starts."""
    edges = np.diff(digit.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    run_starts, run_ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    after = run_ends[np.searchsorted(run_starts, first, "right") - 1]
    before = run_starts[np.searchsorted(run_ends, exponent, "left")] - 1
    return after, before


_OPEN, _CLOSE = ord("{"), ord("}")


def _unframed_lines(data: bytes, ends: np.ndarray, lengths: np.ndarray) -> list[int]:
    """Lines that do not start with '{' and end with '}' (blank, padded, not objects, torn).

    `decode_lines` counts values, not lines: a line holding two values next to a blank line, or to a value
    spread over two lines, would keep the count right. A value only continues onto the next line after
    ':', '[' or ',', so when every line of a batch starts with '{' and ends with '}', one value per line
    is exactly what a matching count means.
    """
    view = np.frombuffer(data, np.uint8)
    first = view[np.minimum(ends - lengths, len(view) - 1)]
    last = view[np.maximum(ends - 1, 0)]
    return np.flatnonzero((lengths == 0) | (first != _OPEN) | (last != _CLOSE)).tolist()


def _invalid_utf8_lines(data: bytes, ends: np.ndarray) -> list[int]:
    """Lines with bytes that are not UTF-8, which the decoder does not check in fields it skips."""
    if data.isascii():
        return []
    found: list[int] = []
    view = memoryview(data)
    position = 0
    while position < len(data):
        # a window ends at a line end, so a character never straddles two; it bounds the decoded copy
        stop = int(ends[min(int(np.searchsorted(ends, position + UTF8_WINDOW)), len(ends) - 1)]) + 1
        try:
            str(view[position:stop], "utf-8")
            position = stop
        except UnicodeDecodeError as error:
            line = int(np.searchsorted(ends, position + error.start))
            found.append(line)
            if line + 1 >= len(ends):
                break
            position = int(ends[line]) + 1
    return found


assert EVENT == 0 and BAD == 3
