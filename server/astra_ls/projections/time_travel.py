"""Time travel by time, as the original design's `replayTo` defines it: the state after every event whose
timestamp is at or before T, folded in file order; events without a timestamp are not folded.

On a store written in time order that is the state after the last event at or before T, served by the
checkpoints as any line is. On a store that is not (a writer that appends a side chain after later
events), the prefix up to the first event past T still comes from the checkpoints, and only the lines
after it are folded one by one, skipping those past T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.core.linecheck import EVENT, SNAPSHOT
from astra_ls.projections.base import State
from astra_ls.projections.replay import Replayer


@dataclass(frozen=True, slots=True)
class TimedState:
    state: State
    last_line: int  # the last line folded in (0-based; -1 when none was)
    events: int  # events folded in (a snapshot counts the events it holds)
    skipped: int  # events before `last_line` left out: later than T, or without a timestamp


def _times(analysis: StoreAnalysis) -> np.ndarray:
    return np.frombuffer(analysis.timestamps, np.float64) if len(analysis.timestamps) else np.empty(0)


def out_of_order_events(analysis: StoreAnalysis) -> int:
    """Events whose timestamp is earlier than the previous timed event's (what ASTRA021 flags)."""
    if analysis.rules.ordered_timestamps:
        return len(analysis.order.backwards)  # kept up to date by every scan
    kinds = np.frombuffer(analysis.kinds, np.uint8)
    times = _times(analysis)
    stamps = times[(kinds == EVENT) & ~np.isnan(times)]
    return int(np.count_nonzero(stamps[1:] < stamps[:-1]))


def state_at_time(replayer: Replayer, analysis: StoreAnalysis, read: ReadRange, moment: float) -> TimedState:
    kinds = np.frombuffer(analysis.kinds, np.uint8)
    folded = (kinds == EVENT) | (kinds == SNAPSHOT)
    included = folded & (_times(analysis) <= moment)  # NaN (no timestamp) compares false: left out
    chosen = np.flatnonzero(included)
    last = int(chosen[-1]) if len(chosen) else -1
    left_out = np.flatnonzero(folded[: last + 1] & ~included[: last + 1])
    events = _events_in(analysis, chosen, kinds)
    if not len(left_out):  # in time order up to T: a prefix of the file, as fast as any line
        return TimedState(replayer.state_after(analysis, read, last), last, events, 0)
    skipped = _events_in(analysis, left_out, kinds)
    state = replayer.state_selected(analysis, read, int(left_out[0]), last, included)
    return TimedState(state, last, events, skipped)


def _events_in(analysis: StoreAnalysis, lines: np.ndarray, kinds: np.ndarray) -> int:
    snapshots = sum(int(analysis.snapshots[line]["events"]) for line in lines[kinds[lines] == SNAPSHOT].tolist())
    return int(np.count_nonzero(kinds[lines] == EVENT)) + snapshots
