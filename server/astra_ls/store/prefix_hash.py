"""A complete hash of the bytes a store's analysis read, so a change to any of them is seen.

Sampled bytes or the last few before the old end are not enough: an editor saves in place, and one
changed line in the middle of a file that also grew looks like an append to them. This hash covers every
byte: one xxh3-128 digest per 1 MiB segment, plus a running one for the unfinished last segment, so it
grows with the file at the cost of the new bytes only, is saved in the index cache as digests, and is
checked by hashing the file's first bytes again: about 40 ms for 134 MB from the page cache, against
seconds to parse them.
"""

from __future__ import annotations

from io import FileIO
from typing import Any

import xxhash

SEGMENT_BYTES = 1 << 20
DIGEST_BYTES = 16


class PrefixHash:
    """The hash of a file's first `length` bytes."""

    __slots__ = ("_done", "_open", "_open_length")

    def __init__(self) -> None:
        self._done = bytearray()  # the digests of the whole segments, in order
        self._open = xxhash.xxh3_128()  # the segment being filled
        self._open_length = 0

    @property
    def length(self) -> int:
        return len(self._done) // DIGEST_BYTES * SEGMENT_BYTES + self._open_length

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Take in the bytes that follow the ones hashed so far."""
        view = memoryview(data)
        while view:
            room = SEGMENT_BYTES - self._open_length
            piece, view = view[:room], view[room:]
            self._open.update(piece)
            self._open_length += len(piece)
            if self._open_length == SEGMENT_BYTES:
                self._done += self._open.digest()
                self._open.reset()
                self._open_length = 0

    def copy(self) -> PrefixHash:
        twin = PrefixHash()
        twin._done = bytearray(self._done)
        twin._open = self._open.copy()
        twin._open_length = self._open_length
        return twin

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PrefixHash):
            return NotImplemented
        return (self._open_length == other._open_length and self._done == other._done
                and self._open.digest() == other._open.digest())

    __hash__ = None  # type: ignore[assignment]  # it changes as it grows

    def saved(self) -> dict[str, Any]:
        """What the index cache keeps: JSON-native."""
        return {"length": self.length, "segments": self._done.hex(), "open": self._open.hexdigest()}

    def matches(self, handle: FileIO) -> bool:
        """Whether the file open in `handle` (`open(path, "rb", buffering=0)`) still begins with the bytes
        hashed here; reads no further than the first segment that differs."""
        return _hash_file(handle, self.length, self._done, self._open.digest()) is not None


def hash_file(handle: FileIO, length: int) -> PrefixHash | None:
    """The hash of the first `length` bytes of the file open in `handle` (unbuffered); None when it
    holds fewer."""
    return _hash_file(handle, length, None, None)


def restore(handle: FileIO, saved: Any, trust_whole_segments: bool) -> PrefixHash | None:
    """The hash `saved()` gave, when the file open in `handle` still begins with those bytes, else None.

    `trust_whole_segments`: the file is known unchanged by other means (its size, mtime and ctime), so
    only the unfinished last segment is read (a hash of it cannot be extended otherwise) and checked."""
    try:
        length, done, last = int(saved["length"]), bytes.fromhex(saved["segments"]), bytes.fromhex(saved["open"])
    except (KeyError, TypeError, ValueError):
        return None
    if length < 0 or len(done) != length // SEGMENT_BYTES * DIGEST_BYTES or len(last) != DIGEST_BYTES:
        return None
    if not trust_whole_segments:
        return _hash_file(handle, length, done, last)
    hashed = PrefixHash()
    hashed._done = bytearray(done)
    handle.seek(len(done) // DIGEST_BYTES * SEGMENT_BYTES)
    rest = length % SEGMENT_BYTES
    data = handle.read(rest)
    if len(data) != rest:
        return None
    hashed.update(data)
    return hashed if hashed._open.digest() == last else None


def _hash_file(handle: FileIO, length: int, done: bytes | bytearray | None, last: bytes | None) -> PrefixHash | None:
    """Hash the file's first `length` bytes, segment by segment; when `done` (the expected digests of
    the whole segments) and `last` (of the unfinished one) are given, stop at the first that differs."""
    hashed = PrefixHash()
    buffer = bytearray(SEGMENT_BYTES)
    handle.seek(0)
    while hashed.length < length:
        wanted = min(SEGMENT_BYTES, length - hashed.length)
        view = memoryview(buffer)[:wanted]
        got = 0
        while got < wanted:
            count = handle.readinto(view[got:])
            if not count:
                return None  # the file is shorter now
            got += count
        segment = len(hashed._done)
        hashed.update(view)
        if done is not None and hashed._done[segment:] != done[segment : len(hashed._done)]:
            return None
    if last is not None and hashed._open.digest() != last:
        return None
    return hashed
