"""Which lines the batch decoder must not judge alone: found by whole-block array scans, not per line.

The fast decoder validates what it decodes, but skips unknown fields without range checks and counts
values rather than lines; the lines where that matters (a CR, a number that may not fit, a BOM, an
oversized or unframed line, bytes that are not UTF-8) go through the precise path.
"""

from __future__ import annotations

import re
import threading

import numpy as np

from astra_ls.core.linecheck import BOM

UTF8_WINDOW = 64 * 1024  # bytes validated at a time: the decoded copy is up to 4x its size
WALK_LIMIT = 32
# Work arrays up to this size stay allocated between blocks, per thread: a block is 128 KiB, and every
# thread that ever scanned keeps its set, so what is kept must stay small whatever a caller passed.
SCRATCH_KEPT = 1024 * 1024
_RISKY_NUMBER = re.compile(rb"\d{19}|\d[eE][+-]?\d{3}")  # over-approximates `_risky_numbers`, for one line

_NUMBER_END = np.zeros(256, bool)
_NUMBER_END[list(b",}] \t\r\n")] = True
_NUMBER_START = np.zeros(256, bool)
_NUMBER_START[list(b":,[ \t-.")] = True
_OPEN, _CLOSE = ord("{"), ord("}")


class _Scratch(threading.local):
    """Block-sized work arrays, reused from block to block (one set per thread): fresh temporaries for every
    block made the allocator give memory back and fault it in again, a third of the scan's system time."""

    def __init__(self) -> None:
        self.arrays = [np.empty(0, np.uint8) for _ in range(4)]

    def take(self, size: int) -> list[np.ndarray]:
        if size > SCRATCH_KEPT:  # a one-off: freed with the caller's views, never kept by the thread
            return [np.empty(size, np.uint8) for _ in range(4)]
        if len(self.arrays[0]) < size:
            self.arrays = [np.empty(max(size, 1), np.uint8) for _ in range(4)]
        return [array[:size] for array in self.arrays]


_scratch = _Scratch()


def release_scratch() -> None:
    """Let go of this thread's work arrays (a whole store was read: no block follows soon)."""
    _scratch.arrays = [np.empty(0, np.uint8) for _ in range(4)]


def line_needs_care(raw: bytes, max_line: int) -> bool:
    """`lines_needing_care` for one line, without arrays (a BOM fails the framing test)."""
    if len(raw) > max_line or b"\r" in raw or raw[:1] != b"{" or raw[-1:] != b"}":
        return True
    if _RISKY_NUMBER.search(raw):
        return True
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False


def lines_needing_care(data: bytes, ends: np.ndarray, lengths: np.ndarray, max_line: int,
                       at_file_start: bool) -> list[int]:
    """Indexes of the lines of `data` (ending at `ends`) that need the precise path."""
    view = np.frombuffer(data, np.uint8)
    positions = [np.flatnonzero(view == 13) if b"\r" in data else np.empty(0, np.int64), *risky_numbers(view)]
    marks = np.flatnonzero(lengths > max_line).tolist()
    for found in positions:
        marks.extend(np.searchsorted(ends, found).tolist())
    if at_file_start and data.startswith(BOM):
        marks.append(0)
    marks.extend(_unframed_lines(data, ends, lengths))
    marks.extend(_invalid_utf8_lines(data, ends))
    return sorted(set(marks))


def risky_numbers(view: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions inside runs of 19+ digits (maybe beyond 64 bits) and of numbers with a 3-digit exponent (maybe
    beyond a double). An exponent counts only where a JSON number can be (a structural character before its
    mantissa and after its exponent), so hex ids like "3e7229c5" do not send their lines down the slow path.

    Masks are combined before positions are listed: a block holds many digits and many letters e, and
    listing all of them costs more than the rest of the scan."""
    size = len(view)
    work, padded, spare, other = _scratch.take(size + 2)
    work, spare, other = work[:size], spare[:size], other[:size]
    padded = padded.view(bool)  # the digit mask with a non-digit on either side: walks need no bounds checks
    padded[0] = padded[size + 1] = False
    np.subtract(view, 48, out=work)
    digit = np.less(work, 10, out=padded[1 : size + 1])  # wraps around below '0'
    long_runs = np.flatnonzero(_starts_of_runs(digit, 19, spare.view(bool), other.view(bool)))
    if size < 6:
        return long_runs, np.empty(0, np.int64)
    maybe = _exponent_mask(view, digit, work, spare.view(bool)[: size - 5], other.view(bool)[: size - 5])
    exponent = np.flatnonzero(maybe) + 1
    first = exponent + 1 + ((view[exponent + 1] == ord("+")) | (view[exponent + 1] == ord("-")))
    three = digit[first] & digit[np.minimum(first + 1, size - 1)] & digit[np.minimum(first + 2, size - 1)]
    exponent, first = exponent[three], first[three]
    if not len(exponent):
        return long_runs, exponent
    after, before = _walk_digits(padded, first + 3, 1), _walk_digits(padded, exponent - 1, -1)
    if after is None or before is None:  # a very long digit run: find every run's ends at once instead
        after, before = _digit_run_bounds(digit, first, exponent)
    number = _NUMBER_END[view[np.minimum(after, size - 1)]] & _NUMBER_START[view[np.maximum(before, 0)]]
    return long_runs, exponent[number]


def _exponent_mask(view: np.ndarray, digit: np.ndarray, work: np.ndarray, maybe: np.ndarray,
                   then: np.ndarray) -> np.ndarray:
    """maybe[i]: view[i + 1] is an 'e' or 'E' after a digit and before a digit or a sign."""
    count = len(maybe)
    np.bitwise_or(view[1:-4], 0x20, out=work[:count])
    np.equal(work[:count], ord("e"), out=maybe)
    np.logical_and(maybe, digit[:-5], out=maybe)
    sign = work[:count].view(bool)
    np.equal(view[2:-3], ord("+"), out=then)
    np.logical_or(then, np.equal(view[2:-3], ord("-"), out=sign), out=then)
    np.logical_or(then, digit[2:-3], out=then)
    np.logical_and(maybe, then, out=maybe)
    return maybe


def _starts_of_runs(digit: np.ndarray, length: int, one: np.ndarray, two: np.ndarray) -> np.ndarray:
    """Mask of the positions where `length` digits in a row start (doubling: a few passes, not `length`),
    computed in the work arrays `one` and `two` in turn."""
    covered, run, buffers = digit, 1, (one, two)
    while run < length:
        step = min(run, length - run)
        count = max(0, len(covered) - step)
        target = buffers[0][:count]
        np.logical_and(covered[:count], covered[step : step + count], out=target)
        covered = target
        run += step
        buffers = buffers[::-1]
    return covered


def _walk_digits(padded: np.ndarray, positions: np.ndarray, step: int) -> np.ndarray | None:
    """Each position (from -1 to the block's size) moved by `step` while it is on a digit: the first
    non-digit after (or before) a run. `padded` is the digit mask with a non-digit added on either side.
    None when some run is longer than WALK_LIMIT."""
    at = positions.copy()
    for _ in range(WALK_LIMIT):
        moving = padded[at + 1]
        if not moving.any():
            return at
        at[moving] += step
    return None


def _digit_run_bounds(digit: np.ndarray, first: np.ndarray, exponent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each exponent: where the digit run of its first exponent digit ends, and the position before the
    digit run that ends just before it starts."""
    edges = np.diff(digit.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    run_starts, run_ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    after = run_ends[np.searchsorted(run_starts, first, "right") - 1]
    before = run_starts[np.searchsorted(run_ends, exponent, "left")] - 1
    return after, before


def _unframed_lines(data: bytes, ends: np.ndarray, lengths: np.ndarray) -> list[int]:
    """Lines that do not start with '{' and end with '}' (blank, padded, not objects, torn).

    `decode_lines` counts values, not lines: a line holding two values next to a blank line, or to a value
    spread over two lines, would keep the count right. A value only continues onto the next line after
    ':', '[' or ',', so when every line of a batch starts with '{' and ends with '}', one value per line
    is exactly what a matching count means.
    """
    view = np.frombuffer(data, np.uint8)
    first = view[np.minimum(ends - lengths, len(view) - 1)]
    last = view[np.maximum(ends - 1, 0)]
    return np.flatnonzero((lengths == 0) | (first != _OPEN) | (last != _CLOSE)).tolist()


def _invalid_utf8_lines(data: bytes, ends: np.ndarray) -> list[int]:
    """Lines with bytes that are not UTF-8, which the decoder does not check in fields it skips."""
    if data.isascii():
        return []
    found: list[int] = []
    view = memoryview(data)
    position = 0
    while position < len(data):
        # a window ends at a line end, so a character never straddles two; it bounds the decoded copy
        stop = int(ends[min(int(np.searchsorted(ends, position + UTF8_WINDOW)), len(ends) - 1)]) + 1
        try:
            str(view[position:stop], "utf-8")
            position = stop
        except UnicodeDecodeError as error:
            line = int(np.searchsorted(ends, position + error.start))
            found.append(line)
            if line + 1 >= len(ends):
                break
            position = int(ends[line]) + 1
    return found
