"""Turn a block of whole lines into per-line facts: the fast decoder first, the precise path on failure.

Valid lines are decoded and validated in batches by one C call; a batch that fails is halved until the
lines at fault are found, and only those go through `check_line`. The results are plain lists, ready
to be appended to the compact arrays of a `StoreAnalysis`.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import numpy as np

from astra_ls.core.care import line_needs_care, lines_needing_care
from astra_ls.core.facts import SECONDS_FROM, SECONDS_TO, id_keys, time_ms
from astra_ls.core.linecheck import BAD, EVENT, SNAPSHOT_TYPE, LineRules, LineVerdict, check_line
from astra_ls.core.problems import Problem
from astra_ls.schemas.fastpath import FastDecoder

BATCH = 128
LEAF = 4
DENSE_FAILURES = 3  # failures in one batch after which its remaining lines are decoded one by one
SMALL_BLOCK = 16 * 1024
# msgspec's errors carry no structured position, only their message: "... - at `$[i]...`" (the i-th value
# of a batch failed validation) or "... (byte n)" (the JSON broke at byte n). The formats are pinned with
# msgspec's version range in pyproject.toml and checked by tests/engine/test_decoder_messages.py.
_AT_VALUE = re.compile(r"- at `\$\[(\d+)\]")
_AT_BYTE = re.compile(r"\(byte (\d+)\)$")


def where_batch_failed(error: Exception) -> tuple[str, int] | None:
    """("value", i) or ("byte", n) from a msgspec decode error on a batch of lines; None when it does not say."""
    message = str(error)
    if (value := _AT_VALUE.search(message)) is not None:
        return "value", int(value[1])
    if (byte := _AT_BYTE.search(message)) is not None:
        return "byte", int(byte[1])
    return None


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
    # arrays, not lists: an analysis appends them with one copy instead of converting every item again
    type_ids: array[int] = field(default_factory=lambda: array("H"))
    timestamps: array[float] = field(default_factory=lambda: array("d"))
    id_hashes: array[int] = field(default_factory=lambda: array("q"))
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


_NO_LINES: tuple[bytes, list[int], list[int], int, int] = (b"", [], [], 0, 0)


class BlockScanner:
    """Scans blocks for one store; keeps the type table so ids stay stable across blocks."""

    def __init__(self, rules: LineRules, types: TypeTable) -> None:
        self.rules = rules
        self.types = types
        # the derived decoder reads the facts from top-level fields named id, timestamp and type; other
        # field paths are read on the precise path
        self.fast: FastDecoder | None = rules.schema.fast_decoder() if rules.standard else None
        self._class_ids: dict[type, int] = {}
        self._lines = _NO_LINES
        if self.fast is not None and self.fast.tagged:
            for struct in self.fast.structs:
                tag = struct.__struct_config__.tag
                self._class_ids[struct] = types.id_of(tag if isinstance(tag, str) else None)
        self._snapshot_id = types.id_of(SNAPSHOT_TYPE)

    def scan(self, data: bytes, base: int, first_line: int, out: ScannedLines) -> None:
        """Scan whole lines of `data` (starting at byte `base`, line `first_line`) into `out`."""
        if not data:
            return
        try:
            self._scan(data, base, first_line, out)
        finally:
            self._lines = _NO_LINES  # the block and its line bounds are not kept while the next is read

    def _scan(self, data: bytes, base: int, first_line: int, out: ScannedLines) -> None:
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
                if line_needs_care(raw, self.rules.max_line_bytes):
                    self._add_slow(index, out)
                else:
                    self._one_line(index, out)
            return
        odd = lines_needing_care(data, ends, ends - starts, self.rules.max_line_bytes, base == 0)
        first = 0
        for line in odd:
            self._fast_batches(first, line, out)
            self._add_slow(line, out)
            first = line + 1
        self._fast_batches(first, len(ends), out)

    def _fast_batches(self, first: int, last: int, out: ScannedLines, failures: int = 0) -> None:
        for start in range(first, last, BATCH):
            self._fast_range(start, min(start + BATCH, last), out, failures)

    def _fast_range(self, first: int, last: int, out: ScannedLines, failures: int = 0) -> None:
        """Decode lines [first, last) as one batch; on a failure, the line at fault (where the decoder's
        message says, else found by halving) takes the precise path. `failures` so far in this batch: past
        a few, the rest is decoded line by line (a batch of bad lines must not be decoded over and over)."""
        data, starts, ends, _, _ = self._lines
        assert self.fast is not None
        try:
            events = self.fast.decoder.decode_lines(data[starts[first] : ends[last - 1]])
        except Exception as error:
            events = None
            failed = self._failed_line(error, first, last)
            if failed is not None:
                if failed > first:
                    self._fast_range(first, failed, out, failures)  # decoded before the failure: decodes again
                self._add_slow(failed, out)
                if failures + 1 < DENSE_FAILURES:
                    self._fast_batches(failed + 1, last, out, failures + 1)
                else:
                    for index in range(failed + 1, last):
                        self._one_line(index, out)
                return
        if events is not None and len(events) == last - first:
            self._add_fast(first, events, out)
        elif last - first <= LEAF:
            for index in range(first, last):
                self._one_line(index, out)
        else:
            middle = (first + last) // 2
            self._fast_range(first, middle, out)
            self._fast_range(middle, last, out)

    def _failed_line(self, error: Exception, first: int, last: int) -> int | None:
        """The line of [first, last) the decoder stopped at, from its message (`$[i]`: the i-th value, a
        line here; `(byte n)`: where the JSON broke); None when it does not say. A wrong guess costs time
        only: that line takes the precise path, and the lines around it are decoded again."""
        where = where_batch_failed(error)
        if where is None:
            return None
        if where[0] == "value":
            line = first + where[1]
        else:
            _, starts, ends, _, _ = self._lines
            line = bisect_left(ends, starts[first] + where[1], first, last)
        return line if first <= line < last else None

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
        out.timestamps.extend(_timestamps(list(map(_TIME, events)), self.rules.time_format))
        out.id_hashes.frombytes(id_keys(list(map(_ID, events))).tobytes())

    def _type_ids(self, events: list[Any]) -> list[int]:
        assert self.fast is not None
        if not self.fast.tagged:
            return [self.types.id_of(self.fast.type_name(e)) for e in events]
        return list(map(self._class_ids.__getitem__, map(type, events)))


_TIME = attrgetter("timestamp")
_ID = attrgetter("id")


def _timestamps(values: list[Any], time_format: str) -> array[float]:
    """Epoch ms of a batch's time values: numbers in one numpy pass (with epoch seconds found by their
    range when the format is not declared), anything else one by one."""
    kinds = set(map(type, values))
    if kinds <= {float} and values and (time_format == "epoch_ms" or (time_format == "auto" and (
            min(values) >= SECONDS_TO or max(values) < SECONDS_FROM))):
        return array("d", values)  # the common case (a schema's float field, epoch ms): taken as they are
    if time_format in ("auto", "epoch_ms", "epoch_s") and kinds <= {int, float}:
        try:
            times = np.array(values, np.float64)
        except OverflowError:  # an integer beyond a double's range
            return array("d", [time_ms(v, time_format) for v in values])
        times[~np.isfinite(times)] = np.nan
        if time_format == "epoch_s":
            times *= 1000.0
        elif time_format == "auto":
            times[(times >= SECONDS_FROM) & (times < SECONDS_TO)] *= 1000.0
        return array("d", times.tobytes())
    return array("d", [time_ms(v, time_format) for v in values])


assert EVENT == 0 and BAD == 3
