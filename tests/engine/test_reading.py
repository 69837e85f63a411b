"""Reading a store: every line is an event or carries a problem with a stable code and an exact range."""

from __future__ import annotations

import json

import pytest

from astra_ls.core.codes import CODES, Severity
from astra_ls.core.linecheck import BAD, BLANK, EVENT, LineRules, check_line
from astra_ls.schemas.families import builtin_schema

from .conftest import analyse, codes_by_line, jsonl, problems_of, utf16

GENERIC = LineRules(builtin_schema("generic"))
CONVERSATION = LineRules(builtin_schema("conversation"))


def only(raw: bytes, rules: LineRules = GENERIC) -> tuple[int, list[tuple[str, int, int]]]:
    verdict = check_line(raw, 0, rules)
    return verdict.kind, [(p.code, p.start, p.end) for p in verdict.problems]


def test_every_code_in_the_issue_is_defined_with_its_severity() -> None:
    expected = {"ASTRA001": "error", "ASTRA002": "error", "ASTRA003": "error", "ASTRA010": "error",
                "ASTRA011": "error", "ASTRA020": "error", "ASTRA021": "warning", "ASTRA030": "warning",
                "ASTRA031": "warning", "ASTRA032": "hint", "ASTRA033": "warning", "ASTRA034": "error",
                "ASTRA035": "error", "ASTRA036": "warning", "ASTRA037": "error", "ASTRA039": "error"}
    assert {code: CODES[code].severity.label for code in expected} == expected


def test_a_valid_object_is_an_event_without_problems() -> None:
    assert only(b'{"id":"a","timestamp":1}') == (EVENT, [])


def test_malformed_json_range_starts_where_parsing_failed_and_runs_to_the_line_end() -> None:
    line = '{"content":"서울 날씨 🌦️", "next": }'
    kind, found = only(line.encode())
    failing = line.index("}", line.index("next"))
    assert kind == BAD
    assert found == [("ASTRA001", utf16(line[:failing]), utf16(line))]


def test_malformed_json_message_says_what_was_expected() -> None:
    verdict = check_line(b'{"a": 1,}', 0, GENERIC)
    assert "malformed JSON" in verdict.problems[0].message
    assert "trailing comma" in verdict.problems[0].message


@pytest.mark.parametrize(("raw", "column"), [(b'{"a" 1}', 6), (b'{"a"{}}', 5)])
def test_malformed_json_message_keeps_a_quoted_colon(raw: bytes, column: int) -> None:
    """The parser's reason is quoted whole (its own ':' included); only its trailing position is dropped."""
    verdict = check_line(raw, 0, GENERIC)
    assert verdict.problems[0].message == \
        f"malformed JSON: unexpected character, expected ':' after key (at column {column})"


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"a": NaN}', 6),
        (b'{"a": Infinity}', 6),
        (b'{"a": -Infinity}', 7),
        (b'{"a": 1,}', 7),
        (b"{'a': 1}", 1),
        (b'{"a": 1} // comment', 9),
        (b'/* c */ {"a": 1}', 0),
        (b'{"a": 01}', 6),
        (b'{"a": "tab\there"}', 10),
    ],
)
def test_json_is_strict_rfc_8259(raw: bytes, where: int) -> None:
    kind, found = only(raw)
    assert kind == BAD
    assert [code for code, _, _ in found] == ["ASTRA001"]
    assert found[0][1] == where


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"42", b"true", b"null"])
def test_valid_json_that_is_not_an_object(raw: bytes) -> None:
    verdict = check_line(b"  " + raw + b" ", 0, GENERIC)
    assert verdict.kind == BAD
    assert [(p.code, p.start, p.end) for p in verdict.problems] == [("ASTRA002", 2, 2 + len(raw))]
    assert "not an object" in verdict.problems[0].message


def test_invalid_utf8_is_pointed_at_the_bad_byte_in_utf16_units() -> None:
    raw = '{"a":"한🙂'.encode() + b"\xff" + b'"}'
    kind, found = only(raw)
    assert kind == BAD
    assert found == [("ASTRA003", utf16('{"a":"한🙂'), utf16('{"a":"한🙂') + 1)]


def test_nul_byte() -> None:
    kind, found = only(b'{"a":"x\x00"}')
    assert kind == BAD
    assert found == [("ASTRA035", 7, 8)]


def test_bom_is_flagged_but_the_event_is_read() -> None:
    verdict = check_line(b'\xef\xbb\xbf{"id":"a"}', 0, GENERIC)
    assert verdict.kind == EVENT
    assert verdict.event == {"id": "a"}
    assert [(p.code, p.start, p.end, p.severity) for p in verdict.problems] == [
        ("ASTRA030", 0, 1, Severity.WARNING)]


def test_crlf_is_flagged_at_the_cr_but_the_event_is_read() -> None:
    raw = '{"t":"🙂"}\r'.encode()
    kind, found = only(raw)
    assert kind == EVENT
    assert found == [("ASTRA031", utf16('{"t":"🙂"}'), utf16('{"t":"🙂"}') + 1)]


def test_bare_cr_inside_a_line_is_an_error() -> None:
    kind, found = only(b'{"a":1}\r{"b":2}')
    assert kind == BAD
    assert found == [("ASTRA037", 7, 8)]


def test_blank_and_whitespace_lines() -> None:
    assert only(b"") == (BLANK, [("ASTRA032", 0, 0)])
    assert only(b" \t ") == (BLANK, [("ASTRA032", 0, 3)])


def test_oversized_line_is_not_parsed() -> None:
    rules = LineRules(builtin_schema("generic"), max_line_bytes=16)
    verdict = check_line(b'{"a":"' + b"x" * 40 + b'"}', 0, rules)
    assert verdict.kind == BAD
    assert [p.code for p in verdict.problems] == ["ASTRA034"]
    assert "over the 16-byte limit" in verdict.problems[0].message


def test_oversized_line_in_a_store_is_accounted_for_and_reading_goes_on() -> None:
    data = b'{"id":"a"}\n{"id":"' + b"x" * 5000 + b'"}\n{"id":"b"}\n'
    analysis = analyse(data, max_line_bytes=100)
    assert analysis.line_count == 3
    assert analysis.event_count() == 2
    assert codes_by_line(analysis.problems(lambda o, n: data[o : o + n])) == {2: ["ASTRA034"]}


def test_integers_beyond_64_bits_are_kept_exact_and_flagged() -> None:
    big = 2**64 + 1
    raw = ('{"label":"한🙂","n":' + str(big) + "}").encode()
    verdict = check_line(raw, 0, GENERIC)
    assert verdict.kind == EVENT
    assert verdict.event is not None and verdict.event["n"] == big
    text = raw.decode()
    start = utf16(text[: text.index(str(big))])
    assert [(p.code, p.start, p.end, p.severity) for p in verdict.problems] == [
        ("ASTRA036", start, start + len(str(big)), Severity.WARNING)]
    assert "'n'" in verdict.problems[0].message


def test_largest_64_bit_integers_are_not_flagged() -> None:
    assert only(f'{{"a":{2**64 - 1},"b":{-(2**63)}}}'.encode()) == (EVENT, [])


def test_duplicate_keys_last_one_wins() -> None:
    verdict = check_line(b'{"id":"a","n":1,"n":2}', 0, GENERIC)
    assert verdict.kind == EVENT
    assert verdict.event == {"id": "a", "n": 2}


def test_schema_violation_points_at_the_value_and_names_path_and_expected_type() -> None:
    line = '{"type":"ToolCallCompleted","toolName":"날씨🌦️","result":{},"durationMs":"fast","timestamp":1}'
    verdict = check_line(line.encode(), 0, CONVERSATION)
    assert verdict.kind == BAD
    [problem] = verdict.problems
    start = utf16(line[: line.index('"fast"')])
    assert (problem.code, problem.start, problem.end) == ("ASTRA010", start, start + len('"fast"'))
    assert "durationMs" in problem.message
    assert "number" in problem.message and "string" in problem.message
    assert problem.data["path"] == "durationMs"


def test_schema_violation_in_a_nested_value_names_the_dotted_path() -> None:
    line = '{"type":"TaskReceived","timestamp":1,"taskDescription":"t","constraints":["ok",7]}'
    verdict = check_line(line.encode(), 0, LineRules(builtin_schema("agent")))
    [problem] = verdict.problems
    assert problem.code == "ASTRA010"
    assert problem.data["path"] == "constraints.1"
    assert line[problem.start : problem.end] == "7"


def test_missing_required_field_points_into_the_event_and_names_the_field() -> None:
    line = '{"type":"UserMessageSent","timestamp":1}'
    verdict = check_line(line.encode(), 0, CONVERSATION)
    [problem] = verdict.problems
    assert problem.code == "ASTRA010"
    assert "content" in problem.message
    assert 0 <= problem.start < problem.end <= len(line)


def test_unknown_type_suggests_the_closest_known_type() -> None:
    line = '{"type":"AssistantTokenGenrated","timestamp":1,"token":"x","index":0}'
    verdict = check_line(line.encode(), 0, CONVERSATION)
    [problem] = verdict.problems
    assert problem.code == "ASTRA011"
    assert "did you mean 'AssistantTokenGenerated'?" in problem.message
    assert line[problem.start : problem.end] == '"AssistantTokenGenrated"'


def test_duplicate_id_is_related_to_the_first_occurrence() -> None:
    data = jsonl({"id": "a", "timestamp": 1}, {"id": "b", "timestamp": 2}, {"label": "한🙂", "id": "a",
                                                                            "timestamp": 3})
    [problem] = problems_of(data)
    third = data.splitlines()[2].decode()
    assert (problem.code, problem.line) == ("ASTRA020", 2)
    assert (problem.start, problem.end) == (utf16(third[: third.index('"a"')]), utf16(third[: third.index('"a"')]) + 3)
    [related] = problem.related
    first = data.splitlines()[0].decode()
    assert (related.line, related.start, related.end) == (0, first.index('"a"'), first.index('"a"') + 3)
    assert "line 1" in problem.message


def test_timestamp_going_backwards_is_related_to_the_previous_event() -> None:
    data = jsonl({"id": "a", "timestamp": 10}, {"id": "b", "timestamp": 30}, {"id": "c", "timestamp": 20})
    [problem] = problems_of(data)
    assert (problem.code, problem.line, problem.severity) == ("ASTRA021", 2, Severity.WARNING)
    second = data.splitlines()[1].decode()
    assert [(r.line, r.start, r.end) for r in problem.related] == [(1, second.index("30"), second.index("30") + 2)]
    assert "30" in problem.message and "20" in problem.message


def test_iso_timestamps_are_compared_as_times() -> None:
    data = jsonl({"id": "a", "timestamp": "2025-01-01T00:00:01Z"}, {"id": "b", "timestamp": "2025-01-01T00:00:00Z"})
    assert [p.code for p in problems_of(data)] == ["ASTRA021"]


def test_missing_final_newline_is_flagged_at_the_end_of_the_last_line() -> None:
    data = '{"id":"a"}\n{"id":"한🙂"}'.encode()
    problems = problems_of(data)
    assert [(p.code, p.line, p.start, p.end) for p in problems] == [
        ("ASTRA033", 1, utf16('{"id":"한🙂"}'), utf16('{"id":"한🙂"}'))]


def test_torn_last_line_is_malformed_and_missing_its_newline() -> None:
    data = b'{"id":"a"}\n{"id":"b","timest'
    analysis = analyse(data)
    assert analysis.line_count == 2 and analysis.event_count() == 1
    assert codes_by_line(analysis.problems(lambda o, n: data[o : o + n])) == {2: ["ASTRA001", "ASTRA033"]}


def test_every_line_is_an_event_or_has_a_problem() -> None:
    data = b"".join([
        b'\xef\xbb\xbf{"id":"bom"}\n',
        b'{"id":"crlf"}\r\n',
        b"\n",
        b"[1]\n",
        b'{"id":"\xff"}\n',
        b'{"id":1}{\n',
        b'{"id":"ok"}\n',
        b'{"id":"x\x00"}\n',
        b'{"id":"ok"}\n',
    ])
    analysis = analyse(data)
    problems = analysis.problems(lambda o, n: data[o : o + n])
    lines_with_problems = {p.line for p in problems}
    for line in range(analysis.line_count):
        assert analysis.is_event(line) or line in lines_with_problems
    assert analysis.line_count == 9
    assert codes_by_line(problems) == {1: ["ASTRA030"], 2: ["ASTRA031"], 3: ["ASTRA032"], 4: ["ASTRA002"],
                                       5: ["ASTRA003"], 6: ["ASTRA001"], 8: ["ASTRA035"], 9: ["ASTRA020"]}


def test_problems_carry_a_message_naming_what_is_wrong() -> None:
    data = b'{"a":1,}\n[1]\n'
    for problem in problems_of(data):
        assert problem.message and problem.message[0].islower()
        assert problem.code in CODES


def test_a_snapshot_record_without_its_fields_is_invalid() -> None:
    kind, found = only(json.dumps({"type": "$snapshot", "state": {}}).encode())
    assert kind == BAD
    assert [code for code, _, _ in found] == ["ASTRA039"]


@pytest.mark.parametrize("raw", [b"[", b'{"a":', '{"한":"🙂'.encode(), b'{"a":1} x'])
def test_malformed_range_never_runs_past_the_end_of_the_line(raw: bytes) -> None:
    [problem] = check_line(raw, 0, GENERIC).problems
    assert problem.code == "ASTRA001"
    assert 0 <= problem.start <= problem.end <= utf16(raw.decode())
