"""Links between events in the editor: go to the parent event (also in another store), find every event
that points at an id, the related-events tree, a state diff between two steps, and one event shown whole."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types as lsp

from .editor import WAIT_S, line, start_editor, write_store

RUN = [
    line(type="TaskStarted", id="e1", timestamp=1000, correlationId="run-1", task="index the docs"),
    line(type="PlanCreated", id="e2", timestamp=2000, parentUuid="e1", correlationId="run-1", steps=["a", "b"]),
    line(type="ToolInvoked", id="e3", timestamp=3000, causationId="e2", correlationId="run-1", tool="search"),
    line(type="ToolInvoked", id="e4", timestamp=4000, parentUuid="e2", correlationId="run-1", tool="read"),
]
FEEDBACK = [line(type="Feedback", id="f1", timestamp=5000, parentUuid="e4", correlationId="run-1", score=1)]


def column_of(path: Path, line_no: int, needle: str) -> int:
    text = path.read_text().splitlines()[line_no]
    return text.index(needle) + 1


async def test_definition_goes_to_the_parent_event_also_in_another_store(workspace: Path) -> None:
    run = write_store(workspace, "runlog", RUN)
    feedback = write_store(workspace, "feedback-log", FEEDBACK)
    async with start_editor(workspace) as editor:
        await editor.diagnostics(run, lambda d: True)
        # on the value of parentUuid in line 2 of runlog: the event e1 on line 1
        found = await asyncio.wait_for(editor.client.text_document_definition_async(lsp.DefinitionParams(
            lsp.TextDocumentIdentifier(run.as_uri()), lsp.Position(1, column_of(run, 1, '"e1"')))), WAIT_S)
        assert isinstance(found, list) and [(f.uri, f.range.start.line) for f in found] == [(run.as_uri(), 0)]
        # from the feedback store into the run's store
        found = await asyncio.wait_for(editor.client.text_document_definition_async(lsp.DefinitionParams(
            lsp.TextDocumentIdentifier(feedback.as_uri()), lsp.Position(0, column_of(feedback, 0, '"e4"')))), WAIT_S)
        assert isinstance(found, list) and [(f.uri, f.range.start.line) for f in found] == [(run.as_uri(), 3)]
        # anywhere else on the line: no definition, not an error
        found = await asyncio.wait_for(editor.client.text_document_definition_async(lsp.DefinitionParams(
            lsp.TextDocumentIdentifier(run.as_uri()), lsp.Position(1, 2))), WAIT_S)
        assert not found


async def test_references_list_every_event_pointing_at_an_id(workspace: Path) -> None:
    run = write_store(workspace, "runlog", RUN)
    write_store(workspace, "feedback-log", FEEDBACK)
    async with start_editor(workspace) as editor:
        await editor.diagnostics(run, lambda d: True)
        found = await asyncio.wait_for(editor.client.text_document_references_async(lsp.ReferenceParams(
            text_document=lsp.TextDocumentIdentifier(run.as_uri()), position=lsp.Position(1, column_of(run, 1, '"e2"')),
            context=lsp.ReferenceContext(include_declaration=False))), WAIT_S)
        assert found is not None
        assert sorted(f.range.start.line for f in found) == [2, 3]  # by causationId and by parentUuid


async def test_related_diff_and_show_event_commands(workspace: Path) -> None:
    run = write_store(workspace, "runlog", RUN)
    write_store(workspace, "feedback-log", FEEDBACK)
    async with start_editor(workspace) as editor:
        await editor.diagnostics(run, lambda d: True)
        related = await editor.command("astra.related", {"store": run.as_uri(), "line": 4})
        assert related["ok"]
        assert [(a["line"], a["role"]) for a in related["ancestors"]] == [(2, "parent"), (1, "parent")]
        assert [(d["store"], d["line"]) for d in related["descendants"]] == [("feedback-log", 1)]
        assert related["correlationId"] == "run-1" and len(related["correlated"]) == 4

        diff = await editor.command("astra.diff", {"store": run.as_uri(), "from": {"line": 1}, "to": {"line": 2}})
        assert diff["ok"]
        assert {"op": "add", "path": "/byType/PlanCreated", "value": 1} in diff["patch"]
        by_time = await editor.command("astra.diff", {"store": run.as_uri(), "from": {"line": 0},
                                                      "to": {"timestamp": "1970-01-01T00:00:02Z"}})
        assert by_time["to"]["events"] == 2 and by_time["from"]["events"] == 0

        shown = await editor.command("astra.showEvent", {"store": run.as_uri(), "line": 3})
        assert shown["ok"] and shown["event"]["id"] == "e3" and shown["text"] == RUN[2]
        assert shown["problems"] == []


async def test_seek_steps_through_events_and_filters_by_type(workspace: Path) -> None:
    run = write_store(workspace, "runlog", [RUN[0], "not json", *RUN[1:]])
    async with start_editor(workspace) as editor:
        await editor.diagnostics(run, lambda d: len(d) == 1)

        async def seek(line: int, to: str, **more: str) -> object:
            answer = await editor.command("astra.seek", {"store": run.as_uri(), "line": line, "to": to, **more})
            assert answer["ok"] and answer["lines"] == 5
            return answer["line"]

        assert await seek(0, "first") == 1
        assert await seek(1, "next") == 3  # the bad line is no event: a step skips it
        assert await seek(3, "previous") == 1
        assert await seek(0, "last") == 5
        assert await seek(5, "next") is None
        assert await seek(0, "previous") is None
        assert await seek(99, "previous") == 5  # past the end: the last event
        assert await seek(1, "next", type="ToolInvoked") == 4
        assert await seek(5, "previous", type="ToolInvoked") == 4


async def test_a_debugger_step_diff_sends_only_the_state_after_with_lists_cut_to_their_tails(workspace: Path) -> None:
    long = [*RUN[:1], line(type="PlanCreated", id="e2", timestamp=2000, steps=[f"s{i}" for i in range(100)])]
    run = write_store(workspace, "runlog", long)
    async with start_editor(workspace) as editor:
        await editor.diagnostics(run, lambda d: True)
        step = await editor.command("astra.diff", {"store": run.as_uri(), "from": {"line": 1}, "to": {"line": 2},
                                                   "before": False, "listTail": 5})
        assert step["ok"] and "before" not in step
        assert step["after"]["last"]["steps"] == [f"s{i}" for i in range(95, 100)]
        assert step["trimmed"] == {"/last/steps": 100}
        # the patch is of the whole states, not of the cut ones
        assert {"op": "add", "path": "/last/steps", "value": [f"s{i}" for i in range(100)]} in step["patch"]
        whole = await editor.command("astra.diff", {"store": run.as_uri(), "from": {"line": 1}, "to": {"line": 2}})
        assert len(whole["after"]["last"]["steps"]) == 100 and "before" in whole and "trimmed" not in whole
