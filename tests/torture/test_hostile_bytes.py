"""Hostile bytes: the reader never crashes or hangs, accounts for every line once, keeps ranges in lines.

Pathological files are checked by a real `astra-ls check` child whose peak RSS is measured; a child
that runs past the hang limit fails the test (subprocess timeout), but no test asserts a duration.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from astra_ls.core.analysis import AnalysisRules, StoreAnalysis
from astra_ls.core.blocks import iter_blocks
from astra_ls.core.codes import Severity
from astra_ls.core.linecheck import BAD, BLANK, EVENT, SNAPSHOT, LineRules
from astra_ls.core.problems import Problem
from astra_ls.schemas.families import builtin_schema

from .conftest import SOAK, Board
from .support import Workspace, lines_of, run_measured

CHECK = "import sys; from astra_ls.cli.main import main; sys.exit(main(sys.argv[1:]))"
MAX_LINE = 64 * 1024  # small enough for fuzzed inputs to reach the oversized-line path


def analyse(data: bytes, family: str = "generic", block_size: int = 4 * 1024 * 1024,
            max_line: int = MAX_LINE) -> StoreAnalysis:
    rules = AnalysisRules(LineRules(builtin_schema(family), max_line), True, True)
    analysis = StoreAnalysis(rules)
    analysis.feed(iter_blocks(io.BytesIO(data), 0, max_line, block_size), incremental=False)
    analysis.finish_full_scan()
    return analysis


def problems(data: bytes, family: str = "generic", **options: Any) -> list[Problem]:
    return analyse(data, family, **options).problems(lambda o, n: data[o : o + n])


def utf16_len(raw: bytes) -> int:
    return len(raw.decode("utf-8", "replace").encode("utf-16-le")) // 2


def assert_accounted(data: bytes, family: str = "generic", block_size: int = 4 * 1024 * 1024) -> StoreAnalysis:
    """Every line is exactly one of: an event, or a non-event with an error/hint saying why."""
    analysis = analyse(data, family, block_size)
    lines = lines_of(data)
    assert analysis.line_count == len(lines), f"{analysis.line_count} lines analysed, {len(lines)} in the data"
    found = analysis.problems(lambda o, n: data[o : o + n])
    for problem in found:
        raw = lines[problem.line]
        assert 0 <= problem.start <= problem.end, problem
        if problem.code != "ASTRA034":  # oversized lines are not decoded; their range is (0, 1)
            assert problem.end <= max(1, utf16_len(raw)), f"{problem} reaches past its line {raw[:80]!r}"
        assert problem.last_line == problem.line
    judged = {p.line for p in found if p.severity in (Severity.ERROR, Severity.HINT)
              and p.code not in ("ASTRA020", "ASTRA036", "ASTRA021")}
    for line, kind in enumerate(analysis.kinds):
        if kind in (EVENT, SNAPSHOT):
            assert line not in judged or kind == SNAPSHOT, f"line {line + 1} is an event and also rejected"
        else:
            assert kind in (BAD, BLANK), kind
            assert line in judged, f"line {line + 1} ({lines[line][:60]!r}) is not an event but has no error"
    events = sum(1 for k in analysis.kinds if k == EVENT)
    assert analysis.event_count() == events + sum(int(s["events"]) for s in analysis.snapshots.values())
    return analysis


# --- fuzzing ------------------------------------------------------------------------------------------

JSON_ATOMS = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
EVENTS = st.fixed_dictionaries({"type": st.sampled_from(["A", "B", "UserMessageSent", "$snapshot", ""])},
                               optional={"id": st.text(max_size=4) | st.integers(0, 5),
                                         "timestamp": st.integers(0, 10**13) | st.text(max_size=25),
                                         "data": JSON_ATOMS})
GOOD_LINE = EVENTS.map(lambda e: json.dumps(e, ensure_ascii=False).encode())
NASTY = st.sampled_from([b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\r", b"\r\n", b"\n", b"\xef\xbb\xbf",
                         b"{", b"}", b'"', b"\\", b"\\ud800", b"99999999999999999999999", b"1e99999", b"[" * 40])


@st.composite
def mutated_jsonl(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(GOOD_LINE | st.binary(max_size=30), max_size=12))
    data = bytearray(b"\n".join(lines) + draw(st.sampled_from([b"\n", b"", b"\r\n"])))
    for _ in range(draw(st.integers(0, 6))):
        where = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(NASTY | st.binary(min_size=1, max_size=3))
        if action == "insert":
            data[where:where] = piece
        elif action == "delete":
            del data[where : where + len(piece)]
        else:
            data[where : where + len(piece)] = piece
    return bytes(data)


FUZZ = settings(max_examples=3000 if SOAK else 300, deadline=None, suppress_health_check=list(HealthCheck),
                database=None)


@pytest.mark.scenario("hostile bytes: fuzzed reader")
@FUZZ
@given(data=mutated_jsonl(), family=st.sampled_from(["generic", "conversation"]))
def test_fuzzed_jsonl_every_line_accounted_once(data: bytes, family: str) -> None:
    """Mutated JSONL (hypothesis): no crash, each line an event xor rejected, ranges inside lines."""
    assert_accounted(data, family)
    _fuzz_runs[0] += 1


@pytest.mark.scenario("hostile bytes: fuzzed reader")
@FUZZ
@given(data=mutated_jsonl(), block=st.integers(1, 64))
def test_block_boundaries_do_not_change_the_verdict(data: bytes, block: int) -> None:
    """Reading in tiny blocks gives the same lines, kinds and problems as reading in one block."""
    whole, pieces = analyse(data), analyse(data, block_size=block)
    assert list(pieces.offsets) == list(whole.offsets)
    assert pieces.kinds == whole.kinds
    read = lambda o, n: data[o : o + n]  # noqa: E731
    assert pieces.problems(read) == whole.problems(read)
    _fuzz_runs[0] += 1


_fuzz_runs = [0]


@pytest.fixture(autouse=True)
def _count_fuzz_runs(board: Board) -> Any:
    _fuzz_runs[0] = 0
    yield
    board.ran(_fuzz_runs[0])


# --- pathological lines: each gets its specific diagnostic ----------------------------------------

@pytest.mark.scenario("hostile bytes: pathological lines")
def test_invalid_utf8_in_every_position_is_pinpointed(board: Board) -> None:
    """A 0xFF byte at each position of an event line: ASTRA003 (or NUL/JSON error) exactly there."""
    line = b'{"type":"Tick","id":"x-1","note":"caf\xc3\xa9 ok"}'
    data = b"".join(line[:i] + b"\xff" + line[i + 1 :] + b"\n" for i in range(len(line)))
    analysis = assert_accounted(data)
    found = problems(data)
    for i in range(len(line)):
        codes = {p.code: p for p in found if p.line == i}
        assert "ASTRA003" in codes, f"position {i}: {sorted(codes)}"
        expected_col = utf16_len(line[:i]) if b"\xc3" not in line[:i] or i > line.index(b"\xa9") else None
        if expected_col is not None:
            assert codes["ASTRA003"].start == expected_col, (i, codes["ASTRA003"])
    assert not any(k == EVENT for k in analysis.kinds)
    board.ran(len(line))


@pytest.mark.scenario("hostile bytes: pathological lines")
def test_nul_bytes_anywhere_are_flagged(board: Board) -> None:
    """NUL at each position: ASTRA035 at that column; NUL padding after a crash: one finding per line."""
    line = b'{"type":"Tick","id":"n"}'
    data = b"".join(line[:i] + b"\x00" + line[i:] + b"\n" for i in range(len(line) + 1)) + b"\x00" * 4096 + b"\n"
    assert_accounted(data)
    found = problems(data)
    for i in range(len(line) + 1):
        nul = [p for p in found if p.line == i and p.code == "ASTRA035"]
        assert nul and nul[0].start == i, f"position {i}: {[(p.code, p.start) for p in found if p.line == i]}"
    assert any(p.line == len(line) + 1 and p.code == "ASTRA035" for p in found)
    board.ran(len(line) + 2)


@pytest.mark.parametrize(("name", "line", "code", "words"), [
    ("lone high surrogate", rb'{"type":"T","s":"\ud800"}', "ASTRA001", "surrogate"),
    ("lone low surrogate", rb'{"type":"T","s":"x\udc00y"}', "ASTRA001", "surrogate"),
    ("integer beyond 64 bits", b'{"type":"T","n":18446744073709551616}', "ASTRA036", "64-bit"),
    ("negative integer beyond 64 bits", b'{"type":"T","n":-9223372036854775809}', "ASTRA036", "64-bit"),
    ("CR-only line endings", b'{"type":"T","id":"a"}\r{"type":"T","id":"b"}\r', "ASTRA037", "carriage return"),
    ("byte-order mark", b'\xef\xbb\xbf{"type":"T"}', "ASTRA030", "byte-order mark"),
    ("not an object", b"[1,2,3]", "ASTRA002", "object"),
])
@pytest.mark.scenario("hostile bytes: pathological lines")
def test_pathological_line_gets_its_specific_diagnostic(name: str, line: bytes, code: str, words: str,
                                                          board: Board) -> None:
    """Each pathological line is reported with its own code and a message that names the trouble."""
    data = line + b"\n"
    assert_accounted(data)
    found = [p for p in problems(data) if p.code == code]
    assert found, f"{name}: expected {code}, got {[(p.code, p.message) for p in problems(data)]}"
    assert words in found[0].message.lower(), found[0].message
    board.ran()


@pytest.mark.scenario("hostile bytes: pathological lines")
@pytest.mark.xfail(strict=True, reason="engine gap: duplicate keys are accepted silently (last one wins); "
                   "no problem code exists for them yet")
def test_duplicate_keys_are_reported(board: Board) -> None:
    """An object with the same key twice ('id' once as 'a', once as 'b') is reported, not silently merged."""
    data = b'{"type":"T","id":"a","id":"b"}\n'
    board.ran()
    assert problems(data), "duplicate key 'id' went unreported"


def _check_child(path: Path) -> tuple[dict[str, Any], float]:
    measured = run_measured(CHECK, "check", str(path), "--format", "json")
    assert measured.returncode in (0, 1), measured.stderr[-2000:]
    report: dict[str, Any] = json.loads(measured.stdout)["files"][0]
    return report, measured.peak_rss_mb


@pytest.mark.scenario("hostile bytes: pathological lines")
def test_a_100_mb_line_is_reported_without_being_loaded(workspace: Workspace, board: Board) -> None:
    """A single 100 MB line: ASTRA034 on it, the next line still read; peak RSS under 200 MB."""
    path = workspace.path("huge")
    with path.open("wb") as handle:
        handle.write(b'{"type":"T","blob":"')
        chunk = b"a" * (1 << 20)
        for _ in range(100):
            handle.write(chunk)
        handle.write(b'"}\n{"type":"T","id":"after"}\n')
    report, peak = _check_child(path)
    assert [p["code"] for p in report["problems"]] == ["ASTRA034"]
    assert report["problems"][0]["line"] == 1
    assert report["events"] == 1, "the event after the huge line must still be counted"
    assert peak < 200, f"checking a 100 MB line peaked at {peak:.0f} MB"
    board.ran()


@pytest.mark.scenario("hostile bytes: pathological lines")
def test_100000_deep_nesting_is_refused_not_recursed(workspace: Workspace, board: Board) -> None:
    """100,000 nested arrays inside an event: ASTRA001 (depth limit), no stack overflow, small RSS."""
    path = workspace.write("deep", b'{"type":"T","v":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
                           + b"[" * 100_000 + b"\n" + b'{"type":"T","id":"ok"}\n')
    report, peak = _check_child(path)
    by_line = {p["line"]: p for p in report["problems"]}
    assert by_line[1]["code"] == "ASTRA001" and "depth" in by_line[1]["message"]
    assert by_line[2]["code"] == "ASTRA001"
    assert report["events"] == 1
    assert peak < 200, f"deep nesting peaked at {peak:.0f} MB"
    board.ran(2)


@pytest.mark.scenario("hostile bytes: pathological lines")
def test_a_million_tiny_lines_are_all_counted(workspace: Workspace, board: Board) -> None:
    """1,000,000 lines of '{}' plus one torn tail: 1,000,000 events, one ASTRA033, RSS under 400 MB."""
    path = workspace.write("tiny", b"{}\n" * 1_000_000 + b'{"ty')
    report, peak = _check_child(path)
    assert report["events"] == 1_000_000
    codes = sorted(p["code"] for p in report["problems"])
    assert codes == ["ASTRA001", "ASTRA033"], codes
    assert all(p["line"] == 1_000_001 for p in report["problems"])
    assert peak < 400, f"a million lines peaked at {peak:.0f} MB"
    board.ran()
