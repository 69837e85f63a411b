"""The parallel scan of a big store: parts scanned by forked processes and joined in order give exactly
what one process scanning the whole file gives; a failed part means the caller scans by itself."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from astra_ls.core import parallel
from astra_ls.core.analysis import StoreAnalysis
from astra_ls.core.parallel import scan_parallel, scan_range

from .conftest import rules_for
from .test_incremental import snapshot


def mixed_store(path: Path, lines: int) -> bytes:
    """Events of types first seen in later parts, repeated ids and backward times across part borders,
    bad lines of several kinds and a snapshot."""
    out = []
    for n in range(lines):
        event = {"type": f"T{n * 7 // lines}", "id": f"e{n % (lines - 50)}", "timestamp": n - (n % 997 == 0) * 5,
                 "text": "안녕 🙂" * (n % 3)}
        out.append(json.dumps(event, ensure_ascii=False).encode())
        if n % 1201 == 0:
            out.append(b'{"id": "torn')
        if n % 1999 == 0:
            out.append(b'[1, 2]\r')
        if n == lines // 2:
            out.append(b'{"type":"$snapshot","events":3,"state":{}}')
    data = b"\n".join(out) + b"\n"
    path.write_bytes(data)
    return data


def test_parts_joined_equal_one_scan_of_the_whole_file(tmp_path: Path, small_parts: None) -> None:
    path = tmp_path / "big.jsonl"
    data = mixed_store(path, 20_000)
    joined = scan_parallel(path, rules_for(), len(data))
    assert joined is not None
    joined.finish_full_scan()
    whole = scan_range(path, rules_for(), 0, None)
    whole.finish_full_scan()
    assert snapshot(joined, data) == snapshot(whole, data)
    assert joined.counts_by_type() == whole.counts_by_type()
    assert len(joined.problems(lambda o, n: data[o : o + n])) > 30


def test_a_part_whose_process_dies_makes_the_caller_scan_by_itself(tmp_path: Path, small_parts: None,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.jsonl"
    data = mixed_store(path, 20_000)
    parent = os.getpid()

    def dying(path: Path, rules: object, start: int, end: int | None, lean: bool = False) -> StoreAnalysis:
        if os.getpid() != parent and start > len(data) // 2:
            os._exit(3)  # a worker killed mid-scan
        return scan_range(path, rules, start, end, lean)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel, "scan_range", dying)
    assert scan_parallel(path, rules_for(), len(data)) is None
