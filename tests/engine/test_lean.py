"""A lean analysis (what a one-off `astra-ls check` builds) keeps only what its problems need, and finds
exactly the problems, positions, related lines and counts that a full analysis finds."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from astra_ls.core.analysis import AnalysisRules, BaseAnalysis, StoreAnalysis
from astra_ls.core.crossline import short_keys
from astra_ls.core.facts import NO_ID
from astra_ls.core.lean_analysis import MARK_EVERY, LeanAnalysis
from astra_ls.store.check_scan import check_scan
from astra_ls.store.follow import FollowedFile

from .conftest import rules_for
from .test_incremental import POOL, document
from .test_parallel import mixed_store


def report(analysis: BaseAnalysis, path: Path) -> dict[str, Any]:
    """Everything a check reports: every field of every problem, and the counts."""
    data = path.read_bytes()
    problems = analysis.problems(lambda offset, length: data[offset : offset + length])
    return {"problems": [(p.line, p.start, p.end, p.code, p.severity, p.message, p.related, p.data) for p in problems],
            "events": analysis.event_count(), "byType": analysis.counts_by_type(), "lines": analysis.line_count}


def checked_lean(path: Path, rules: AnalysisRules) -> LeanAnalysis:
    """What `astra-ls check` builds without the index cache."""
    lean = check_scan(path, rules)
    assert lean is not None
    return lean


def checked_full(path: Path, rules: AnalysisRules) -> StoreAnalysis:
    """What the language server keeps current."""
    followed = FollowedFile(path, rules)
    followed.refresh()
    assert followed.analysis is not None
    return followed.analysis


@pytest.mark.parametrize("rules", [rules_for(), rules_for(unique_ids=False), rules_for(ordered=False),
                                   rules_for(max_line_bytes=200)], ids=["all", "ids", "order", "long"])
def test_lean_equals_full_in_one_process(tmp_path: Path, rules: AnalysisRules) -> None:
    path = tmp_path / "s.jsonl"
    mixed_store(path, 5_000)
    with path.open("ab") as handle:
        handle.write(b'{"id":"e7","timestamp":1,"text":"' + "\u00e9".encode() * 300 + b'"}\n{"id":"e9","ti')
    lean = checked_lean(path, rules)
    assert set(LeanAnalysis.SENT_ARRAYS) == {"id_hashes", "mark_lines", "mark_offsets"}
    assert not any(hasattr(lean, name) for name in ("offsets", "kinds", "timestamps", "type_ids"))
    assert report(lean, path) == report(checked_full(path, rules), path)


def test_lean_equals_full_when_parts_are_scanned_by_other_processes(tmp_path: Path, small_parts: None) -> None:
    """Parts join their time order at the borders (an event earlier than the last one of the part before),
    and their sparse line starts are renumbered."""
    path = tmp_path / "big.jsonl"
    mixed_store(path, 20_000)
    lean, full = checked_lean(path, rules_for()), checked_full(path, rules_for())
    assert len(lean.mark_lines) == len(lean.mark_offsets) > lean.line_count // MARK_EVERY
    assert report(lean, path) == report(full, path)
    assert len(report(lean, path)["problems"]) > 30
    backwards = tmp_path / "backwards.jsonl"  # every event is earlier than the one before, at borders too
    backwards.write_bytes(b"".join(b'{"id":"e%d","timestamp":%d,"pad":"%s"}\n' % (n, -n, b"x" * 40)
                                   for n in range(12_000)))
    lean = checked_lean(backwards, rules_for())
    assert report(lean, backwards) == report(checked_full(backwards, rules_for()), backwards)
    assert len(lean.order.backwards) == 11_999


# ids equal as JSON values but written differently, ids that are not strings, and an event longer than
# the scanner's small-block path: a lean check scans the lines whose short keys repeat one by one
IDS = [b'{"id":"\\u0061","timestamp":7}', b'{"id": "a" ,"timestamp":8}', b'{"id":1,"timestamp":9}',
       b'{"id":1.0}', b'{"id":{"k":[1,"a"]}}', b'{"id":{"k":[1,"a"]},"timestamp":10}',
       b'{"id":"a","text":"' + b"x" * 20_000 + b'"}']


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(POOL + IDS), max_size=200), st.booleans())
def test_lean_equals_full_on_any_lines(body: list[bytes], newline: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.jsonl"
        path.write_bytes(document(body, newline))
        assert report(checked_lean(path, rules_for()), path) == report(checked_full(path, rules_for()), path)


def test_a_lean_analysis_has_no_operation_it_cannot_do(tmp_path: Path) -> None:
    """Editing, cutting, growing, saving and line positions exist only on the full analysis: a caller that
    tries them on a lean one is caught by the type checker, not by a refusal at run time."""
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"id":"a"}\n{"id":"b"')
    lean = checked_lean(path, rules_for())
    full_only = ("splice", "truncate", "resume", "resume_offset", "line_span", "line_of_offset", "event_mask",
                 "first_line_with_id", "cross_lines_saved", "restore_cross_lines", "recount")
    assert all(callable(getattr(StoreAnalysis, name)) for name in full_only)
    assert not [name for name in full_only if hasattr(lean, name)]
    assert not isinstance(lean, StoreAnalysis) and (lean.line_count, lean.event_count()) == (2, 1)  # one torn


def colliding_ids() -> tuple[str, str]:
    """Two different ids whose hashes share their low 32 bits (this process's hash seed is the one its
    analyses use): about 2**16 tries."""
    seen: dict[int, str] = {}
    for n in range(1 << 24):
        text = f"id-{n}"
        other = seen.setdefault(hash(text) & 0xFFFFFFFF, text)
        if other != text:
            return other, text
    raise AssertionError("no two ids share the low 32 bits of their hashes")


def test_ids_whose_short_keys_collide_are_not_duplicates(tmp_path: Path, small_parts: None) -> None:
    """A lean check keeps 4 bytes of each id's hash: two ids sharing them are told apart by their full
    hashes, and the true repeats among them still name their first line, in one process or several."""
    a, b = colliding_ids()
    [key_a, key_b] = short_keys(np.array([hash(a), hash(b)], np.int64)).tolist()
    assert a != b and key_a == key_b
    lines = [f'{{"id":"{a}","timestamp":1}}', f'{{"id":"{b}","timestamp":2}}', f'{{"id":"{a}","timestamp":3}}',
             f'{{"id":"{b}","timestamp":4}}']
    one = tmp_path / "one.jsonl"
    one.write_text("\n".join(lines) + "\n")
    lean = checked_lean(one, rules_for())
    assert lean.duplicates.duplicates == {2: 0, 3: 1}
    assert report(lean, one) == report(checked_full(one, rules_for()), one)
    big = tmp_path / "big.jsonl"  # the pair far apart, in parts scanned by different processes
    pad = [f'{{"id":"p{n}","timestamp":{n},"pad":"{"x" * 60}"}}' for n in range(12_000)]
    big.write_text("\n".join([lines[0], *pad[:6_000], lines[1], *pad[6_000:], lines[2]]) + "\n")
    lean = checked_lean(big, rules_for())
    assert lean.duplicates.duplicates == {12_002: 0}
    assert report(lean, big) == report(checked_full(big, rules_for()), big)


def test_short_keys_keep_the_low_32_bits_and_no_id_only_where_there_is_none() -> None:
    keys = np.array([NO_ID, 1 << 32, -1, (5 << 32) | 7, -(1 << 40)], np.int64)
    assert short_keys(keys).tolist() == [NO_ID, 1, -1, 7, 1]
