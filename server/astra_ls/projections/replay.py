"""Time travel: the projected state after any line, through checkpoints instead of a replay from line 1.

Checkpoints are serialised states taken every `every` events on the way through. When they outgrow
their memory budget every other one is dropped and the spacing doubles, so the work per query stays
bounded by the spacing and the memory by the budget.
"""

from __future__ import annotations

import bisect
from typing import Any

import msgspec

from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.core.facts import canonical_json
from astra_ls.core.linecheck import BOM, EVENT, SNAPSHOT
from astra_ls.projections.base import Projector, State

READ_SPAN = 4 * 1024 * 1024


class Replayer:
    def __init__(self, projector: Projector, every: int = 1024, budget: int = 64 * 1024 * 1024) -> None:
        self.projector = projector
        self.every = every
        self.budget = budget
        self._lines: list[int] = []  # sorted lines with a checkpoint (state after that line)
        self._states: dict[int, bytes] = {}
        self._bytes = 0

    def invalidate_from(self, line: int) -> None:
        """Forget checkpoints at or after `line` (those lines changed)."""
        cut = bisect.bisect_left(self._lines, line)
        for gone in self._lines[cut:]:
            self._bytes -= len(self._states.pop(gone))
        del self._lines[cut:]

    def state_after(self, analysis: StoreAnalysis, read: ReadRange, line: int) -> State:
        """The state after line `line` (0-based; -1 for the initial state)."""
        line = min(line, analysis.line_count - 1)
        start, state = self._start(analysis, line)
        since = 0
        for index, event in self._events(analysis, read, start + 1, line + 1):
            if analysis.kinds[index] == SNAPSHOT:
                state = _copy(event["state"])
            else:
                state = self.projector.apply(state, event)
            since += 1
            if since >= self.every:
                self._keep(index, state)
                since = 0
        return state

    def _start(self, analysis: StoreAnalysis, line: int) -> tuple[int, State]:
        at = bisect.bisect_right(self._lines, line) - 1
        snapshot = max((s for s in analysis.snapshots if s <= line), default=-1)
        if at >= 0 and self._lines[at] >= snapshot:
            found = self._lines[at]
            return found, msgspec.json.decode(self._states[found])
        if snapshot >= 0:
            return snapshot, _copy(analysis.snapshots[snapshot]["state"])
        return -1, self.projector.initial()

    def _events(self, analysis: StoreAnalysis, read: ReadRange, first: int, end: int):  # type: ignore[no-untyped-def]
        index = first
        while index < end:
            stop = index
            span_start = analysis.offsets[index]
            while stop < end and analysis.offsets[stop] - span_start < READ_SPAN:
                stop += 1
            last_start, last_length = analysis.line_span(stop - 1)
            data = read(span_start, last_start + last_length - span_start)
            for offset in range(index, stop):
                if analysis.kinds[offset] not in (EVENT, SNAPSHOT):
                    continue
                begin, length = analysis.line_span(offset)
                raw = data[begin - span_start : begin - span_start + length].removeprefix(BOM)
                yield offset, msgspec.json.decode(raw)
            index = stop

    def _keep(self, line: int, state: State) -> None:
        if line in self._states:
            return
        blob = canonical_json(state)
        bisect.insort(self._lines, line)
        self._states[line] = blob
        self._bytes += len(blob)
        while self._bytes > self.budget and len(self._lines) > 1:
            for gone in self._lines[1::2]:
                self._bytes -= len(self._states.pop(gone))
            self._lines = self._lines[::2]
            self.every *= 2


def _copy(state: Any) -> State:
    copied: State = msgspec.json.decode(canonical_json(state))
    return copied
