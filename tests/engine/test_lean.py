"""A lean analysis (what a one-off `astra-ls check` builds) keeps only what its problems need, and finds
exactly the problems, positions, related lines and counts that a full analysis finds."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from astra_ls.core.analysis import MARK_EVERY, AnalysisRules, StoreAnalysis
from astra_ls.store.follow import FollowedFile

from .conftest import rules_for
from .test_incremental import POOL, document
from .test_parallel import mixed_store


def report(analysis: StoreAnalysis, path: Path) -> dict[str, Any]:
    """Everything a check reports: every field of every problem, and the counts."""
    data = path.read_bytes()
    problems = analysis.problems(lambda offset, length: data[offset : offset + length])
    return {"problems": [(p.line, p.start, p.end, p.code, p.severity, p.message, p.related, p.data) for p in problems],
            "events": analysis.event_count(), "byType": analysis.counts_by_type(), "lines": analysis.line_count}


def checked(path: Path, rules: AnalysisRules, lean: bool) -> StoreAnalysis:
    followed = FollowedFile(path, rules, lean=lean)
    followed.refresh()
    assert followed.analysis is not None and followed.analysis.lean is lean
    return followed.analysis


@pytest.mark.parametrize("rules", [rules_for(), rules_for(unique_ids=False), rules_for(ordered=False),
                                   rules_for(max_line_bytes=200)], ids=["all", "ids", "order", "long"])
def test_lean_equals_full_in_one_process(tmp_path: Path, rules: AnalysisRules) -> None:
    path = tmp_path / "s.jsonl"
    mixed_store(path, 5_000)
    with path.open("ab") as handle:
        handle.write(b'{"id":"e7","timestamp":1,"text":"' + "\u00e9".encode() * 300 + b'"}\n{"id":"e9","ti')
    lean = checked(path, rules, lean=True)
    assert not lean.offsets and not lean.kinds and not lean.timestamps and not lean.type_ids
    assert report(lean, path) == report(checked(path, rules, lean=False), path)


def test_lean_equals_full_when_parts_are_scanned_by_other_processes(tmp_path: Path, small_parts: None) -> None:
    """Parts join their time order at the borders (an event earlier than the last one of the part before),
    and their sparse line starts are renumbered."""
    path = tmp_path / "big.jsonl"
    mixed_store(path, 20_000)
    lean, full = checked(path, rules_for(), lean=True), checked(path, rules_for(), lean=False)
    assert len(lean.mark_lines) == len(lean.mark_offsets) > lean.line_count // MARK_EVERY
    assert report(lean, path) == report(full, path)
    assert len(report(lean, path)["problems"]) > 30
    backwards = tmp_path / "backwards.jsonl"  # every event is earlier than the one before, at borders too
    backwards.write_bytes(b"".join(b'{"id":"e%d","timestamp":%d,"pad":"%s"}\n' % (n, -n, b"x" * 40)
                                   for n in range(12_000)))
    lean = checked(backwards, rules_for(), lean=True)
    assert report(lean, backwards) == report(checked(backwards, rules_for(), lean=False), backwards)
    assert len(lean.order.backwards) == 11_999


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(POOL), max_size=200), st.booleans())
def test_lean_equals_full_on_any_lines(body: list[bytes], newline: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.jsonl"
        path.write_bytes(document(body, newline))
        assert report(checked(path, rules_for(), lean=True), path) == report(checked(path, rules_for(), lean=False),
                                                                             path)


def test_a_lean_analysis_is_never_edited_nor_cached(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"id":"a"}\n{"id":"b"')
    lean = checked(path, rules_for(), lean=True)
    with pytest.raises(ValueError, match="lean"):
        lean.splice(0, 1, b'{"id":"c"}\n', False)
    with pytest.raises(ValueError, match="lean"):
        lean.resume_offset()
    with pytest.raises(ValueError, match="cache"):
        FollowedFile(path, rules_for(), cache=object(), lean=True)  # type: ignore[arg-type]
