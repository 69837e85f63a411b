"""The design's traceDecision: context, decision, outcomes within a window, the state before and after;
from the CLI, the server's astra.traceDecision and the code lens on an agent's decisions."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types as lsp

from .design_logs import astra, astra_json, ms, side_chain_agent_log, write_events
from .editor import WAIT_S, start_editor


def test_cli_trace_by_time_and_by_line(tmp_path: Path) -> None:
    path = write_events(tmp_path, "agent-run", side_chain_agent_log())
    traced = astra_json("trace", str(path), "--at", str(ms("22:53:10")))
    assert traced["decision"]["line"] == 2 and traced["decision"]["event"]["type"] == "PlanCreated"
    assert [c["event"]["id"] for c in traced["context"]] == ["e1"]
    # within 60 s of 22:53:10, in time order: the side chain written after 22:55:34 is in, the deploy is not
    assert [o["event"]["id"] for o in traced["outcomes"]] == ["e3", "e5", "e6"]
    assert traced["stateBefore"]["plan"] == [] and traced["stateAfter"]["plan"] == ["find", "fix", "deploy"]
    assert traced["windowMs"] == 60_000

    # The deploy at 22:55:34 (line 4): its context holds the side chain written after it (earlier times).
    deploy = astra_json("trace", str(path), "--at", "4", "--window", "30s")
    assert [c["event"]["id"] for c in deploy["context"]] == ["e1", "e2", "e3", "e5", "e6"]
    assert [o["event"]["id"] for o in deploy["outcomes"]] == ["e7"]
    assert [t["tool"] for t in deploy["stateBefore"]["tools"]] == ["grep"]
    assert [t["tool"] for t in deploy["stateAfter"]["tools"]] == ["grep", "deploy"]

    text = astra("trace", str(path), "--at", "2026-03-04T22:53:10Z")
    assert text.returncode == 0
    for heading in ("# Decision trace: `PlanCreated`", "## Context: 1 event(s) before", "## Outcomes: 3 event(s)",
                    "## State before the decision", "## State after the decision"):
        assert heading in text.stdout


def test_cli_trace_refusals(tmp_path: Path) -> None:
    path = write_events(tmp_path, "agent-run", side_chain_agent_log())
    missing = astra("trace", str(path), "--at", str(ms("22:53:11")))
    assert missing.returncode == 1 and "no event has the timestamp 2026-03-04T22:53:11.000Z" in missing.stderr
    bad_window = astra("trace", str(path), "--at", "2", "--window", "soon")
    assert bad_window.returncode == 1 and "positive duration" in bad_window.stderr
    past = astra("trace", str(path), "--at", "99")
    assert past.returncode == 1 and "past the end" in past.stderr and "Traceback" not in past.stderr


async def test_server_command_and_code_lens(tmp_path: Path) -> None:
    path = write_events(tmp_path, "agent-run", side_chain_agent_log())
    async with start_editor(tmp_path) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 1)
        uri = path.as_uri()
        lenses = await asyncio.wait_for(editor.client.text_document_code_lens_async(
            lsp.CodeLensParams(lsp.TextDocumentIdentifier(uri))), WAIT_S)
        traced = [lens for lens in lenses or [] if lens.command and lens.command.title == "Trace decision"]
        # PlanCreated, StepStarted, the two ToolInvoked and the replan: not the results or the completion
        assert [lens.range.start.line for lens in traced] == [1, 2, 3, 4, 6]
        command = traced[0].command
        assert command is not None and command.command == "astra-ls.traceDecision"
        argument = dict(command.arguments[0])  # type: ignore[index]
        assert argument == {"store": uri, "line": 2}
        answer = await editor.command("astra.traceDecision", {**argument, "markdown": True})
        assert answer["ok"] and answer["markdown"].startswith("# Decision trace: `PlanCreated`")
        assert [o["event"]["id"] for o in answer["outcomes"]] == ["e3", "e5", "e6"]
        by_time = await editor.command("astra.traceDecision", {"store": uri, "timestamp": "2026-03-04T22:56:00Z",
                                                               "window": "2m"})
        assert by_time["decision"]["event"]["id"] == "e7" and [o["event"]["id"] for o in by_time["outcomes"]] == ["e8"]

    conversation = write_events(tmp_path, "conversation", [
        {"id": "c1", "type": "ConversationStarted", "timestamp": 1, "userId": "u", "sessionId": "s", "model": "m"}])
    async with start_editor(tmp_path) as editor:
        await editor.diagnostics(conversation, lambda d: len(d) == 0)
        lenses = await asyncio.wait_for(editor.client.text_document_code_lens_async(
            lsp.CodeLensParams(lsp.TextDocumentIdentifier(conversation.as_uri()))), WAIT_S)
        assert not [lens for lens in lenses or [] if lens.command and lens.command.title == "Trace decision"]
