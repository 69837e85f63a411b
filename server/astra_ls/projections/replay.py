"""Time travel: the projected state after any line, through checkpoints instead of a replay from line 1.

Checkpoints are taken every `every` events on the way through (see `folds` for what one holds). When
they outgrow their memory budget every other one is dropped and the spacing doubles, so the work per
query stays bounded by the spacing and the memory by the budget.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Any

import msgspec

from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.core.linecheck import BOM, EVENT, SNAPSHOT
from astra_ls.projections.base import Event, Projector, State
from astra_ls.projections.folds import Fold, resume, start

READ_SPAN = 4 * 1024 * 1024
_decode = msgspec.json.Decoder().decode


class Replayer:
    def __init__(self, projector: Projector, every: int = 1024, budget: int = 64 * 1024 * 1024) -> None:
        self.projector = projector
        self.every = every
        self.budget = budget
        self._lines: list[int] = []  # sorted lines with a checkpoint (state after that line)
        self._kept: dict[int, tuple[Any, int]] = {}  # line -> (checkpoint, its cost in bytes)
        self._bytes = 0

    def invalidate_from(self, line: int) -> None:
        """Forget checkpoints at or after `line` (those lines changed)."""
        cut = bisect.bisect_left(self._lines, line)
        for gone in self._lines[cut:]:
            self._bytes -= self._kept.pop(gone)[1]
        del self._lines[cut:]

    def state_after(self, analysis: StoreAnalysis, read: ReadRange, line: int) -> State:
        """The state after line `line` (0-based; -1 for the initial state).

        It may share parts with the checkpoints: read it, never change it."""
        line = min(line, analysis.line_count - 1)
        first, fold = self._start(analysis, line)
        since = 0
        for index, event in events(analysis, read, first + 1, line + 1):
            if analysis.kinds[index] == SNAPSHOT:
                fold.restart(event["state"])
            else:
                fold.apply(event)
            since += 1
            if since >= self.every:
                self._keep(index, fold)
                since = 0
        return fold.state

    def _start(self, analysis: StoreAnalysis, line: int) -> tuple[int, Fold]:
        at = bisect.bisect_right(self._lines, line) - 1
        snapshot = max((s for s in analysis.snapshots if s <= line), default=-1)
        if at >= 0 and self._lines[at] >= snapshot:
            found = self._lines[at]
            return found, resume(self.projector, self._kept[found][0])
        if snapshot >= 0:
            return snapshot, start(self.projector, analysis.snapshots[snapshot]["state"], private=False)
        return -1, start(self.projector, self.projector.initial(), private=True)

    def _keep(self, line: int, fold: Fold) -> None:
        if line in self._kept:
            return
        kept = fold.checkpoint()
        bisect.insort(self._lines, line)
        self._kept[line] = kept
        self._bytes += kept[1]
        while self._bytes > self.budget and len(self._lines) > 1:
            for gone in self._lines[1::2]:
                self._bytes -= self._kept.pop(gone)[1]
            self._lines = self._lines[::2]
            self.every *= 2


def events(analysis: StoreAnalysis, read: ReadRange, first: int, end: int) -> Iterator[tuple[int, Event]]:
    """The events and snapshot records of lines [first, end), decoded, read in spans of READ_SPAN bytes."""
    offsets, kinds = analysis.offsets, analysis.kinds
    index = first
    while index < end:
        span_start = offsets[index]
        stop = max(index + 1, bisect.bisect_left(offsets, span_start + READ_SPAN, index, end))
        last_start, last_length = analysis.line_span(stop - 1)
        data = read(span_start, last_start + last_length - span_start)
        for at in range(index, stop):
            if kinds[at] != EVENT and kinds[at] != SNAPSHOT:
                continue
            begin = offsets[at] - span_start
            finish = offsets[at + 1] - 1 - span_start if at + 1 < stop else len(data)
            yield at, _decode(data[begin:finish].removeprefix(BOM))
        index = stop
