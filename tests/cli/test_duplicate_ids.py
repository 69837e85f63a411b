"""Ids that must be unique: the writer never writes what the checker flags (ASTRA020), a retried append of
the very same event is a no-op, and duplicates already in a store can be quarantined so it can be
compacted. Through the command line, as processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .test_cli import astra, write


def run(ws: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = astra(*args, "--workspace", str(ws), "--format", "json")
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout or result.stderr)


def test_append_refuses_a_taken_id_and_repeats_the_same_event_as_a_no_op(tmp_path: Path) -> None:
    (tmp_path / ".astra").mkdir()
    event = json.dumps({"id": "m1", "type": "UserMessageSent", "timestamp": 1, "content": "hi"})
    assert run(tmp_path, "append", "conversation", event)[1]["duplicate"] is False
    store = tmp_path / ".astra" / "conversation.jsonl"
    before = store.read_bytes()

    code, again = run(tmp_path, "append", "conversation", event)
    assert (code, again["ok"], again["duplicate"], again["line"], again["count"]) == (0, True, True, 1, 1)
    assert store.read_bytes() == before

    other = json.dumps({"id": "m1", "type": "UserMessageSent", "timestamp": 2, "content": "another"})
    result = astra("append", "conversation", other, "--workspace", str(tmp_path))
    assert result.returncode == 1 and "DUPLICATE_ID" in result.stderr and "line 1" in result.stderr
    assert store.read_bytes() == before
    assert astra("check", str(tmp_path)).returncode == 0


def test_entity_stores_take_repeated_ids(tmp_path: Path) -> None:
    """Ids repeat by design where they name an entity (unique_ids off): nothing changes there."""
    (tmp_path / ".astra").mkdir()
    for name in ("Ada", "Ada Lovelace"):
        event = json.dumps({"id": "c1", "type": "CustomerUpdated", "timestamp": 1, "name": name})
        code, answer = run(tmp_path, "append", "customers", event)
        assert code == 0 and answer["duplicate"] is False, answer
    assert len((tmp_path / ".astra" / "customers.jsonl").read_text().splitlines()) == 2


def test_duplicate_ids_in_a_store_can_be_quarantined_then_compacted(tmp_path: Path) -> None:
    """Before: quarantine moved nothing, and compact said to quarantine first."""
    (tmp_path / ".astra").mkdir()
    lines = [{"id": "a", "timestamp": 1}, {"id": "b", "timestamp": 2}, {"id": "a", "timestamp": 3},
             {"id": "c", "timestamp": 4}, {"id": "b", "timestamp": 5}]
    store = write(tmp_path, "feed", "".join(json.dumps(x) + "\n" for x in lines).encode())
    assert astra("check", str(tmp_path)).returncode == 1
    code, refused = run(tmp_path, "compact", "feed")
    assert code == 1 and refused["code"] == "HAS_PROBLEMS"

    code, moved = run(tmp_path, "quarantine", "feed")
    assert (code, moved["moved"], moved["remaining"]) == (0, 2, 3)
    assert [json.loads(x)["timestamp"] for x in store.read_text().splitlines()] == [1, 2, 4]
    records = [json.loads(x) for x in Path(moved["quarantinePath"]).read_text().splitlines()]
    assert [(r["line"], r["reasons"][0]["code"]) for r in records] == [(3, "ASTRA020"), (5, "ASTRA020")]
    assert astra("check", str(tmp_path)).returncode == 0
    code, compacted = run(tmp_path, "compact", "feed")
    assert code == 0 and compacted["compactedEvents"] == 3
