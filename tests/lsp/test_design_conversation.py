"""The conversation projection is the original design's `projectConversation`: token totals from
`AssistantStreamCompleted.totalTokens`, a token count per message, no empty message for a cancel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .design_logs import astra_json, write_events
from .editor import start_editor


def conversation() -> list[dict[str, Any]]:
    t = 1_772_000_000_000
    return [
        {"id": "c1", "type": "ConversationStarted", "timestamp": t, "userId": "u1", "sessionId": "s1",
         "model": "m"},
        {"id": "c2", "type": "UserMessageSent", "timestamp": t + 1, "content": "hi"},
        {"id": "c3", "type": "AssistantStreamStarted", "timestamp": t + 2, "model": "m", "promptTokens": 9},
        # three token events, but the model reports 7 tokens (a token event can carry several)
        {"id": "c4", "type": "AssistantTokenGenerated", "timestamp": t + 3, "token": "Hel", "index": 0},
        {"id": "c5", "type": "AssistantTokenGenerated", "timestamp": t + 4, "token": "lo ", "index": 1},
        {"id": "c6", "type": "AssistantTokenGenerated", "timestamp": t + 5, "token": "there", "index": 2},
        {"id": "c7", "type": "AssistantStreamCompleted", "timestamp": t + 6, "totalTokens": 7,
         "finishReason": "stop", "latencyMs": 120},
        {"id": "c8", "type": "UserMessageSent", "timestamp": t + 7, "content": "again"},
        {"id": "c9", "type": "AssistantStreamStarted", "timestamp": t + 8, "model": "m", "promptTokens": 20},
        {"id": "c10", "type": "GenerationCancelled", "timestamp": t + 9, "tokensGenerated": 0, "reason": "user"},
        {"id": "c11", "type": "AssistantStreamStarted", "timestamp": t + 10, "model": "m", "promptTokens": 20},
        {"id": "c12", "type": "AssistantTokenGenerated", "timestamp": t + 11, "token": "Par", "index": 0},
        {"id": "c13", "type": "GenerationCancelled", "timestamp": t + 12, "tokensGenerated": 1, "reason": "timeout"},
        {"id": "c14", "type": "AssistantStreamStarted", "timestamp": t + 13, "model": "m", "promptTokens": 21},
        {"id": "c15", "type": "AssistantTokenGenerated", "timestamp": t + 14, "token": "Done", "index": 0},
        {"id": "c16", "type": "AssistantStreamCompleted", "timestamp": t + 15, "totalTokens": 4,
         "finishReason": "stop", "latencyMs": 80},
    ]


def check(state: dict[str, Any]) -> None:
    assert state["totalTokens"] == 11  # 7 + 4: the completions' counts, not the 5 token events
    assistant = [m for m in state["messages"] if m["role"] == "assistant"]
    assert [(m["content"], m["status"]) for m in assistant] == [
        ("Hello there", "complete"), ("Par", "cancelled"), ("Done", "complete")]  # no empty message
    assert [m.get("tokens") for m in assistant] == [7, None, 4]
    assert assistant[0]["latencyMs"] == 120 and assistant[1]["tokensGenerated"] == 1
    assert state["streaming"] is False and state["currentBuffer"] == ""


def test_cli_projection(tmp_path: Path) -> None:
    path = write_events(tmp_path, "conversation", conversation())
    check(astra_json("project", str(path))["state"])
    mid = astra_json("project", str(path), "--at-line", "10")["state"]  # right after the empty cancel
    assert [m["role"] for m in mid["messages"]] == ["user", "assistant", "user"] and mid["totalTokens"] == 7


async def test_server_projection(tmp_path: Path) -> None:
    path = write_events(tmp_path, "conversation", conversation())
    async with start_editor(tmp_path) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        check((await editor.command("astra.project", {"store": path.as_uri()}))["state"])
