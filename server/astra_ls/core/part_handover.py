"""How the analysis of a part of a file, scanned in another process, travels to the one that joins the parts.

A part is its `PartFacts` (small: pickled) and its per-line arrays (large: sent raw, in `sent_spans`, each
span cut off the sender's array once written, so a part is never held twice). A forked worker writes both
on a pipe, read back by a `PartStream`; a spawned worker returns a `HandedPart`, pickled whole by its pool.
Either way the joining analysis takes the arrays in through `BaseAnalysis.adopt`.
"""

from __future__ import annotations

import os
import pickle
import struct
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, TypeAlias

from astra_ls.core.crossline import TimeOrder
from astra_ls.core.problems import Problem

if TYPE_CHECKING:
    from astra_ls.core.analysis import BaseAnalysis

ADOPT_CHUNK = 1 << 18  # bytes of an array sent (and taken in) at a time
ReadSent = Callable[[int], bytes | memoryview]  # exactly the next n bytes of the arrays sent
Values: TypeAlias = "array[Any] | bytearray"  # array is not subscriptable at run time before 3.12


@dataclass(slots=True)
class PartFacts:
    """What a part hands over besides its per-line arrays."""

    type_names: list[str]  # its type table: its type ids are renumbered into the joining analysis's
    type_counts: Counter[int]  # events by type id
    line_problems: dict[int, list[Problem]]  # by line, counted from the part's first line
    snapshots: dict[int, dict[str, Any]]
    size: int  # the end of the bytes it covers
    terminated: bool
    order: TimeOrder | None  # the time order folded in while scanning (a lean part), joined at the border
    lengths: dict[str, int]  # items in each of the arrays that follow, by name


@dataclass(slots=True)
class HandedPart:
    """A part with its arrays, in `SENT_ARRAYS` order: pickled back by a spawned worker, or adopted here."""

    facts: PartFacts
    arrays: list[Values]

    def reader(self) -> Callable[[int], memoryview]:
        """`read` for `adopt`: views of the arrays' bytes in the order it asks for them (no copy: the part
        is not changed before it is dropped)."""

        def pieces() -> Iterator[memoryview]:
            for values in self.arrays:
                size = item_size(values)
                data = memoryview(values).cast("B")
                for start, end in sent_spans(len(values), size):
                    yield data[start * size : end * size]

        taken = pieces()
        return lambda count: next(taken)


def hand_over(part: BaseAnalysis) -> HandedPart:
    return HandedPart(part.handover_facts(), [getattr(part, name) for name in part.SENT_ARRAYS])


def item_size(values: Values) -> int:
    return 1 if isinstance(values, bytearray) else values.itemsize


def sent_spans(count: int, itemsize: int) -> list[tuple[int, int]]:
    """The [start, end) spans of items an array of `count` items is sent in to be adopted, the last first."""
    step = max(1, ADOPT_CHUNK // itemsize)
    return [(max(0, end - step), end) for end in range(count, 0, -step)]


# --- on a pipe (forked workers) -----------------------------------------------------------------------

def send_parts(parts: list[tuple[int, BaseAnalysis]], pipe: int) -> None:
    """Each part's chunk number and facts pickled, then its arrays raw: nothing is copied to be sent."""
    with os.fdopen(pipe, "wb") as out:
        for index, part in parts:
            handed = hand_over(part)
            facts = pickle.dumps((index, handed.facts), pickle.HIGHEST_PROTOCOL)
            out.write(struct.pack("<Q", len(facts)))
            out.write(facts)
            for values in handed.arrays:
                _send_shrinking(values, out)


def _send_shrinking(values: Values, out: BinaryIO) -> None:
    """`values` in its `sent_spans`, each cut off once written: this process gives back what the parent
    takes while it reads, so the part is not held twice."""
    for start, end in sent_spans(len(values), item_size(values)):
        with memoryview(values) as view:
            out.write(view[start:end].cast("B"))
        del values[start:]


class PartStream:
    """The parts one worker sends, in the order it claimed them (rising chunk numbers)."""

    def __init__(self, pipe: int) -> None:
        self._stream = os.fdopen(pipe, "rb")
        self.next: tuple[int, PartFacts] | None = None  # the header read, arrays not yet

    def read(self, count: int) -> bytes:
        data = self._stream.read(count)
        if len(data) != count:
            raise EOFError("a scanning process ended before sending its part")
        return data

    def peek(self) -> int | None:
        """The chunk number of the next part (None: no more parts)."""
        if self.next is None:
            head = self._stream.read(8)
            if not head:
                return None
            if len(head) != 8:
                raise EOFError("a scanning process ended in the middle of a part")
            (length,) = struct.unpack("<Q", head)
            self.next = pickle.loads(self.read(length))
        return self.next[0]

    def adopt_next(self, head: BaseAnalysis) -> None:
        assert self.next is not None
        _, facts = self.next
        self.next = None
        head.adopt(facts, self.read)

    def close(self) -> None:
        self._stream.close()
