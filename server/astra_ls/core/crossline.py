"""Checks that need more than one line: duplicate ids and timestamps that go backwards.

Both keep compact indexes so an append costs only the new events: duplicate ids look new hashes up in
a sorted array plus a small dict of recent ids; order compares with the last timestamp seen.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

from astra_ls.core.facts import NO_ID


class DuplicateIds:
    """line -> first line with the same id, for every later occurrence.

    Keeps only the sorted distinct id hashes (8 bytes per event): the first line of a repeated id is
    looked up in the per-line hashes when a repeat actually happens, which is rare.
    """

    def __init__(self) -> None:
        self.duplicates: dict[int, int] = {}
        self._sorted = np.empty(0, np.int64)
        self._recent: dict[int, int] = {}
        self._hashes: array[int] = array("q")
        self._mask = np.empty(0, bool)

    def rebuild(self, hashes: array[int], event_mask: np.ndarray) -> None:
        self._hashes, self._mask = hashes, event_mask
        values = np.frombuffer(hashes, np.int64) if len(hashes) else np.empty(0, np.int64)
        wanted = event_mask[: len(values)] & (values != NO_ID)
        keys = values[wanted]
        keys.sort()  # in place: at a million events every temporary copy is 8 MB of peak memory
        repeated = keys[1:] == keys[:-1]
        repeats = np.unique(keys[1:][repeated])
        self.duplicates = {}
        if len(repeats):
            lines = np.flatnonzero(wanted & np.isin(values, repeats))
            first_of: dict[int, int] = {}
            for line, key in zip(lines.tolist(), values[lines].tolist(), strict=True):
                if key in first_of:
                    self.duplicates[line] = first_of[key]
                else:
                    first_of[key] = line
        self._sorted = keys[np.concatenate(([True], ~repeated))] if len(repeats) else keys
        self._recent = {}

    def add(self, line: int, key: int) -> None:
        if key == NO_ID:
            return
        first = self._recent.get(key)
        if first is None:
            at = int(np.searchsorted(self._sorted, key))
            if at < len(self._sorted) and self._sorted[at] == key:
                first = self._first_line(key)
        if first is None:
            self._recent[key] = line
        else:
            self.duplicates[line] = first

    def _first_line(self, key: int) -> int:
        values = np.frombuffer(self._hashes, np.int64)[: len(self._mask)]
        return int(np.flatnonzero(self._mask[: len(values)] & (values == key))[0])

    def forget_from(self, line: int) -> None:
        """Drop everything at or after `line` (the tail is about to be rescanned)."""
        self.duplicates = {k: v for k, v in self.duplicates.items() if k < line}
        self._recent = {k: v for k, v in self._recent.items() if v < line}
        if len(self._mask) > line:
            values = np.frombuffer(self._hashes, np.int64)[:line]
            self._mask = self._mask[:line].copy()
            keys = np.sort(values[self._mask & (values != NO_ID)])
            self._sorted = np.unique(keys)


REBUILD_CHUNK = 1 << 16


class TimeOrder:
    """line -> previous event line, for every event whose timestamp is earlier than the one before it."""

    def __init__(self) -> None:
        self.backwards: dict[int, int] = {}
        self.last_time = math.nan
        self.last_line = -1

    def rebuild(self, times: array[float], event_mask: np.ndarray) -> None:
        self.backwards, self.last_time, self.last_line = {}, math.nan, -1
        values = np.frombuffer(times, np.float64) if len(times) else np.empty(0)
        for start in range(0, len(values), REBUILD_CHUNK):  # chunks bound the temporaries' size
            self._rebuild_chunk(values[start : start + REBUILD_CHUNK], event_mask[start : start + REBUILD_CHUNK],
                                start)

    def _rebuild_chunk(self, values: np.ndarray, event_mask: np.ndarray, start: int) -> None:
        lines = np.flatnonzero(event_mask[: len(values)] & ~np.isnan(values))
        if not len(lines):
            return
        stamps = values[lines]
        if stamps[0] < self.last_time:  # against the last event of the chunk before
            self.backwards[int(lines[0]) + start] = self.last_line
        back = np.flatnonzero(stamps[1:] < stamps[:-1])
        self.backwards.update(zip((lines[back + 1] + start).tolist(), (lines[back] + start).tolist(), strict=True))
        self.last_line, self.last_time = int(lines[-1]) + start, float(stamps[-1])

    def add(self, line: int, stamp: float) -> None:
        if math.isnan(stamp):
            return
        if stamp < self.last_time:
            self.backwards[line] = self.last_line
        self.last_time, self.last_line = stamp, line
