"""Properties of the reader over generated input: any bytes are read, every line is accounted for once,
ranges stay inside their line, and "malformed" means exactly what a strict RFC 8259 parser says."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from astra_ls.core.linecheck import BOM, LineRules, check_line
from astra_ls.schemas.families import builtin_schema
from fuzz.oracle import documented_deviation, strict_json, utf16_units

from .conftest import analyse, reader

MALFORMED = {"ASTRA001", "ASTRA003", "ASTRA035"}
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8,
)
NOISE = [c.encode() for c in '{}[]",:.0123456789eE+-tfnulsaINy\\/ \t한🙂'] + [
    b"\x00", b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80", b"NaN", b"Infinity", b"true", b"\\u", b"\\ud800", b"//", b"'"]


@st.composite
def json_like_lines(draw: st.DrawFn) -> bytes:
    """Mostly-JSON lines: serialised values (often objects) with a few random edits."""
    value = draw(json_values)
    if draw(st.booleans()):
        value = {"id": draw(st.text(max_size=3)), "v": value}
    separators = draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,\t", " :  ")]))
    line = bytearray(json.dumps(value, ensure_ascii=draw(st.booleans()), separators=separators).encode())
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(line)))
        if draw(st.booleans()) and at < len(line):
            del line[at : at + draw(st.integers(1, 3))]
        else:
            line[at:at] = draw(st.sampled_from(NOISE))
    return bytes(line)


@PROPERTY
@given(json_like_lines())
def test_a_line_is_malformed_exactly_when_a_strict_rfc_8259_parser_rejects_it(raw: bytes) -> None:
    # JSONL framing is judged separately (ASTRA030/031/032/037): keep it out of this comparison
    assume(b"\r" not in raw and not raw.startswith(BOM) and raw.strip(b" \t"))
    accepted, value = strict_json(raw)
    if accepted:
        assume(not documented_deviation(value, with_limits=False))
    verdict = check_line(raw, 0, LineRules(builtin_schema("generic")))
    flagged = {p.code for p in verdict.problems} & MALFORMED
    assert bool(flagged) == (not accepted), (raw, verdict.problems)
    if accepted and isinstance(value, dict):
        assert verdict.event == value


@PROPERTY
@given(json_like_lines())
def test_the_batch_path_agrees_with_the_precise_path_on_every_line(raw: bytes) -> None:
    assume(b"\n" not in raw)
    padding = b'{"id":"p%d","timestamp":%d}\n'
    data = b"".join(padding % (n, n) for n in range(200)) + raw + b"\n" + padding % (999, 999)
    analysis = analyse(data)
    precise = check_line(raw, 200, LineRules(builtin_schema("generic")))
    assert analysis.kinds[200] == precise.kind
    assert analysis.line_problems.get(200, []) == precise.problems


lines_of_bytes = st.lists(
    st.one_of(json_like_lines(), st.binary(max_size=24).map(lambda b: b.replace(b"\n", b""))), max_size=12)


@PROPERTY
@given(lines_of_bytes, st.booleans(), st.sampled_from(["generic", "conversation", "entity"]))
def test_any_bytes_every_line_accounted_for_once_with_ranges_inside_the_line(
        lines: list[bytes], final_newline: bool, family: str) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    analysis = analyse(data, family)
    raw_lines = data.split(b"\n")
    if data.endswith(b"\n") or not data:
        raw_lines.pop()
    assert analysis.line_count == len(raw_lines)
    starts = [0]
    for raw in raw_lines[:-1]:
        starts.append(starts[-1] + len(raw) + 1)
    assert list(analysis.offsets) == (starts if raw_lines else [])
    problems = analysis.problems(reader(data))
    flagged = {p.line for p in problems}
    for line in range(analysis.line_count):
        assert analysis.is_event(line) or line in flagged, (line, raw_lines[line])
        assert not (analysis.is_event(line) and {p.code for p in problems if p.line == line} & MALFORMED)
    for problem in problems:
        width = utf16_units(raw_lines[problem.line])
        assert 0 <= problem.start <= problem.end <= width, (problem, raw_lines[problem.line])
        for related in problem.related:
            assert 0 <= related.start <= related.end <= utf16_units(raw_lines[related.line])
    events = sum(1 for line in range(analysis.line_count) if analysis.is_event(line))
    assert analysis.event_count() == events


def test_nesting_deeper_than_the_parser_limit_is_rejected_not_crashed() -> None:
    raw = b'{"a":' + b"[" * 1100 + b"]" * 1100 + b"}"
    verdict = check_line(raw, 0, LineRules(builtin_schema("generic")))
    assert [p.code for p in verdict.problems] == ["ASTRA001"]
    assert "depth" in verdict.problems[0].message


def test_nesting_between_python_and_reader_limits_is_read() -> None:
    raw = b"[" * 1010 + b"]" * 1010
    assert not strict_json(b'{"a":' + raw + b"}")[0]  # Python's parser runs out of recursion here...
    verdict = check_line(b'{"a":' + raw + b"}", 0, LineRules(builtin_schema("generic")))
    assert verdict.problems == []  # ...the reader goes on to a depth of 1024


def test_nesting_within_the_limit_is_read() -> None:
    raw = b'{"a":' + b"[" * 500 + b"]" * 500 + b"}"
    assert check_line(raw, 0, LineRules(builtin_schema("generic"))).problems == []


@pytest.mark.parametrize("raw", [b'{"a":"\\ud800"}', b'{"a":"\\udc00x"}', b'{"\\ud83d":1}'])
def test_lone_surrogate_escapes_are_rejected(raw: bytes) -> None:
    assert strict_json(raw)[0]  # Python accepts them, but they cannot be encoded as UTF-8
    verdict = check_line(raw, 0, LineRules(builtin_schema("generic")))
    assert [p.code for p in verdict.problems] == ["ASTRA001"]
    assert "surrogate" in verdict.problems[0].message


def test_a_surrogate_pair_escape_is_one_character() -> None:
    verdict = check_line(b'{"a":"\\ud83d\\ude00"}', 0, LineRules(builtin_schema("generic")))
    assert verdict.problems == [] and verdict.event == {"a": "😀"}


@pytest.mark.parametrize("raw", [b'{"a":1e400}', b'{"a":-1e400}', b'{"a":1' + b"0" * 400 + b'.0}'])
def test_numbers_overflowing_a_double_are_rejected(raw: bytes) -> None:
    assert strict_json(raw)[0]  # Python reads them as infinity
    verdict = check_line(raw, 0, LineRules(builtin_schema("generic")))
    assert [p.code for p in verdict.problems] == ["ASTRA001"]
    assert "infinity" in verdict.problems[0].message


def test_numbers_underflowing_a_double_are_read_as_zero() -> None:
    assert check_line(b'{"a":1e-400}', 0, LineRules(builtin_schema("generic"))).event == {"a": 0.0}


@pytest.mark.parametrize("depth", [990, 1000, 1024])
def test_nesting_up_to_the_documented_limit_is_read_without_crashing(depth: int) -> None:
    raw = b'{"a":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    verdict = check_line(raw, 0, LineRules(builtin_schema("generic")))
    assert verdict.problems == []
    assert verdict.event is not None


def test_deep_nesting_with_a_big_integer_is_a_problem_not_a_crash() -> None:
    raw = b'{"n":' + b"1" * 30 + b',"a":' + b"[" * 1020 + b"]" * 1020 + b"}"
    verdict = check_line(raw, 0, LineRules(builtin_schema("generic")))
    assert {p.code for p in verdict.problems} <= {"ASTRA001", "ASTRA036"}
