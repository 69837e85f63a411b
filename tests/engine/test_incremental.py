"""Incremental analysis: after `resume` (a grown file) and `splice` (an editor's change) the analysis is
exactly what a fresh full analysis of the final bytes gives."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from astra_ls.core.analysis import StoreAnalysis
from astra_ls.core.blocks import Block
from astra_ls.core.crossline import REBUILD_CHUNK
from astra_ls.store.follow import Change, FollowedFile

from .conftest import analyse, reader, rules_for, snapshot

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

POOL = [
    b'{"id":"a","timestamp":1}', b'{"id":"b","timestamp":2}', b'{"id":"a","timestamp":3}',
    b'{"id":"c","timestamp":0}', b'{"type":"T","id":"d","timestamp":5}', b'{"type":"U","timestamp":4}',
    b'{"id":"\xed\x95\x9c\xf0\x9f\x99\x82","timestamp":6}', b"", b"  ", b"[1]", b'{"id":', b'{"a":1}\r',
    b'\xef\xbb\xbf{"id":"bom"}', b'{"x":"\xff"}', b'{"n":123456789012345678901}', b'{"type":"$snapshot"}',
]
lines = st.lists(st.sampled_from(POOL), max_size=10)


def document(body: list[bytes], newline: bool) -> bytes:
    return b"\n".join(body) + (b"\n" if newline and body else b"")


@PROPERTY
@given(lines, st.booleans(), lines, st.booleans(), st.integers(0, 30))
def test_resume_after_appends_equals_a_fresh_analysis(first: list[bytes], first_nl: bool, more: list[bytes],
                                                      more_nl: bool, cut: int) -> None:
    start = document(first, first_nl)
    grown = start + document(more, more_nl)
    middle = grown[: len(start) + min(cut, len(grown) - len(start))]  # a torn write on the way
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.jsonl"
        path.write_bytes(start)
        followed = FollowedFile(path, rules_for())
        followed.refresh()
        for stage in (middle, grown):
            assert followed.analysis is not None
            followed.analysis.problems(followed.read)  # materialised before the change, rebuilt after it
            with path.open("ab") as handle:
                handle.write(stage[path.stat().st_size :])
            assert followed.refresh() in (Change.APPENDED, Change.UNCHANGED, Change.RESCANNED)
            assert followed.analysis is not None
            assert snapshot(followed.analysis, stage) == snapshot(analyse(stage), stage)


@PROPERTY
@given(lines, st.booleans(), st.data())
def test_splice_equals_a_fresh_analysis(body: list[bytes], newline: bool, data: st.DataObject) -> None:
    old = document(body, newline)
    analysis = analyse(old)
    for _ in range(data.draw(st.integers(1, 3))):
        analysis.problems(reader(old))  # materialised before the change, rebuilt after it
        count = analysis.line_count
        first = data.draw(st.integers(0, count))
        old_count = data.draw(st.integers(0, count - first))
        replacement = data.draw(lines)
        tail = first + old_count >= count
        base = analysis.offsets[first] if first < count else analysis.size
        if tail:
            new_data = document(replacement, data.draw(st.booleans()))
            new = old[:base] + new_data
            if first == count and count and not analysis.terminated:  # inserting after an unterminated line
                continue
        else:
            new_data = b"".join(line + b"\n" for line in replacement)
            new = old[:base] + new_data + old[analysis.offsets[first + old_count] :]
        analysis.splice(first, old_count, new_data, tail)
        assert snapshot(analysis, new) == snapshot(analyse(new), new), (old, first, old_count, new_data)
        old = new
    # The indexes carried over the edits still take appended events exactly (ids that left, ids that came).
    more = document(data.draw(lines), True)
    if analysis.terminated and more:
        analysis.feed([Block(analysis.size, more)])
        assert snapshot(analysis, old + more) == snapshot(analyse(old + more), old + more)


def test_deleting_the_unterminated_last_line_leaves_a_terminated_document() -> None:
    old = b'{"id":"a"}\n{"id":"b"}'
    analysis = analyse(old)
    analysis.splice(1, 1, b"", True)
    new = b'{"id":"a"}\n'
    assert snapshot(analysis, new) == snapshot(analyse(new), new)


def test_completing_a_torn_last_line_turns_it_into_an_event(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"id":"a"}\n{"id":"b","ti')
    followed = FollowedFile(path, rules_for())
    followed.refresh()
    assert followed.analysis is not None and followed.analysis.event_count() == 1
    with path.open("ab") as handle:
        handle.write(b'mestamp":2}\n')
    assert followed.refresh() is Change.APPENDED
    assert followed.analysis.event_count() == 2
    assert followed.analysis.problems(followed.read) == []


def test_a_replaced_file_is_rescanned(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"id":"a"}\n{"id":"b"}\n')
    followed = FollowedFile(path, rules_for())
    followed.refresh()
    replacement = tmp_path / "new.jsonl"
    replacement.write_bytes(b'{"id":"z"}\n{"id":"y"}\n{"id":"x"}\n')
    replacement.replace(path)
    assert followed.refresh() is Change.RESCANNED
    assert followed.analysis is not None and followed.analysis.event_count() == 3


def test_a_truncated_file_is_rescanned(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"id":"a"}\n{"id":"b"}\n')
    followed = FollowedFile(path, rules_for())
    followed.refresh()
    with path.open("r+b") as handle:
        handle.truncate(11)
    assert followed.refresh() is Change.RESCANNED
    assert followed.analysis is not None and followed.analysis.event_count() == 1


def test_a_deleted_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"id":"a"}\n')
    followed = FollowedFile(path, rules_for())
    followed.refresh()
    path.unlink()
    assert followed.refresh() is Change.DELETED
    assert followed.analysis is None


def test_bulk_indexing_across_chunk_boundaries_equals_line_by_line_indexing() -> None:
    """Backward timestamps and repeated ids right at the bulk indexer's chunk edges are found exactly as
    when the same lines arrive one append at a time."""
    count = 2 * REBUILD_CHUNK + 10
    stamps = list(range(count))
    for edge in (REBUILD_CHUNK, 2 * REBUILD_CHUNK):
        stamps[edge] = stamps[edge - 1] - 1  # the first event of a chunk goes back in time
    ids = [f"e{i}" for i in range(count)]
    ids[REBUILD_CHUNK] = ids[REBUILD_CHUNK - 1]
    ids[2 * REBUILD_CHUNK + 1] = "e3"
    data = b"".join(b'{"id":"%s","timestamp":%d}\n' % (i.encode(), t) for i, t in zip(ids, stamps, strict=True))
    bulk = analyse(data)
    one_by_one = StoreAnalysis(rules_for())
    one_by_one.feed(Block(offset, line) for offset, line in _lines_with_offsets(data))
    assert snapshot(bulk, data) == snapshot(one_by_one, data)
    assert len(snapshot(bulk, data)["problems"]) == 4


def _lines_with_offsets(data: bytes) -> list[tuple[int, bytes]]:
    found, offset = [], 0
    for line in data.splitlines(keepends=True):
        found.append((offset, line))
        offset += len(line)
    return found


def test_problems_before_an_append_are_kept_and_the_tail_is_added(tmp_path: Path) -> None:
    """After an append only the new lines' problems are built: the others are the very same objects."""
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"id":"a","timestamp":2}\n{"id":"a","timestamp":1}\nnot json\n')
    followed = FollowedFile(path, rules_for())
    followed.refresh()
    assert followed.analysis is not None
    before = followed.analysis.problems(followed.read)
    with path.open("ab") as handle:
        handle.write(b'{"id":"a","timestamp":0}\n{"id":"b"')
    assert followed.refresh() is Change.APPENDED
    after = followed.analysis.problems(followed.read)
    assert all(old is new for old, new in zip(before, after, strict=False))
    fresh = analyse(path.read_bytes()).problems(reader(path.read_bytes()))
    assert [(p.line, p.code, p.message) for p in after] == [(p.line, p.code, p.message) for p in fresh]
    assert [p.code for p in after[len(before):]] == ["ASTRA020", "ASTRA021", "ASTRA001", "ASTRA033"]
