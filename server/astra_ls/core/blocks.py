"""Read a store in blocks of whole lines, with bounded memory even for absurdly long lines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

BLOCK_SIZE = 128 * 1024  # small: two processes hold a block and four block-sized work arrays each


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
    """Blocks from `start` to `end` (default: the end of the stream); both must be line starts.

    Each read starts at a line start (the stream is sought back over a block's unfinished last line), so
    a block is never glued to the leftover of the one before: one block's bytes in memory, not three."""
    offset = start
    while end is None or offset < end:
        stream.seek(offset)
        data = stream.read(block_size if end is None else min(block_size, end - offset))
        if not data:
            return
        cut = data.rfind(b"\n") + 1
        if cut:
            block = data if cut == len(data) else data[:cut]
            del data
            yield Block(offset, block)
            offset += cut
            continue
        del data
        piece = _whole_line(stream, offset, max_line, block_size)  # longer than a block, or the last
        yield piece
        offset += (len(piece.data) if isinstance(piece, Block) else piece.length + piece.terminated)


def _whole_line(stream: BinaryIO, offset: int, max_line: int, block_size: int) -> Block | LongLine:
    """The line at `offset` as a block of its own, or only its length when it is over `max_line`."""
    length, terminated = _line_length(stream, offset, block_size)
    if length > max_line:
        return LongLine(offset, length, terminated)
    stream.seek(offset)
    return Block(offset, stream.read(length + terminated))


def _line_length(stream: BinaryIO, offset: int, block_size: int) -> tuple[int, bool]:
    """The length of the line at `offset` (without its '\n'), and whether a '\n' ends it."""
    stream.seek(offset)
    length = 0
    while True:
        chunk = stream.read(block_size)
        if not chunk:
            return length, False
        newline = chunk.find(b"\n")
        if newline >= 0:
            return length + newline, True
        length += len(chunk)
