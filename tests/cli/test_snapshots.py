"""Forged or stale `$snapshot` records, through the command line as processes: an invalid record is an
ASTRA039 problem that counts and replays skip (never a wrong count, never a crash), and a snapshot made
by another projector is never folded into this one's state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .test_cli import astra, write

EVENTS = [{"id": f"e{n}", "type": "Tick", "timestamp": n} for n in range(1, 4)]


def run(ws: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = astra(*args, "--workspace", str(ws), "--format", "json")
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout or result.stderr)


def snapshot(**fields: Any) -> dict[str, Any]:
    return {"type": "$snapshot", "id": "snapshot-feed-1", "timestamp": 0, "projector": "generic", "events": 2,
            "byType": {"Tick": 2}, "upToLine": 2,
            "state": {"events": 2, "byType": {"Tick": 2}, "last": None}, **fields}


def jsonl(*events: dict[str, Any]) -> bytes:
    return "".join(json.dumps(e) + "\n" for e in events).encode()


@pytest.mark.parametrize("forged", [{"events": -5, "byType": {}}, {"byType": {"Tick": "x"}},
                                    {"events": True}, {"byType": {"Tick": 5}}, {"projector": None},
                                    {"state": []}])
def test_an_invalid_snapshot_is_a_problem_that_counts_skip(tmp_path: Path, forged: dict[str, Any]) -> None:
    """Before: events -5 made count answer -4, and byType {"Tick": "x"} crashed count."""
    (tmp_path / ".astra").mkdir()
    write(tmp_path, "feed", jsonl(snapshot(**forged), EVENTS[0]))
    code, counted = run(tmp_path, "count", "feed")
    assert (code, counted["count"], counted["byType"]) == (0, 1, {"Tick": 1})
    code, projected = run(tmp_path, "project", "feed")
    assert code == 0 and projected["state"]["events"] == 1
    checked = astra("check", str(tmp_path), "--format", "json")
    assert checked.returncode == 1
    [problem] = json.loads(checked.stdout)["files"][0]["problems"]
    assert problem["code"] == "ASTRA039" and problem["line"] == 1


def test_a_valid_snapshot_is_counted_and_replayed(tmp_path: Path) -> None:
    (tmp_path / ".astra").mkdir()
    write(tmp_path, "feed", jsonl(snapshot(), EVENTS[2]))
    code, counted = run(tmp_path, "count", "feed")
    assert (code, counted["count"], counted["byType"]) == (0, 3, {"Tick": 3})
    assert run(tmp_path, "project", "feed")[1]["state"]["events"] == 3
    assert astra("check", str(tmp_path)).returncode == 0


def test_a_snapshot_whose_state_the_projector_does_not_fold_is_refused(tmp_path: Path) -> None:
    """Before: `state: {}` crashed project."""
    (tmp_path / ".astra").mkdir()
    write(tmp_path, "feed", jsonl(snapshot(state={}), EVENTS[2]))
    code, refused = run(tmp_path, "project", "feed")
    assert code == 1 and refused["code"] == "SNAPSHOT_MISMATCH"
    assert "no 'events'" in refused["message"] and refused["details"]["line"] == 1


def test_after_the_projector_changed_a_snapshot_is_not_folded_into_the_new_one(tmp_path: Path) -> None:
    """Before: project failed with KeyError, or silently mixed two projectors' states."""
    (tmp_path / ".astra").mkdir()
    store = write(tmp_path, "feed", jsonl(*EVENTS))
    code, compacted = run(tmp_path, "compact", "feed", "--up-to-line", "2")
    assert code == 0 and compacted["compactedEvents"] == 2
    assert json.loads(store.read_text().splitlines()[0])["projector"] == "generic"
    assert run(tmp_path, "project", "feed")[1]["state"]["events"] == 3

    (tmp_path / "astra-ls.toml").write_text('[[stores]]\nglob = "feed.jsonl"\nprojector = "entity"\n')
    code, refused = run(tmp_path, "project", "feed")
    assert code == 1 and refused["code"] == "SNAPSHOT_MISMATCH", refused
    assert "'generic'" in refused["message"] and "'entity'" in refused["message"]
    assert compacted["archivePath"].split("/")[-1] in refused["message"]
    code, refused = run(tmp_path, "project", "feed", "--at-line", "2")
    assert code == 1 and refused["code"] == "SNAPSHOT_MISMATCH"
    code, refused = run(tmp_path, "compact", "feed")
    assert code == 1 and refused["code"] == "SNAPSHOT_MISMATCH"
    assert run(tmp_path, "count", "feed")[1]["count"] == 3  # counting needs no projector
