"""The conversation projector: the original design's `projectConversation`, with more kept per message.

Messages are assembled from streamed tokens; `totalTokens` sums `AssistantStreamCompleted.totalTokens` (the
token events are the text, not the count) and each completed message keeps its own `tokens`; a cancelled
stream becomes a message only if it had produced text.
"""

from __future__ import annotations

from typing import Any

from astra_ls.projections.base import Edit, Event, State, dispatching_projector


def initial() -> State:
    return {
        "conversation": None,
        "messages": [],
        "streaming": False,
        "currentBuffer": "",
        "currentModel": None,
        "totalTokens": 0,
        "toolCalls": {"pending": [], "completed": []},
        "feedback": [],
        "events": 0,
    }


def _finish(state: State, edit: Edit, status: str, extra: dict[str, Any]) -> None:
    edit(state, "messages").append({"role": "assistant", "content": state["currentBuffer"], "status": status,
                              "model": state["currentModel"], **extra})
    state["streaming"], state["currentBuffer"] = False, ""


def _started(state: State, event: Event, edit: Edit) -> None:
    state["conversation"] = {k: event.get(k) for k in ("userId", "sessionId", "model", "timestamp")}


def _user(state: State, event: Event, edit: Edit) -> None:
    message = {"role": "user", "content": event.get("content", ""), "timestamp": event.get("timestamp")}
    if event.get("attachments"):
        message["attachments"] = event["attachments"]
    edit(state, "messages").append(message)


def _stream_started(state: State, event: Event, edit: Edit) -> None:
    state["streaming"], state["currentBuffer"], state["currentModel"] = True, "", event.get("model")


def _token(state: State, event: Event, edit: Edit) -> None:
    state["currentBuffer"] += str(event.get("token", ""))


def _completed(state: State, event: Event, edit: Edit) -> None:
    tokens = event.get("totalTokens")
    _finish(state, edit, "complete", {"tokens": tokens, "finishReason": event.get("finishReason"),
                                      "latencyMs": event.get("latencyMs"), "timestamp": event.get("timestamp")})
    if isinstance(tokens, int | float) and not isinstance(tokens, bool):
        state["totalTokens"] += tokens


def _cancelled(state: State, event: Event, edit: Edit) -> None:
    if state["currentBuffer"]:  # nothing streamed yet: no empty message, as in the design
        _finish(state, edit, "cancelled", {"tokensGenerated": event.get("tokensGenerated"),
                                           "reason": event.get("reason"), "timestamp": event.get("timestamp")})
    state["streaming"], state["currentBuffer"] = False, ""


def _feedback(state: State, event: Event, edit: Edit) -> None:
    edit(state, "feedback").append({k: event.get(k) for k in ("messageIndex", "rating", "comment")})
    index = event.get("messageIndex")
    if isinstance(index, int) and 0 <= index < len(state["messages"]):
        messages = edit(state, "messages")
        messages[index] = {**messages[index], "rating": event.get("rating")}


def _tool_requested(state: State, event: Event, edit: Edit) -> None:
    edit(edit(state, "toolCalls"), "pending").append({"toolName": event.get("toolName"),
                                          "arguments": event.get("arguments"),
                                          "requestedAt": event.get("timestamp")})


def _tool_completed(state: State, event: Event, edit: Edit) -> None:
    calls = edit(state, "toolCalls")
    name = event.get("toolName")
    match = next((i for i, call in enumerate(calls["pending"]) if call["toolName"] == name), None)
    request = edit(calls, "pending").pop(match) if match is not None else {"toolName": name}
    edit(calls, "completed").append({**request, "result": event.get("result"), "durationMs": event.get("durationMs")})


_HANDLERS = {
    "ConversationStarted": _started,
    "UserMessageSent": _user,
    "AssistantStreamStarted": _stream_started,
    "AssistantTokenGenerated": _token,
    "AssistantStreamCompleted": _completed,
    "GenerationCancelled": _cancelled,
    "FeedbackGiven": _feedback,
    "ToolCallRequested": _tool_requested,
    "ToolCallCompleted": _tool_completed,
}

PROJECTOR = dispatching_projector("conversation", initial, _HANDLERS)
