"""The batch decoder and the precise line checker agree, wherever in a store a line sits.

Most lines are judged in batches by a fast decoder; these tests put tricky lines deep inside a block of
valid lines (where the batch path runs) and compare with the precise verdict of each line on its own.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from astra_ls.core.care import UTF8_WINDOW, WALK_LIMIT, risky_numbers
from astra_ls.core.linecheck import EVENT, LineRules, check_line
from astra_ls.schemas.families import builtin_schema

from .conftest import analyse, codes_by_line

PADDING = 300


def valid_line(family: str, n: int) -> bytes:
    if family == "conversation":
        event = {"type": "UserMessageSent", "id": f"e{n}", "timestamp": n, "content": "hi"}
    else:
        event = {"id": f"e{n}", "timestamp": n}
    return json.dumps(event, separators=(",", ":")).encode()


def store_with(family: str, tricky: list[bytes]) -> bytes:
    before = [valid_line(family, n) for n in range(PADDING)]
    after = [valid_line(family, PADDING + len(tricky) + n) for n in range(5)]
    return b"\n".join([*before, *tricky, *after]) + b"\n"


TRICKY = [
    b'{"id":"t","note":"\xed\xa0\x80"}',  # an encoded surrogate: invalid UTF-8 in a field the decoder skips
    b'{"id":"t","note":"\xc0\xaf"}',  # an overlong encoding
    b'{"id":"t","note":"\xf4\x90\x80\x80"}',  # beyond U+10FFFF
    b'{"id":"t","note":"\xff"}',
    b'{"id":"t","note":1e400}',  # overflows a double
    b'{"id":"t","note":-1E+999}',
    b'{"id":"t","note":123456789012345678901234567890}',  # beyond 64 bits: kept, flagged
    b'{"id":"t","note":"\\ud800"}',  # a lone surrogate escape
    b'{"id":"t","note":1e300}',  # large but finite
    b'{"id":"t"} {"id":"u"}',  # two values on one line
    b'  {"id":"t"}  ',
    b'{"id":"t"}\r',
]


@pytest.mark.parametrize("family", ["generic", "conversation", "entity"])
@pytest.mark.parametrize("raw", TRICKY, ids=lambda raw: repr(raw)[2:30])
def test_a_line_deep_in_a_block_gets_its_precise_verdict(family: str, raw: bytes) -> None:
    if family == "conversation":
        raw = raw.replace(b'{"id":"t"', b'{"type":"UserMessageSent","timestamp":1e12,"content":"c","id":"t"', 1)
    data = store_with(family, [raw])
    analysis = analyse(data, family)
    precise = check_line(raw, PADDING, LineRules(builtin_schema(family)))
    assert analysis.line_count == PADDING + 6
    assert analysis.kinds[PADDING] == precise.kind
    found = codes_by_line(analysis.problems(lambda o, n: data[o : o + n])).get(PADDING + 1, [])
    assert [c for c in found if c not in ("ASTRA020", "ASTRA021")] == [p.code for p in precise.problems]


def test_two_values_on_a_line_and_a_blank_line_do_not_cancel_out() -> None:
    data = store_with("generic", [b'{"id":"t"} {"id":"u"}', b""])
    codes = codes_by_line(analyse(data).problems(lambda o, n: data[o : o + n]))
    assert codes == {PADDING + 1: ["ASTRA001"], PADDING + 2: ["ASTRA032"]}


def test_a_value_spread_over_two_lines_does_not_make_up_for_two_values_on_one_line() -> None:
    data = store_with("generic", [b'{"id":"t"} {"id":"u"}', b'{"id":"v","n":[1,', b"2]}"])
    analysis = analyse(data)
    assert [analysis.kinds[PADDING + i] == EVENT for i in range(3)] == [False, False, False]
    assert analysis.event_count() == PADDING + 5


def test_invalid_utf8_in_an_unknown_field_is_reported_wherever_the_line_is() -> None:
    data = store_with("generic", [b'{"id":"t","note":"\xff"}'])
    codes = codes_by_line(analyse(data).problems(lambda o, n: data[o : o + n]))
    assert codes == {PADDING + 1: ["ASTRA003"]}


def test_invalid_utf8_is_found_on_every_line_of_a_block_bigger_than_one_validation_window() -> None:
    """Bytes are checked a window at a time: bad lines in later windows and at a window's edge count too."""
    filler = '{"id":"e%d","timestamp":%d,"note":"안녕 🙂 %s"}'
    lines = [(filler % (n, n, "x" * 200)).encode() for n in range(4 * UTF8_WINDOW // 200)]
    bad = [len(lines) // 3, len(lines) // 3 + 1, len(lines) - 1]
    for line in bad:
        lines[line] = b'{"id":"b%d","note":"\xff"}' % line
    data = b"\n".join(lines) + b"\n"
    codes = codes_by_line(analyse(data).problems(lambda o, n: data[o : o + n]))
    assert codes == {line + 1: ["ASTRA003"] for line in bad}  # numbered from 1, as an editor shows them


def _reference_risky_lines(data: bytes) -> set[int]:
    """Lines holding a risky number, found one byte at a time: a run of 19+ digits, or a digit, 'e', an
    optional sign and 3+ digits, with a structural character before the mantissa's digits and after the
    exponent's."""
    digits, size, found = b"0123456789", len(data), set()
    for position in range(size):
        if data[position : position + 19].isdigit() and len(data[position : position + 19]) == 19:
            found.add(data.count(b"\n", 0, position))
        if not (position > 0 and position + 4 < size and data[position] in b"eE" and data[position - 1] in digits):
            continue
        first = position + 1 + (data[position + 1] in b"+-")
        if not data[first : first + 3].isdigit() or len(data[first : first + 3]) < 3:
            continue
        after, before = first, position - 1
        while after < size and data[after] in digits:
            after += 1
        while before >= 0 and data[before] in digits:
            before -= 1
        if data[min(after, size - 1)] in b",}] \t\r\n" and data[max(before, 0)] in b":,[ \t-.":
            found.add(data.count(b"\n", 0, position))
    return found


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([b"1", b"9", b"e", b"E", b"+", b"-", b".", b",", b":", b"}", b" ", b"a", b'"',
                                 b"\n", b"1" * 7, b"3e7229c5", b"1e300", b"2E+999", b"7e-123", b":", b",",
                                 b"12345678901234567890"]), max_size=80))
def test_risky_numbers_are_found_on_exactly_the_lines_a_byte_by_byte_search_finds(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    view = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(view == 10)
    ends = np.append(ends, len(data))
    found = {int(line) for positions in risky_numbers(view) for line in np.searchsorted(ends, positions)}
    assert found == _reference_risky_lines(data)


def test_an_exponent_after_a_very_long_mantissa_is_still_judged() -> None:
    """Digit runs longer than the quick walk fall back to whole-block run bounds."""
    data = b'{"id":"x","n":' + b"1" * (WALK_LIMIT * 3) + b"e999}\n" + b'{"id":"y","h":"a' + b"1" * 40 + b'e123x"}\n'
    view = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(view == 10)
    found = {int(line) for positions in risky_numbers(view) for line in np.searchsorted(ends, positions)}
    assert found == _reference_risky_lines(data) == {0, 1}


# Lines that are framed like objects, so the batch decoder is the one to fail on them (malformed JSON or a
# schema violation, found at a value or at a byte), mixed into valid lines anywhere: alone, in runs, a whole
# batch of them.
FAILING_IN_A_BATCH = [
    b'{"type":"UserMessageSent","id":"b","timestamp":1,"content":"c",}',
    b'{"type":"UserMessageSent","id":"b","timestamp":"soon","content":"c"}',
    b'{"type":"NoSuchType","id":"b","timestamp":1}',
    b"{'type':'UserMessageSent'}",
    b'{"type":"UserMessageSent","id":"b","timestamp":1}',
]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 3 * len(FAILING_IN_A_BATCH)).map(
    lambda k: FAILING_IN_A_BATCH[k] if k < len(FAILING_IN_A_BATCH) else None), min_size=200, max_size=700))
def test_every_line_of_a_batch_with_failures_gets_its_precise_verdict(choices: list[bytes | None]) -> None:
    lines = [raw if raw is not None else valid_line("conversation", n) for n, raw in enumerate(choices)]
    data = b"\n".join(lines) + b"\n"
    analysis = analyse(data, "conversation")
    rules = LineRules(builtin_schema("conversation"))
    found = codes_by_line(analysis.problems(lambda o, n: data[o : o + n]))
    for number, raw in enumerate(lines):
        precise = check_line(raw, number, rules)
        assert analysis.kinds[number] == precise.kind, number
        codes = [c for c in found.get(number + 1, []) if c not in ("ASTRA020", "ASTRA021")]
        assert codes == [p.code for p in precise.problems], number
