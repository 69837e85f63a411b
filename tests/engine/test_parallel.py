"""The parallel scan of a big store: parts scanned by forked or spawned processes and joined in order give
exactly what one process scanning the whole file gives; a failed part means the caller scans by itself;
a process with threads never forks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from astra_ls.core import parallel, part_handover
from astra_ls.core.analysis import AnalysisRules, BaseAnalysis, StoreAnalysis
from astra_ls.core.lean_analysis import LeanAnalysis
from astra_ls.core.parallel import scan_parallel, scan_range

from .conftest import reader, rules_for
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
    joined = joined_as_whole(path, data)
    assert len(joined.problems(lambda o, n: data[o : o + n])) > 30


def joined_as_whole(path: Path, data: bytes, start: parallel.Start = "auto") -> StoreAnalysis:
    """The parallel scan of `path`, checked against one process's scan of the whole file."""
    joined = scan_parallel(path, rules_for(), len(data), StoreAnalysis, start=start)
    assert joined is not None
    joined.finish_full_scan()
    whole = scan_range(path, rules_for(), 0, None, StoreAnalysis)
    whole.finish_full_scan()
    assert snapshot(joined, data) == snapshot(whole, data)
    assert joined.counts_by_type() == whole.counts_by_type()
    return joined


def finished(analysis: BaseAnalysis | None, data: bytes) -> BaseAnalysis:
    """The analysis after its full scan's indexing, whichever its kind."""
    assert analysis is not None
    if isinstance(analysis, LeanAnalysis):
        analysis.finish_full_scan(reader(data))
    else:
        assert isinstance(analysis, StoreAnalysis)
        analysis.finish_full_scan()
    return analysis


KINDS = pytest.mark.parametrize("kind", [StoreAnalysis, LeanAnalysis], ids=["full", "lean"])


@KINDS
def test_parts_sent_in_many_spans_are_joined_in_order(tmp_path: Path, small_parts: None,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      kind: type[BaseAnalysis]) -> None:
    """A part's arrays cross the pipe a span at a time, the last first (its process gives each back once
    sent), in spans that fit no array's item size evenly: the joined analysis has them in order."""
    monkeypatch.setattr(part_handover, "ADOPT_CHUNK", 1000)
    path = tmp_path / "big.jsonl"
    data = mixed_store(path, 20_000)
    joined = finished(scan_parallel(path, rules_for(), len(data), kind, start="fork"), data)
    whole = finished(scan_range(path, rules_for(), 0, None, kind), data)
    assert type(joined) is kind
    assert list(joined.id_hashes) == list(whole.id_hashes)
    assert joined.problems(reader(data)) == whole.problems(reader(data))
    if isinstance(joined, StoreAnalysis) and isinstance(whole, StoreAnalysis):
        assert snapshot(joined, data) == snapshot(whole, data)


@KINDS
def test_spawned_workers_give_what_one_scan_gives(tmp_path: Path, small_parts: None,
                                                  kind: type[BaseAnalysis]) -> None:
    """The portable way (Windows, macOS, a process with threads): workers spawned, rules sent pickled."""
    path = tmp_path / "big.jsonl"
    data = mixed_store(path, 20_000)
    for family in ("generic", "conversation"):
        joined = finished(scan_parallel(path, rules_for(family), len(data), kind, start="spawn"), data)
        whole = finished(scan_range(path, rules_for(family), 0, None, kind), data)
        assert type(joined) is kind
        assert list(joined.id_hashes) == list(whole.id_hashes)
        assert joined.problems(reader(data)) == whole.problems(reader(data))
        assert joined.counts_by_type() == whole.counts_by_type()
        if isinstance(joined, StoreAnalysis) and isinstance(whole, StoreAnalysis):
            assert snapshot(joined, data) == snapshot(whole, data)


def _no_fork() -> int:
    raise AssertionError("forked a process that has threads")


@pytest.mark.parametrize("why", ["another thread runs", "the system cannot fork"])
def test_a_process_that_must_not_fork_spawns_its_workers(tmp_path: Path, small_parts: None,
                                                         monkeypatch: pytest.MonkeyPatch, why: str) -> None:
    """A language server always has threads (its reader, its check pool): its scans never fork."""
    path = tmp_path / "big.jsonl"
    data = mixed_store(path, 20_000)
    release = threading.Event()
    other = threading.Thread(target=release.wait, daemon=True)
    if why == "another thread runs":
        monkeypatch.setattr(os, "fork", _no_fork)
        other.start()
    else:
        monkeypatch.delattr(os, "fork")
    try:
        joined_as_whole(path, data)
    finally:
        release.set()


def test_a_slowed_worker_claims_fewer_chunks_and_the_join_is_the_same(tmp_path: Path, small_parts: None,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks go to whichever process asks first: with the workers slowed down (by anything else running on
    the machine), this process scans most of them itself, and the parts still join in order."""
    monkeypatch.setenv("ASTRA_LS_WORKERS", "2")
    path = tmp_path / "big.jsonl"
    data = mixed_store(path, 20_000)
    parent, scanned_here = os.getpid(), []

    def uneven(path: Path, rules: AnalysisRules, start: int, end: int | None,
               kind: type[BaseAnalysis]) -> BaseAnalysis:
        if os.getpid() != parent:
            time.sleep(0.3)
        else:
            scanned_here.append(start)
        return scan_range(path, rules, start, end, kind)

    monkeypatch.setattr(parallel, "scan_range", uneven)
    joined_as_whole(path, data, "fork")
    chunks = len(parallel.split_points(path, len(data), 2 * parallel.CHUNKS_PER_PROCESS))
    assert chunks == 2 * parallel.CHUNKS_PER_PROCESS and len(scanned_here) >= chunks - 2


def test_a_part_whose_process_dies_makes_the_caller_scan_by_itself(tmp_path: Path, small_parts: None,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.jsonl"
    data = mixed_store(path, 20_000)
    parent = os.getpid()

    def dying(path: Path, rules: AnalysisRules, start: int, end: int | None,
              kind: type[BaseAnalysis]) -> BaseAnalysis:
        if os.getpid() != parent and start > len(data) // 2:
            os._exit(3)  # a worker killed mid-scan
        return scan_range(path, rules, start, end, kind)

    monkeypatch.setattr(parallel, "scan_range", dying)
    assert scan_parallel(path, rules_for(), len(data), StoreAnalysis, start="fork") is None


# every precise path: a misspelt type, missing and mistyped fields, CRLF, BOM, bytes that are not UTF-8,
# an integer beyond 64 bits, not an object, a blank line, a snapshot, torn JSON, non-ASCII text
PRECISE = [b'{"type":"UserMesageSent","id":"a","timestamp":1}', b'{"type":"UserMessageSent","id":"b"}',
           b'{"type":"UserMessageSent","id":"c","timestamp":"x","content":5}',
           b'{"type":"UserMessageSent","id":"d","timestamp":2,"content":"hi"}\r',
           b'\xef\xbb\xbf{"type":"UserMessageSent","id":"e","timestamp":3,"content":"hi"}',
           b'{"type":"UserMessageSent","id":"f","timestamp":4,"content":"\xff"}',
           b'{"type":"UserMessageSent","id":"g","timestamp":5,"content":"hi","n":123456789012345678901}',
           b"[1]", b"", b'{"type":"$snapshot","projector":"conversation","events":1,"byType":{"T":1},"state":{}}',
           b'{"id": "torn',
           '{"type":"UserMessageSent","id":"h","timestamp":6,"content":"안녕 🙂","x":}'.encode()]


def test_a_scan_imports_no_module(tmp_path: Path) -> None:
    """What a scan would import on first use, every process scanning a part would import after the fork:
    a copy in each, and the import machinery's pages copied. The precise path's modules come with the engine."""
    path = tmp_path / "conversation.jsonl"
    path.write_bytes(b"\n".join(PRECISE * 200) + b"\n")
    script = ("import sys; from pathlib import Path; import astra_ls.cli.main; "
              "from astra_ls.core.analysis import AnalysisRules; from astra_ls.core.linecheck import LineRules; "
              "from astra_ls.core.parallel import scan_range; from astra_ls.schemas.families import builtin_schema; "
              "from astra_ls.core.lean_analysis import LeanAnalysis; "
              "rules = AnalysisRules(LineRules(builtin_schema('conversation'))); before = set(sys.modules); "
              "part = scan_range(Path(sys.argv[1]), rules, 0, None, LeanAnalysis); "
              "print(len(part.line_problems), sorted(set(sys.modules) - before))")
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60,
                            check=True)
    assert result.stdout.split(" ", 1) == [str((len(PRECISE) - 1) * 200), "[]\n"]  # all but the snapshot


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 3000), min_size=1, max_size=60), st.integers(2, 40))
def test_split_points_are_rising_line_starts(lengths: list[int], parts: int) -> None:
    data = b"".join(b"x" * length + b"\n" for length in lengths)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.jsonl"
        path.write_bytes(data)
        points = parallel.split_points(path, len(data), parts)
    starts = [0, *(i + 1 for i, byte in enumerate(data) if byte == 10)]
    # each share's split: the first line start at or after it (the file's end: none)
    expected = {min(start for start in starts if start >= len(data) * index // parts) for index in range(1, parts)}
    assert points == sorted({0} | {point for point in expected if point < len(data)})
