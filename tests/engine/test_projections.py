"""Projections, time travel, queries, quarantine and compaction over real stores."""

from __future__ import annotations

import gzip
import json
import random

from astra_ls.commands import execute
from astra_ls.projections.replay import Replayer

from .conftest import Workspace, conversation_events


def run(workspace: Workspace, command: str, **args: object) -> dict:  # type: ignore[type-arg]
    return execute(workspace.store(), command, args)


def test_conversation_state_assembles_messages_from_tokens(workspace: Workspace) -> None:
    workspace.write("conversation", conversation_events())
    state = run(workspace, "astra.project", store="conversation")["state"]
    roles = [(m["role"], m["content"], m.get("status")) for m in state["messages"]]
    assert roles == [("user", "서울 날씨? 🌦️", None), ("assistant", "맑고 ☀️", "complete"), ("user", "more", None),
                     ("assistant", "Partial", "cancelled")]
    assert state["streaming"] is False and state["currentBuffer"] == ""
    assert state["totalTokens"] == 2  # AssistantStreamCompleted.totalTokens, as the design sums it
    assert [c["toolName"] for c in state["toolCalls"]["pending"]] == ["maps"]
    assert [(c["toolName"], c["result"]) for c in state["toolCalls"]["completed"]] == [("weather", {"tempC": 21})]


def test_state_mid_stream_shows_the_current_buffer(workspace: Workspace) -> None:
    workspace.write("conversation", conversation_events())
    answer = run(workspace, "astra.projectAt", store="conversation", line=13)
    assert answer["state"]["streaming"] is True
    assert answer["state"]["currentBuffer"] == "Partial"
    assert answer["line"] == 13 and answer["events"] == 13


def test_state_at_a_timestamp(workspace: Workspace) -> None:
    events = conversation_events(start=1_700_000_000_000)
    workspace.write("conversation", events)
    answer = run(workspace, "astra.projectAt", store="conversation", timestamp=1_700_000_000_004)
    assert answer["line"] == 5
    assert answer["state"]["currentBuffer"] == "맑고 ☀️"
    iso = run(workspace, "astra.projectAt", store="conversation", timestamp="2023-11-14T22:13:20.004Z")
    assert iso["line"] == 5


def test_agent_projection(workspace: Workspace) -> None:
    workspace.write("agent-x", [
        {"type": "TaskReceived", "timestamp": 1, "taskDescription": "t", "constraints": ["c"]},
        {"type": "PlanCreated", "timestamp": 2, "steps": ["a", "b"], "estimatedDuration": 5},
        {"type": "StepStarted", "timestamp": 3, "stepIndex": 0, "description": "a"},
        {"type": "ToolInvoked", "timestamp": 4, "tool": "k", "input": {}},
        {"type": "ToolResultReceived", "timestamp": 5, "tool": "k", "output": 1, "success": True},
        {"type": "ReplanningTriggered", "timestamp": 6, "reason": "r", "newSteps": ["z"]},
        {"type": "TaskCompleted", "timestamp": 7, "result": "ok", "totalSteps": 2, "totalDurationMs": 6},
    ])
    state = run(workspace, "astra.project", store="agent-x")["state"]
    assert state["status"] == "completed" and state["plan"] == ["a", "z"]
    assert state["tools"][0]["success"] is True and state["completed"]["result"] == "ok"


def test_entity_projection_merges_by_id(workspace: Workspace) -> None:
    workspace.write("customers", [{"id": "c1", "timestamp": 1, "name": "김", "plan": "free"},
                                  {"id": "c2", "timestamp": 2, "name": "Ada"},
                                  {"id": "c1", "timestamp": 3, "plan": "pro"}])
    state = run(workspace, "astra.project", store="customers")["state"]
    assert state["entities"]["c1"] == {"id": "c1", "timestamp": 3, "name": "김", "plan": "pro"}
    assert state["count"] == 2
    assert workspace.store().problems("customers") == []  # repeated ids are how entities change


def test_checkpoints_give_the_same_state_as_a_full_replay(workspace: Workspace) -> None:
    events = [{"id": f"c{n % 37}", "timestamp": n, "n": n} for n in range(3000)]
    workspace.write("customers", events)
    store = workspace.store()
    analysis, read = store.analysis("customers"), store.reader("customers")
    projector = store.setup("customers").projector
    with_checkpoints = Replayer(projector, every=64)
    with_checkpoints.state_after(analysis, read, analysis.line_count - 1)
    for line in random.Random(7).sample(range(3000), 25):
        assert with_checkpoints.state_after(analysis, read, line) == Replayer(projector, every=10**9).state_after(
            analysis, read, line)


def test_query_by_type_time_and_dotted_fields(workspace: Workspace) -> None:
    workspace.write("conversation", conversation_events(start=0))
    found = run(workspace, "astra.query", store="conversation", type="ToolCallRequested",
                where={"arguments.city": "Seoul"})
    assert (found["total"], [e["line"] for e in found["events"]]) == (1, [7])
    ranged = run(workspace, "astra.query", store="conversation", **{"from": 3, "to": 5})
    assert [e["line"] for e in ranged["events"]] == [4, 5, 6]
    limited = run(workspace, "astra.query", store="conversation", limit=2)
    assert limited["total"] == 14 and len(limited["events"]) == 2


def test_quarantine_moves_bad_lines_with_reasons_and_loses_nothing(workspace: Workspace) -> None:
    original = b'{"id":"a"}\n{"id":\n[1]\n{"id":"b"}\n\n{"id":"\xff"}\n'
    workspace.write("feed", original)
    answer = run(workspace, "astra.quarantine", store="feed")
    assert (answer["ok"], answer["moved"], answer["remaining"]) == (True, 4, 2)
    assert workspace.read("feed") == b'{"id":"a"}\n{"id":"b"}\n'
    records = [json.loads(line) for line in (workspace.astra / "quarantine" / "feed.jsonl").read_bytes().splitlines()]
    assert [r["line"] for r in records] == [2, 3, 5, 6]
    assert [r["reasons"][0]["code"] for r in records] == ["ASTRA001", "ASTRA002", "ASTRA032", "ASTRA003"]
    assert records[0]["raw"] == '{"id":'
    assert "rawBase64" in records[3]
    assert workspace.store().problems("feed") == []


def test_compaction_keeps_state_and_count_and_archives_the_original(workspace: Workspace) -> None:
    events = conversation_events()
    workspace.write("conversation", events)
    original = workspace.read("conversation")
    before = run(workspace, "astra.project", store="conversation")
    count_before = run(workspace, "astra.count", store="conversation")
    answer = run(workspace, "astra.compact", store="conversation", upToLine=10)
    assert answer["ok"] and answer["compactedEvents"] == 10 and answer["keptEvents"] == 4
    lines = workspace.lines("conversation")
    assert len(lines) == 5 and json.loads(lines[0])["type"] == "$snapshot"
    with gzip.open(answer["archivePath"]) as archive:
        assert archive.read() == original
    assert run(workspace, "astra.project", store="conversation")["state"] == before["state"]
    assert run(workspace, "astra.count", store="conversation") == count_before
    assert workspace.store().problems("conversation") == []
    again = run(workspace, "astra.compact", store="conversation")
    assert again["ok"] and run(workspace, "astra.project", store="conversation")["state"] == before["state"]
    assert run(workspace, "astra.count", store="conversation")["count"] == len(events)


def test_compaction_refuses_a_range_with_errors(workspace: Workspace) -> None:
    workspace.write("feed", b'{"id":"a"}\n{"id":\n{"id":"b"}\n')
    answer = run(workspace, "astra.compact", store="feed")
    assert (answer["ok"], answer["code"]) == (False, "HAS_PROBLEMS")
    assert workspace.read("feed") == b'{"id":"a"}\n{"id":\n{"id":"b"}\n'


def test_compaction_refuses_a_duplicate_id_in_range(workspace: Workspace) -> None:
    """A duplicated event (often a retried append) would be folded into the snapshot twice, its diagnostic
    gone: compaction refuses until it is dealt with."""
    content = b'{"id":"a","type":"T"}\n{"id":"b","type":"T"}\n{"id":"a","type":"T"}\n'
    workspace.write("feed", content)
    answer = run(workspace, "astra.compact", store="feed")
    assert (answer["ok"], answer["code"]) == (False, "HAS_PROBLEMS"), answer
    assert answer["details"]["lines"] == [3]
    assert workspace.read("feed") == content
