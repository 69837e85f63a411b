"""Queries: comparison operators, exists/in, quoted keys with dots, several stores at once, plain JSONL
output and clear parse errors, through the CLI process and the server's astra.query."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from .design_logs import astra, astra_json, ms, write_events
from .editor import start_editor

DECISION = 'metadata.annotations."authorization.k8s.io/decision"'


def audit_events() -> list[dict[str, Any]]:
    """Kubernetes API audit events: the decision lives under a key with dots and a slash."""
    events = []
    for n, (verb, user, code, decision) in enumerate([
        ("list", "alice", 200, "allow"), ("delete", "bob", 403, "forbid"), ("get", "alice", 200, "allow"),
        ("create", "ci", 201, "allow"), ("delete", "alice", 500, "allow"), ("watch", "bob", 200, None),
    ]):
        annotations = {} if decision is None else {"authorization.k8s.io/decision": decision,
                                                   "authorization.k8s.io/reason": ""}
        events.append({"kind": "Event", "type": "ResponseComplete", "auditID": f"a{n}", "verb": verb,
                       "user": {"username": user}, "responseStatus": {"code": code},
                       "metadata": {"annotations": annotations}, "timestamp": ms(f"22:5{n}:00"),
                       "big": 12345678901234567890123})
    return events


def test_operators_and_quoted_keys(tmp_path: Path) -> None:
    path = write_events(tmp_path, "audit", audit_events())

    def ids(*where: str) -> list[str]:
        args = [item for condition in where for item in ("--where", condition)]
        answer = astra_json("query", str(path), *args)
        return [found["event"]["auditID"] for found in answer["events"]]

    assert ids(f"{DECISION}=allow") == ["a0", "a2", "a3", "a4"]
    assert ids(f"{DECISION}!=allow") == ["a1", "a5"]  # a5 has no decision at all
    assert ids("responseStatus.code>=400") == ["a1", "a4"]
    assert ids("responseStatus.code<201", "user.username=alice") == ["a0", "a2"]
    assert ids("responseStatus.code > 200", "responseStatus.code <= 403") == ["a1", "a3"]
    assert ids(f"{DECISION} exists") == ["a0", "a1", "a2", "a3", "a4"]
    assert ids("verb in delete,create") == ["a1", "a3", "a4"]
    assert ids('user.username in ["bob"]') == ["a1", "a5"]
    assert ids("responseStatus.code in [200, 201]") == ["a0", "a2", "a3", "a5"]
    assert ids("responseStatus.code=\"200\"") == []  # a string is not a number
    assert ids("verb>g") == ["a0", "a2", "a5"]  # strings order as strings


def test_jsonl_prints_each_events_exact_line(tmp_path: Path) -> None:
    path = write_events(tmp_path, "audit", audit_events())
    lines = path.read_text().splitlines()
    done = astra("query", str(path), "--where", "verb=delete", "--format", "jsonl")
    assert done.returncode == 0
    assert done.stdout.splitlines() == [lines[1], lines[4]]  # byte for byte: the big integer is intact
    capped = astra("query", str(path), "--format", "jsonl", "--limit", "2")
    assert capped.stdout.splitlines() == lines[:2] and "6 events matched" in capped.stderr


def test_several_stores_at_once(tmp_path: Path) -> None:
    write_events(tmp_path, "conversation", [
        {"id": "c1", "type": "ConversationStarted", "timestamp": ms("22:50:00"), "userId": "u1", "sessionId": "s",
         "model": "m"},
        {"id": "c2", "type": "ConversationStarted", "timestamp": ms("22:52:00"), "userId": "u2", "sessionId": "t",
         "model": "m"}])
    write_events(tmp_path, "feedback", [
        {"id": "f1", "userId": "u1", "timestamp": ms("22:51:00"), "score": 5},
        {"id": "f2", "userId": "u2", "timestamp": ms("22:53:00"), "score": 1},
        {"id": "f3", "userId": "u1", "timestamp": ms("22:49:00"), "score": 3}])
    write_events(tmp_path, "other", [{"type": "X", "timestamp": 1}])
    everywhere = astra_json("query", "--all-stores", "--where", "userId=u1", "--workspace", str(tmp_path))
    assert [(e["store"], e["event"]["id"]) for e in everywhere["events"]] == [
        ("feedback", "f3"), ("conversation", "c1"), ("feedback", "f1")]  # in time order across stores
    assert everywhere["total"] == 3 and sorted(everywhere["stores"]) == ["conversation", "feedback", "other"]
    two = astra_json("query", "--store", "conversation", "--store", str(tmp_path / ".astra" / "feedback.jsonl"),
                     "--where", "userId=u2", "--workspace", str(tmp_path))
    assert [e["event"]["id"] for e in two["events"]] == ["c2", "f2"]
    limited = astra_json("query", "--all-stores", "--limit", "1", "--workspace", str(tmp_path))
    assert limited["total"] == 6 and [e["event"]["type"] for e in limited["events"]] == ["X"]  # epoch 1 first


@pytest.mark.parametrize(("condition", "words", "column"), [
    ('metadata."authorization.k8s.io/decision=allow', "no closing quote", 10),
    ("responseStatus..code=1", "expected a field name after '.'", 16),
    ("verb ~ get", "expected an operator here", 6),
    ("verb", "expected an operator after the field path", 5),
    ("verb exists now", "'exists' takes no value", 13),
    ("verb in", "'in' needs a list", 8),
    ("code in [1,", "not a JSON array", 9),
])
def test_parse_errors_point_at_the_bad_part(tmp_path: Path, condition: str, words: str, column: int) -> None:
    path = write_events(tmp_path, "audit", audit_events())
    done = astra("query", str(path), "--where", condition)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert words in done.stderr and f"(column {column})" in done.stderr, done.stderr
    assert condition in done.stderr and " " * (column - 1) + "^" in done.stderr


async def test_server_query(tmp_path: Path) -> None:
    path = write_events(tmp_path, "audit", audit_events())
    write_events(tmp_path, "feedback", [{"id": "f1", "verb": "delete", "timestamp": ms("22:51:30")}])
    async with start_editor(tmp_path) as editor:
        await editor.diagnostics(path, lambda d: True)
        uri = path.as_uri()
        found = await editor.command("astra.query", {"store": uri, "where": [f"{DECISION}=allow",
                                                                             "responseStatus.code>=400"]})
        assert [e["event"]["auditID"] for e in found["events"]] == ["a4"]
        keyed = await editor.command("astra.query", {"store": uri, "where": {DECISION: "forbid"}})
        assert [e["event"]["auditID"] for e in keyed["events"]] == ["a1"]
        ranged = await editor.command("astra.query", {"store": uri, "from": "2026-03-04T22:51:00Z",
                                                      "to": ms("22:53:00")})
        assert [e["event"]["auditID"] for e in ranged["events"]] == ["a1", "a2", "a3"]
        across = await editor.command("astra.query", {"stores": ["*"], "where": ["verb=delete"], "text": True})
        assert [(e["store"], e["line"]) for e in across["events"]] == [("audit", 2), ("feedback", 1), ("audit", 5)]
        assert json.loads(across["events"][0]["text"])["auditID"] == "a1"
        with pytest.raises(JsonRpcException) as raised:
            await editor.command("astra.query", {"store": uri, "where": ["verb ~ get"]})
        assert raised.value.code == -32602 and "expected an operator here" in raised.value.message
        with pytest.raises(JsonRpcException) as raised:
            await editor.command("astra.query", {"store": uri, "stores": ["*"]})
        assert "exactly one of store" in raised.value.message
