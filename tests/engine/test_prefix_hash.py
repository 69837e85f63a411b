"""The complete hash of a file's first bytes: the same however the bytes came, and any changed byte seen."""

from __future__ import annotations

import random
from pathlib import Path

from astra_ls.store.prefix_hash import SEGMENT_BYTES, PrefixHash, hash_file, restore


def test_the_hash_is_the_same_however_the_bytes_came_and_sees_any_change(tmp_path: Path) -> None:
    rng = random.Random(7)
    data = rng.randbytes(3 * SEGMENT_BYTES + 12345)
    path = tmp_path / "f"
    path.write_bytes(data)
    grown = PrefixHash()
    at = 0
    while at < len(data):
        step = rng.choice([1, 100, SEGMENT_BYTES - 1, SEGMENT_BYTES, 2 * SEGMENT_BYTES + 3])
        grown.update(data[at : at + step])
        at += step
    with path.open("rb", buffering=0) as handle:
        read = hash_file(handle, len(data))
        assert read == grown and grown.length == len(data)
        assert grown.matches(handle)
        assert restore(handle, grown.saved(), trust_whole_segments=True) == grown
        assert restore(handle, grown.saved(), trust_whole_segments=False) == grown
        assert hash_file(handle, len(data) + 1) is None
    for where in (0, SEGMENT_BYTES - 1, SEGMENT_BYTES, 2 * SEGMENT_BYTES + 5, len(data) - 1):
        changed = bytearray(data)
        changed[where] ^= 1
        path.write_bytes(bytes(changed) + b"more")
        with path.open("rb", buffering=0) as handle:
            assert not grown.matches(handle)
            assert restore(handle, grown.saved(), trust_whole_segments=False) is None
    copy = grown.copy()
    copy.update(b"x")
    assert copy != grown and copy.length == grown.length + 1
