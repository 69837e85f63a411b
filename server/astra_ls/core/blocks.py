"""Read a store in blocks of whole lines, with bounded memory even for absurdly long lines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

BLOCK_SIZE = 1024 * 1024  # small enough that per-block temporaries stay a few MB


@dataclass(frozen=True, slots=True)
class Block:
    offset: int
    data: bytes  # whole lines, each ending in '\n', except a final unterminated tail


@dataclass(frozen=True, slots=True)
class LongLine:
    """A line over the size limit: only its position and length are kept, never its bytes."""

    offset: int
    length: int  # without the '\n'
    terminated: bool


def iter_blocks(stream: BinaryIO, start: int, max_line: int, block_size: int = BLOCK_SIZE,
                end: int | None = None) -> Iterator[Block | LongLine]:
    """Blocks from `start` to `end` (default: the end of the stream); both must be line starts."""
    stream.seek(start)
    offset = start
    carry = b""
    while True:
        wanted = block_size if end is None else min(block_size, end - offset - len(carry))
        chunk = stream.read(wanted) if wanted > 0 else b""
        if not chunk:
            break
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            yield Block(offset, data[:cut])
            offset += cut
            carry = data[cut:]
        else:
            carry = data
        if len(carry) > max_line:
            long_line = _skip_long_line(stream, offset, len(carry), block_size)
            yield long_line
            offset += long_line.length + (1 if long_line.terminated else 0)
            stream.seek(offset)
            carry = b""
    if carry:
        yield Block(offset, carry)


def _skip_long_line(stream: BinaryIO, offset: int, seen: int, block_size: int) -> LongLine:
    length = seen
    while True:
        chunk = stream.read(block_size)
        if not chunk:
            return LongLine(offset, length, terminated=False)
        newline = chunk.find(b"\n")
        if newline >= 0:
            return LongLine(offset, length + newline, terminated=True)
        length += len(chunk)
