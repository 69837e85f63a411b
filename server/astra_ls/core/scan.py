"""Turn a block of whole lines into per-line facts: the fast decoder first, the precise path on failure.

Valid lines are decoded and validated in batches by one C call; a batch that fails is halved until the
lines at fault are found, and only those go through `check_line`. The results are plain lists, ready
to be appended to the compact arrays of a `StoreAnalysis`.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from astra_ls.core.facts import raw_id_hash, timestamp_ms
from astra_ls.core.linecheck import BAD, BIG_INT, EVENT, SNAPSHOT_TYPE, LineRules, LineVerdict, check_line
from astra_ls.core.problems import Problem
from astra_ls.schemas.fastpath import FastDecoder

BATCH = 128
LEAF = 4


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
    offsets: list[int] = field(default_factory=list)
    kinds: bytearray = field(default_factory=bytearray)
    type_ids: list[int] = field(default_factory=list)
    timestamps: array[float] = field(default_factory=lambda: array("d"))
    id_hashes: list[int] = field(default_factory=list)
    problems: dict[int, list[Problem]] = field(default_factory=dict)
    snapshots: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add_verdict(self, line: int, offset: int, verdict: LineVerdict, types: TypeTable) -> None:
        self.offsets.append(offset)
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
        self.fast: FastDecoder | None = rules.schema.fast_decoder()
        self._class_ids: dict[type, int] = {}
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
        lengths = ends - starts
        self._lines = (data, starts.tolist(), ends.tolist(), base, first_line)
        too_long = bool((lengths > self.rules.max_line_bytes).any())
        for first in range(0, len(ends), BATCH):
            last = min(first + BATCH, len(ends))
            if self.fast is None or too_long:
                self._slow_range(first, last, out)
            else:
                self._fast_range(first, last, out)

    def _fast_range(self, first: int, last: int, out: ScannedLines) -> None:
        data, starts, ends, _, _ = self._lines
        chunk = data[starts[first] : ends[last - 1]]
        assert self.fast is not None
        try:
            events = self.fast.decoder.decode_lines(chunk)
        except Exception:
            events = None
        suspicious = b"\r" in chunk or BIG_INT.search(chunk) is not None or (first == 0 and self._at_start)
        if events is not None and len(events) == last - first and not suspicious:
            self._add_fast(first, events, out)
        elif last - first <= LEAF:
            for index in range(first, last):
                self._one_line(index, out)
        else:
            middle = (first + last) // 2
            self._fast_range(first, middle, out)
            self._fast_range(middle, last, out)

    @property
    def _at_start(self) -> bool:
        return self._lines[3] == 0  # a BOM can only be meaningful at the file's start

    def _one_line(self, index: int, out: ScannedLines) -> None:
        data, starts, ends, _, _ = self._lines
        raw = data[starts[index] : ends[index]]
        if self.fast is not None and b"\r" not in raw and not BIG_INT.search(raw) and raw[:3] != b"\xef\xbb\xbf":
            try:
                event = self.fast.decoder.decode(raw)
            except Exception:
                event = None
            if event is not None:
                self._add_fast(index, [event], out)
                return
        self._add_slow(index, out)

    def _slow_range(self, first: int, last: int, out: ScannedLines) -> None:
        for index in range(first, last):
            self._add_slow(index, out)

    def _add_slow(self, index: int, out: ScannedLines) -> None:
        data, starts, ends, base, first_line = self._lines
        verdict = check_line(data[starts[index] : ends[index]], first_line + index, self.rules)
        out.add_verdict(first_line + index, base + starts[index], verdict, self.types)

    def _add_fast(self, first: int, events: list[Any], out: ScannedLines) -> None:
        assert self.fast is not None
        _, starts, _, base, _ = self._lines
        type_ids = self._type_ids(events)
        if self._snapshot_id in type_ids:  # a generic decoder lets snapshots through: judge them precisely
            for offset, event in enumerate(events):
                if type_ids[offset] == self._snapshot_id:
                    self._add_slow(first + offset, out)
                else:
                    self._add_fast(first + offset, [event], out)
            return
        count = len(events)
        out.offsets.extend(base + s for s in starts[first : first + count])
        out.kinds.extend(bytes(count))  # EVENT == 0
        out.type_ids.extend(type_ids)
        out.timestamps.extend(self._timestamps(events))
        out.id_hashes.extend([raw_id_hash(e.id) for e in events])

    def _type_ids(self, events: list[Any]) -> list[int]:
        assert self.fast is not None
        if not self.fast.tagged:
            return [self.types.id_of(self.fast.type_name(e)) for e in events]
        ids = self._class_ids
        result = []
        for event in events:
            kind = type(event)
            found = ids.get(kind)
            if found is None:
                found = ids[kind] = self.types.id_of(self.fast.type_name(event))
            result.append(found)
        return result

    def _timestamps(self, events: list[Any]) -> array[float]:
        values = [e.timestamp for e in events]
        try:
            if all(type(v) is float for v in values):
                return array("d", values)
        except (TypeError, OverflowError):
            pass
        return array("d", [timestamp_ms(v) for v in values])


assert EVENT == 0 and BAD == 3
