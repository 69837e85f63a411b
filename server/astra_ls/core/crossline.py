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

SLICE_BITS = 4


class DuplicateIds:
    """line -> first line with the same id, for every later occurrence.

    Keeps only the sorted distinct id hashes (8 bytes per event): the first line of a repeated id is
    looked up in the per-line hashes when a repeat actually happens, which is rare. The hashes may also
    be `short_keys` (4 bytes): then a repeat only says the lines may share an id.
    """

    def __init__(self) -> None:
        self.duplicates: dict[int, int] = {}
        self._sorted = np.empty(0, np.int64)
        self._recent: dict[int, int] = {}
        self._hashes: array[int] = array("q")
        self._mask = np.empty(0, bool)

    def rebuild(self, hashes: array[int], event_mask: np.ndarray | None, keep_known: bool = True) -> None:
        """Index every event's id afresh (without `event_mask`: every line with an id is an event). Without
        `keep_known` the sorted distinct ids are not kept: only the duplicates found now count (a one-off
        check), and later `add`s see no earlier id.

        The ids are sorted a slice at a time (by the top bits of their hashes, so the slices follow each
        other in order): a sorted copy of all of them at once would be 8 more bytes per event at the peak,
        and even the slice of every line, 1 more."""
        values = _keys(hashes)
        known = np.empty(_count_ids(values, event_mask) if keep_known else 0, values.dtype)
        filled, repeats = 0, []
        for top in range(-(1 << (SLICE_BITS - 1)), 1 << (SLICE_BITS - 1)):
            keys = _in_slice(values, event_mask, top)
            keys.sort()
            repeated = keys[1:] == keys[:-1]
            if repeated.any():
                repeats.append(_distinct(keys[1:][repeated]))
                keys = keys[np.concatenate(([True], ~repeated))]
            if keep_known:
                known[filled : filled + len(keys)] = keys
                filled += len(keys)
        self._sorted = known[:filled]
        self.duplicates = _first_lines(values, event_mask, np.concatenate(repeats)) if repeats else {}
        self._recent = {}
        # what `add` needs to find the first line of an id seen before (none without `keep_known`)
        self._hashes, self._mask = array("q"), np.empty(0, bool)
        if keep_known:
            self._hashes, self._mask = hashes, _events(values) if event_mask is None else event_mask

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
        first = self.line_of(key)
        if first is None:
            self._recent[key] = line
        else:
            self.duplicates[line] = first

    def line_of(self, key: int) -> int | None:
        """The first line whose event has the id hashed `key`, None when no event has it."""
        if key == NO_ID:
            return None
        first = self._recent.get(key)
        if first is None:
            at = int(np.searchsorted(self._sorted, key))
            if at < len(self._sorted) and self._sorted[at] == key:
                first = self._first_line(key)
        return first

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
FILTER_BITS = 16
FILTER_MASK = (1 << FILTER_BITS) - 1


def short_keys(keys: np.ndarray) -> np.ndarray:
    """The low 32 bits of 64-bit id hashes, NO_ID only where there is no id: half the memory, and about
    n**2 / 2**33 repeats among n distinct ids, so lines whose short keys repeat must be told apart by
    their full hashes."""
    short = keys.astype(np.int32)  # wraps: the low 32 bits
    short[(short == NO_ID) & (keys != NO_ID)] = 1
    return short


def _keys(hashes: array[int]) -> np.ndarray:
    """The per-line hashes as a view: 8-byte id hashes, or 4-byte `short_keys`."""
    dtype = np.int32 if hashes.itemsize == 4 else np.int64
    return np.frombuffer(hashes, dtype) if len(hashes) else np.empty(0, dtype)


def _in_slice(values: np.ndarray, event_mask: np.ndarray | None, top: int) -> np.ndarray:
    """The ids of the event lines in one slice: those whose hashes' top SLICE_BITS bits, signed, are `top`
    (so slices in increasing order hold increasing hashes). Gathered a chunk at a time, so that no temporary
    covers every line."""
    shift = 8 * values.itemsize - SLICE_BITS
    parts = []
    for start in range(0, len(values), REBUILD_CHUNK):
        chunk = values[start : start + REBUILD_CHUNK]
        found = (chunk >> shift) == top
        if event_mask is not None:
            found &= event_mask[start : start + REBUILD_CHUNK]
        parts.append(chunk[found])
    keys = np.concatenate(parts) if parts else np.empty(0, values.dtype)
    return keys[keys != NO_ID] if top == 0 else keys  # lines without an id (NO_ID, 0) are in no slice


def _count_ids(values: np.ndarray, event_mask: np.ndarray | None) -> int:
    """How many event lines have an id."""
    count = 0
    for start in range(0, len(values), REBUILD_CHUNK):
        found = values[start : start + REBUILD_CHUNK] != NO_ID
        if event_mask is not None:
            found &= event_mask[start : start + REBUILD_CHUNK]
        count += int(np.count_nonzero(found))
    return count


def _events(values: np.ndarray) -> np.ndarray:
    found: np.ndarray = values != NO_ID
    return found


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct values of sorted `keys` (np.unique would import numpy.ma, a megabyte more)."""
    kept: np.ndarray = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    return kept


def _first_lines(values: np.ndarray, event_mask: np.ndarray | None, repeats: np.ndarray) -> dict[int, int]:
    """line -> first line with the same hash, for the event lines whose hash is one of the sorted `repeats`.

    A table of the repeats' low FILTER_BITS bits rules out nearly every line with one lookup, so only the
    few left are searched for in `repeats` (a binary search of every line was half of a rebuild)."""
    duplicates: dict[int, int] = {}
    first_of: dict[int, int] = {}
    maybe = np.zeros(1 << FILTER_BITS, bool)
    maybe[repeats & FILTER_MASK] = True
    for start in range(0, len(values), REBUILD_CHUNK):
        lines = np.flatnonzero(maybe[values[start : start + REBUILD_CHUNK] & FILTER_MASK]) + start
        keys = values[lines]
        found = repeats[np.minimum(np.searchsorted(repeats, keys), len(repeats) - 1)] == keys
        if event_mask is not None:
            found &= event_mask[lines]
        lines = lines[found]
        for line, key in zip(lines.tolist(), values[lines].tolist(), strict=True):
            if key in first_of:
                duplicates[line] = first_of[key]
            else:
                first_of[key] = line
    return duplicates


class TimeOrder:
    """line -> previous event line, for every event whose timestamp is earlier than the one before it."""

    def __init__(self) -> None:
        self.backwards: dict[int, int] = {}
        self.last_time = math.nan
        self.last_line = -1
        self.first_time = math.nan  # the first event with a timestamp, for `join`
        self.first_line = -1

    def rebuild(self, times: array[float], event_mask: np.ndarray) -> None:
        self.backwards, self.last_time, self.last_line = {}, math.nan, -1
        self.first_time, self.first_line = math.nan, -1
        values = np.frombuffer(times, np.float64) if len(times) else np.empty(0)
        for start in range(0, len(values), REBUILD_CHUNK):  # chunks bound the temporaries' size
            self.extend(values[start : start + REBUILD_CHUNK], event_mask[start : start + REBUILD_CHUNK], start)

    def extend(self, values: np.ndarray, event_mask: np.ndarray, start: int) -> None:
        """Fold in the timestamps of lines [start, start + len(values)), which follow the lines seen so far."""
        lines = np.flatnonzero(event_mask[: len(values)] & ~np.isnan(values))
        if not len(lines):
            return
        stamps = values[lines]
        if self.first_line < 0:
            self.first_line, self.first_time = int(lines[0]) + start, float(stamps[0])
        if stamps[0] < self.last_time:  # against the last event of the chunk before
            self.backwards[int(lines[0]) + start] = self.last_line
        back = np.flatnonzero(stamps[1:] < stamps[:-1])
        self.backwards.update(zip((lines[back + 1] + start).tolist(), (lines[back] + start).tolist(), strict=True))
        self.last_line, self.last_time = int(lines[-1]) + start, float(stamps[-1])

    def join(self, part: TimeOrder, first: int) -> None:
        """Fold in the order of the lines that follow, indexed on their own (their line 0 is line `first`)."""
        if part.first_line < 0:
            return
        if part.first_time < self.last_time:
            self.backwards[part.first_line + first] = self.last_line
        self.backwards.update({line + first: previous + first for line, previous in part.backwards.items()})
        self.last_line, self.last_time = part.last_line + first, part.last_time
        if self.first_line < 0:
            self.first_line, self.first_time = part.first_line + first, part.first_time

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
        if self.first_line < 0:
            self.first_line, self.first_time = line, stamp
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
