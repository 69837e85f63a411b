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
    """line -> first line with the same id, for every later occurrence."""

    def __init__(self) -> None:
        self.duplicates: dict[int, int] = {}
        self._sorted = np.empty(0, np.int64)
        self._first = np.empty(0, np.int32)
        self._recent: dict[int, int] = {}

    def rebuild(self, hashes: array[int], event_mask: np.ndarray) -> None:
        values = np.frombuffer(hashes, np.int64) if len(hashes) else np.empty(0, np.int64)
        lines = np.flatnonzero(event_mask[: len(values)] & (values != NO_ID)).astype(np.int32)
        keys = values[lines]
        del values
        order = np.argsort(keys, kind="stable")
        keys, lines = keys[order], lines[order]
        del order
        repeated = keys[1:] == keys[:-1]
        later = np.flatnonzero(repeated) + 1
        firsts = np.searchsorted(keys, keys[later], "left")  # stable sort: a group starts at its first line
        self.duplicates = {int(lines[i]): int(lines[f]) for i, f in zip(later, firsts, strict=True)}
        unique = np.concatenate(([True], ~repeated)) if len(keys) else np.empty(0, bool)
        self._sorted, self._first = keys[unique], lines[unique]
        self._recent = {}

    def add(self, line: int, key: int) -> None:
        if key == NO_ID:
            return
        first = self._recent.get(key)
        if first is None:
            at = int(np.searchsorted(self._sorted, key))
            if at < len(self._sorted) and self._sorted[at] == key:
                first = int(self._first[at])
        if first is None:
            self._recent[key] = line
        else:
            self.duplicates[line] = first

    def forget_from(self, line: int) -> None:
        """Drop everything at or after `line` (the tail is about to be rescanned)."""
        self.duplicates = {k: v for k, v in self.duplicates.items() if k < line}
        self._recent = {k: v for k, v in self._recent.items() if v < line}
        if len(self._first) and int(self._first.max()) >= line:
            keep = self._first < line
            self._sorted, self._first = self._sorted[keep], self._first[keep]


class TimeOrder:
    """line -> previous event line, for every event whose timestamp is earlier than the one before it."""

    def __init__(self) -> None:
        self.backwards: dict[int, int] = {}
        self.last_time = math.nan
        self.last_line = -1

    def rebuild(self, times: array[float], event_mask: np.ndarray) -> None:
        values = np.frombuffer(times, np.float64) if len(times) else np.empty(0)
        lines = np.flatnonzero(event_mask[: len(values)] & ~np.isnan(values))
        stamps = values[lines]
        back = np.flatnonzero(stamps[1:] < stamps[:-1]) + 1
        self.backwards = {int(lines[i]): int(lines[i - 1]) for i in back}
        self.last_line = int(lines[-1]) if len(lines) else -1
        self.last_time = float(stamps[-1]) if len(lines) else math.nan

    def add(self, line: int, stamp: float) -> None:
        if math.isnan(stamp):
            return
        if stamp < self.last_time:
            self.backwards[line] = self.last_line
        self.last_time, self.last_line = stamp, line
