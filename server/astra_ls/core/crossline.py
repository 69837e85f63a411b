"""Checks that need more than one line: duplicate ids and timestamps that go backwards.

Both keep compact indexes so an append costs only the new events: duplicate ids look new hashes up in
a sorted array plus a small dict of recent ids; order compares with the last timestamp seen. An edit
costs the ids that left or came and the timestamps next to it.
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

    def saved(self) -> tuple[np.ndarray, dict[int, int]]:
        """What `restore` needs: the sorted distinct hashes (recent ones included) and the repeats."""
        recent = np.array(list(self._recent), np.int64)
        return (np.union1d(self._sorted, recent) if len(recent) else self._sorted), self.duplicates

    def restore(self, hashes: array[int], event_mask: np.ndarray, known: np.ndarray,
                duplicates: dict[int, int]) -> None:
        """The index `saved` gave, over these per-line hashes: no sort of a million ids again."""
        self._hashes, self._mask = hashes, event_mask
        self._sorted, self.duplicates, self._recent = known, duplicates, {}

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

    def splice(self, first: int, old_end: int, new_count: int, old_ids: list[int], hashes: array[int],
               event_mask: np.ndarray) -> None:
        """Carry the index over an edit that replaced lines [first, old_end) (whose event ids were
        `old_ids`) by `new_count` lines, `hashes` and `event_mask` being already up to date. Only the ids
        that left or came in are looked up again."""
        self._hashes, self._mask = hashes, event_mask
        delta = new_count - (old_end - first)
        values = np.frombuffer(hashes, np.int64) if len(hashes) else np.empty(0, np.int64)
        came = values[first : first + new_count][event_mask[first : first + new_count]].tolist()
        touched = {key for key in (*old_ids, *came) if key != NO_ID}
        duplicates: dict[int, int] = {}
        for line, first_line in self.duplicates.items():
            moved = line + delta if line >= old_end else line
            if not first <= line < old_end and hashes[moved] not in touched:
                duplicates[moved] = first_line + delta if first_line >= old_end else first_line
        self._add_known(list(self._recent))
        self._recent = {}
        if touched:
            keys = np.fromiter(touched, np.int64, len(touched))
            first_of: dict[int, int] = {}
            for line in np.flatnonzero(event_mask[: len(values)] & np.isin(values, keys)).tolist():
                key = hashes[line]
                if key in first_of:
                    duplicates[line] = first_of[key]
                else:
                    first_of[key] = line
            self._drop_known([key for key in touched if key not in first_of])
            self._add_known(list(first_of))
        self.duplicates = duplicates

    def _add_known(self, keys: list[int]) -> None:
        if keys and not len(self._sorted):
            self._sorted = np.unique(np.array(keys, np.int64))
        elif keys:
            wanted = np.unique(np.array(keys, np.int64))
            at = np.searchsorted(self._sorted, wanted)
            present = (at < len(self._sorted)) & (self._sorted[np.minimum(at, len(self._sorted) - 1)] == wanted)
            self._sorted = np.insert(self._sorted, at[~present], wanted[~present])

    def _drop_known(self, keys: list[int]) -> None:
        if keys and len(self._sorted):
            gone = np.array(keys, np.int64)
            at = np.minimum(np.searchsorted(self._sorted, gone), len(self._sorted) - 1)
            self._sorted = np.delete(self._sorted, at[self._sorted[at] == gone])

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

    def splice(self, first: int, old_end: int, new_count: int, times: array[float], event_mask: np.ndarray) -> None:
        """Carry the index over an edit that replaced lines [first, old_end) by `new_count` lines (`times`
        and `event_mask` already up to date): only the new lines and the first event after them are
        compared again."""
        delta, new_end = new_count - (old_end - first), first + new_count
        backwards: dict[int, int] = {}
        for line, previous in self.backwards.items():
            if line < first:
                backwards[line] = previous
            elif line >= old_end:
                backwards[line + delta] = previous + delta if previous >= old_end else previous
        timed = _Timed(times, event_mask)
        line = timed.last_before(first)
        stamp = times[line] if line >= 0 else math.nan
        for index in range(first, new_end):
            if timed.at(index):
                if times[index] < stamp:
                    backwards[index] = line
                line, stamp = index, times[index]
        after = timed.first_from(new_end)
        if after < 0:
            self.last_line, self.last_time = line, stamp
        else:
            backwards.pop(after, None)
            if times[after] < stamp:
                backwards[after] = line
            self.last_line += delta if self.last_line >= old_end else 0
        self.backwards = backwards

    def saved(self) -> tuple[dict[int, int], float, int]:
        return self.backwards, self.last_time, self.last_line

    def restore(self, backwards: dict[int, int], last_time: float, last_line: int) -> None:
        self.backwards, self.last_time, self.last_line = backwards, last_time, last_line

    def add(self, line: int, stamp: float) -> None:
        if math.isnan(stamp):
            return
        if stamp < self.last_time:
            self.backwards[line] = self.last_line
        self.last_time, self.last_line = stamp, line


class _Timed:
    """Finds the nearest events with a timestamp around a line, looking at a growing window of lines."""

    def __init__(self, times: array[float], event_mask: np.ndarray) -> None:
        self.values = np.frombuffer(times, np.float64) if len(times) else np.empty(0)
        self.mask = event_mask[: len(self.values)]

    def at(self, line: int) -> bool:
        return bool(self.mask[line]) and not math.isnan(self.values[line])

    def _window(self, low: int, high: int) -> np.ndarray:
        found: np.ndarray = np.flatnonzero(self.mask[low:high] & ~np.isnan(self.values[low:high])) + low
        return found

    def last_before(self, line: int) -> int:
        high, span = min(line, len(self.values)), 64
        while high > 0:
            low = max(0, high - span)
            found = self._window(low, high)
            if len(found):
                return int(found[-1])
            high, span = low, span * 4
        return -1

    def first_from(self, line: int) -> int:
        low, span = line, 64
        while low < len(self.values):
            high = min(len(self.values), low + span)
            found = self._window(low, high)
            if len(found):
                return int(found[0])
            low, span = high, span * 4
        return -1
