"""msgspec gives its decode errors no structured position, so the scan reads it from the message: the two
formats it relies on are checked here against the installed msgspec (its range is pinned in pyproject)."""

from __future__ import annotations

import msgspec
import pytest

from astra_ls.core.scan import where_batch_failed


class Tick(msgspec.Struct):
    type: str
    timestamp: int


def test_a_value_that_fails_validation_names_its_index_in_the_batch() -> None:
    lines = b'{"type":"a","timestamp":1}\n{"type":"b","timestamp":2}\n{"type":"c","timestamp":"x"}\n'
    with pytest.raises(msgspec.ValidationError) as raised:
        msgspec.json.Decoder(Tick).decode_lines(lines)
    assert where_batch_failed(raised.value) == ("value", 2)


def test_malformed_json_names_the_byte_where_it_broke() -> None:
    lines = b'{"type":"a","timestamp":1}\n{"type":"b",,"timestamp":2}\n'
    with pytest.raises(msgspec.DecodeError) as raised:
        msgspec.json.Decoder(Tick).decode_lines(lines)
    where = where_batch_failed(raised.value)
    assert where is not None and where[0] == "byte"
    assert lines.index(b",,") <= where[1] <= lines.index(b",,") + 1


def test_an_error_that_says_nothing_gives_no_position() -> None:
    assert where_batch_failed(ValueError("something else")) is None
