"""Time travel: the projected state after any line, through checkpoints instead of a replay from line 1.

Checkpoints are taken every `every` events on the way through (see `folds` for what one holds). When
they outgrow their memory budget every other one is dropped and the spacing doubles, so the work per
query stays bounded by the spacing and the memory by the budget.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import numpy as np

from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.core.jsontext import decode
from astra_ls.core.linecheck import BOM, EVENT, SNAPSHOT
from astra_ls.projections.base import Projector, State
from astra_ls.projections.folds import Fold, resume, start
from astra_ls.projections.snapshot_fit import check_snapshot

READ_SPAN = 4 * 1024 * 1024
# A million-event conversation's checkpoints cost about 70 MB at the first spacing (each holds its own
# copy of the growing list of messages: pointers, not the messages).
BUDGET = 128 * 1024 * 1024
STOP_EVERY = 64  # events between two questions to a pass made ahead whether it must give way
_decode = msgspec.json.Decoder().decode


class Replayer:
    def __init__(self, projector: Projector, every: int = 1024, budget: int = BUDGET) -> None:
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
        state = self.state_unless(analysis, read, line, None)
        assert state is not None  # nothing to stop it
        return state

    def state_unless(self, analysis: StoreAnalysis, read: ReadRange, line: int,
                     stop: Callable[[], bool] | None) -> State | None:
        """`state_after`, or None if `stop()` (asked every few events) said to give up first. The
        checkpoints made on the way stay, so asking again goes on from about where this one stopped."""
        line = min(line, analysis.line_count - 1)
        first, fold = self._start(analysis, line)
        return fold.state if self._fold(analysis, read, fold, first + 1, line + 1, stop) else None

    def state_selected(self, analysis: StoreAnalysis, read: ReadRange, first_left_out: int, last: int,
                       included: np.ndarray) -> State:
        """The state after folding lines up to `last` in order, of those from `first_left_out` on only the
        ones `included` (a per-line bool array) says. The prefix before `first_left_out` comes from the
        checkpoints (and leaves new ones); past it the state is no prefix's, so nothing is kept. Private:
        the caller may change it."""
        first, fold = self._start(analysis, first_left_out - 1)
        self._fold(analysis, read, fold, first + 1, first_left_out)
        fold = start(self.projector, fold.state, private=False)  # what follows must not touch a checkpoint
        kinds = analysis.kinds
        for begin, end, data in spans(analysis, read, first_left_out, last + 1):
            base = analysis.offsets[begin]
            for at in range(begin, end):
                if not included[at]:
                    continue
                length = analysis.line_span(at)[1]
                event = _decode(data[analysis.offsets[at] - base : analysis.offsets[at] - base + length]
                                .removeprefix(BOM))
                if kinds[at] == EVENT:
                    fold.apply(event)
                else:
                    fold.restart(event["state"])
        return fold.state

    def extend(self, analysis: StoreAnalysis, read: ReadRange, lines: int, stop: Callable[[], bool]) -> bool:
        """Make checkpoints past the last one, ahead of queries: up to `lines` further, or less if `stop()`
        says so (asked every few events; what was folded up to the latest checkpoint stays). False once
        the last line is covered."""
        last = analysis.line_count - 1
        if self.covered() >= last:
            return False
        end = min(last, self.covered() + lines)
        first, fold = self._start(analysis, end)
        if self._fold(analysis, read, fold, first + 1, end + 1, stop):
            self._keep(end, fold)
        return True

    def _fold(self, analysis: StoreAnalysis, read: ReadRange, fold: Fold, first: int, end: int,
              stop: Callable[[], bool] | None = None) -> bool:
        """Fold lines [first, end) into `fold`, keeping a checkpoint every `every` events (the hot loop).
        False if `stop()` cut it short."""
        offsets, kinds, apply = analysis.offsets, analysis.kinds, fold.apply
        since = 0
        for begin, last, data in spans(analysis, read, first, end):
            base = offsets[begin]
            for at in range(begin, last):
                kind = kinds[at]
                if kind != EVENT and kind != SNAPSHOT:
                    continue
                finish = offsets[at + 1] - 1 - base if at + 1 < last else len(data)
                try:
                    event = _decode(data[offsets[at] - base : finish].removeprefix(BOM))
                except RecursionError:  # nested deeper than msgspec recurses: read in a loop
                    event = decode(data[offsets[at] - base : finish].removeprefix(BOM))
                if kind == EVENT:
                    apply(event)
                else:
                    check_snapshot(self.projector, event, at)
                    fold.restart(event["state"])
                since += 1
                if since >= self.every:
                    self._keep(at, fold)
                    since = 0
                elif stop is not None and not since % STOP_EVERY and stop():
                    return False
        return True

    @property
    def shares(self) -> bool:
        """Checkpoints share their parts (copy-on-write) and cost only what changed."""
        return self.projector.apply_shared is not None

    def covered(self) -> int:
        """The last line with a checkpoint (-1 if none)."""
        return self._lines[-1] if self._lines else -1

    def _start(self, analysis: StoreAnalysis, line: int) -> tuple[int, Fold]:
        at = bisect.bisect_right(self._lines, line) - 1
        snapshot = max((s for s in analysis.snapshots if s <= line), default=-1)
        if at >= 0 and self._lines[at] >= snapshot:
            found = self._lines[at]
            return found, resume(self.projector, self._kept[found][0])
        if snapshot >= 0:
            check_snapshot(self.projector, analysis.snapshots[snapshot], snapshot)
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


def spans(analysis: StoreAnalysis, read: ReadRange, first: int, end: int) -> Iterator[tuple[int, int, bytes]]:
    """Lines [first, end) in runs of about READ_SPAN bytes: (first line, end line, their bytes)."""
    offsets = analysis.offsets
    index = first
    while index < end:
        start = offsets[index]
        stop = max(index + 1, bisect.bisect_left(offsets, start + READ_SPAN, index, end))
        last_start, last_length = analysis.line_span(stop - 1)
        yield index, stop, read(start, last_start + last_length - start)
        index = stop
