"""Hover, quick fixes, completion, code lens, inlay hints, outline, settings and robustness."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import attrs
import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from .editor import WAIT_S, Editor, line, message, start_editor, write_store


def doc(path: Path) -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(path.as_uri())


async def quick_fixes(editor: Editor, path: Path, diagnostic: lsp.Diagnostic) -> list[lsp.CodeAction | lsp.Command]:
    answer = await asyncio.wait_for(editor.client.text_document_code_action_async(lsp.CodeActionParams(
        doc(path), diagnostic.range, lsp.CodeActionContext(diagnostics=[diagnostic]))), WAIT_S)
    return list(answer or [])  # type: ignore[arg-type]


def apply(editor: Editor, path: Path, action: lsp.CodeAction | lsp.Command) -> None:
    """Apply a quick fix's edits to the buffer as an editor does: one didChange per edit, bottom-up."""
    assert isinstance(action, lsp.CodeAction) and action.edit is not None and action.edit.changes is not None
    for edit in sorted(action.edit.changes[path.as_uri()], key=lambda e: (e.range.start.line, e.range.start.character),
                       reverse=True):
        start, end = edit.range.start, edit.range.end
        editor.edit(path, (start.line, start.character), (end.line, end.character), edit.new_text)


async def test_hover_shows_event_state_field_and_problem(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1), message(2, "안녕 " + "x" * 500), message(3), "oops"])
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 1)
        text = await editor.hover(path, 1, 0)
        assert "UserMessageSent" in text and "event 2 of 3" in text
        assert "2023-11-14T22:13:22.000Z" in text
        assert "```json" in text and "hello 1" in text and "chars)" in text  # the long content is trimmed
        assert "command:astra-ls.showStateAtLine?" in text
        field = await editor.hover(path, 0, message(1).index('"content"') + 2)
        assert "`content`: `str` (required)" in field and "The message text." in field
        problem = await editor.hover(path, 3)
        assert "ASTRA001" in problem and "quarantine" in problem
        # An open buffer is projected from the buffer, not the disk.
        editor.open(path)
        editor.edit(path, (0, 0), (0, len(message(1))), message(1, "from the buffer"))
        assert "from the buffer" in await editor.hover(path, 2) and "unsaved buffer" in await editor.hover(path, 2)
        assert await editor.hover(workspace / ".astra" / "nothere.jsonl", 0) == ""


async def test_hover_on_a_long_history_shows_its_latest_items(workspace: Path) -> None:
    """A projected list longer than the preview keeps its end (the latest messages), not its start."""
    path = write_store(workspace, "conversation", [message(n) for n in range(1, 26)])
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        text = await editor.hover(path, 24, 0)
        assert "20 earlier" in text and '"hello 25"' in text and '"hello 1"' not in text


async def test_each_quick_fix_is_applied_and_rechecked(workspace: Path) -> None:
    bom = "\ufeff" + message(1)
    typo = message(2).replace('"UserMessageSent"', '"UserMesageSent"')
    path = write_store(workspace, "conversation", [bom.encode(), typo, "", message(3), "", message(4)],
                       final_newline=False)
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 5)
        editor.open(path)
        for code, title in [("ASTRA030", "byte-order mark"), ("ASTRA011", "UserMessageSent"),
                            ("ASTRA033", "final newline"), ("ASTRA032", "Remove all 2 blank lines")]:
            found = await editor.diagnostics(path, lambda d, c=code: any(x.code == c for x in d), code)
            target = next(d for d in found if d.code == code)
            action = next(a for a in await quick_fixes(editor, path, target) if title in a.title)
            apply(editor, path, action)
            await editor.diagnostics(path, lambda d, c=code: all(x.code != c for x in d), f"{code} fixed")
        assert editor.client.diagnostics[path.as_uri()] == ()


async def test_quarantine_quick_fix_moves_the_line(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1), "{broken", message(2)])
    async with start_editor(workspace) as editor:
        editor.open(path)
        found = await editor.diagnostics(path, lambda d: len(d) == 1)
        actions = await quick_fixes(editor, path, found[0])
        this_line = next(a for a in actions if "this line" in a.title)
        # lsprotocol's client side reads a code action that carries a command as a Command whose `command`
        # is the text of the command object; read it back from there.
        command = this_line.command
        spec = ast.literal_eval(command) if isinstance(command, str) else attrs.asdict(command)
        assert spec["command"] == "astra.quarantine"
        [argument] = spec["arguments"]
        assert argument["store"] == path.as_uri() and [ref["line"] for ref in argument["lines"]] == [2]
        answer = await editor.command(spec["command"], *spec["arguments"])
        assert answer["ok"] and answer["moved"] == 1
        assert "{broken" in Path(answer["quarantinePath"]).read_text()
        # The editor reloads the changed file; the re-check follows the new contents.
        editor.replace_all(path, path.read_text())
        await editor.diagnostics(path, lambda d: len(d) == 0, "a clean buffer after quarantine")


async def test_completion_lens_hints_and_outline(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1), message(2), '{"type": "ToolCallRequested", '])
    async with start_editor(workspace) as editor:
        editor.open(path)
        await editor.diagnostics(path, lambda d: len(d) == 1)

        lenses = await asyncio.wait_for(editor.client.text_document_code_lens_async(
            lsp.CodeLensParams(doc(path))), WAIT_S)
        titles = [lens.command.title for lens in lenses or [] if lens.command]
        assert titles[:2] == ["2 events", "1 problems"] and "Show projection" in titles and "Time travel" in titles

        hints = await asyncio.wait_for(editor.client.text_document_inlay_hint_async(lsp.InlayHintParams(
            doc(path), lsp.Range(lsp.Position(0, 0), lsp.Position(5, 0)))), WAIT_S)
        assert [h.label for h in hints or []] == ["2023-11-14T22:13:21.000Z", "2023-11-14T22:13:22.000Z"]
        stamp_end = message(1).index("1700000001000") + len("1700000001000")
        assert (hints or [])[0].position == lsp.Position(0, stamp_end)

        symbols = await asyncio.wait_for(editor.client.text_document_document_symbol_async(
            lsp.DocumentSymbolParams(doc(path))), WAIT_S)
        assert symbols is not None
        top = [s for s in symbols if isinstance(s, lsp.DocumentSymbol)]
        assert [s.name for s in top] == ["UserMessageSent"]
        assert [c.range.start.line for c in top[0].children or []] == [0, 1]

        async def complete(line_no: int, character: int) -> list[lsp.CompletionItem]:
            answer = await asyncio.wait_for(editor.client.text_document_completion_async(lsp.CompletionParams(
                doc(path), lsp.Position(line_no, character))), WAIT_S)
            assert isinstance(answer, lsp.CompletionList)
            return list(answer.items)

        fields = {i.label: i for i in await complete(2, 31)}
        assert {"toolName", "arguments", "timestamp"} <= set(fields) and "type" not in fields
        assert fields["toolName"].insert_text == '"toolName": ${1:""}'
        editor.edit(path, (2, 10), (2, 29), "Us")
        types = [i.label for i in await complete(2, 12)]
        assert "UserMessageSent" in types
        editor.edit(path, (2, 0), (2, 14), "")
        skeletons = {i.label: i for i in await complete(2, 0)}
        assert '"type": "UserMessageSent"' in (skeletons["UserMessageSent event"].insert_text or "")


async def test_settings_come_from_the_editor_and_the_workspace_file(workspace: Path) -> None:
    (workspace / "astra-ls.toml").write_text('severity = { ASTRA032 = "error" }\n')
    path = write_store(workspace, "conversation", [message(1), "", message(2)])
    async with start_editor(workspace) as editor:
        found = await editor.diagnostics(path, lambda d: len(d) == 1)
        assert found[0].severity == lsp.DiagnosticSeverity.Error
        editor.client.set_configuration({"ignore": ["ASTRA032"]}, section="astra")
        editor.client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings=None))
        await editor.diagnostics(path, lambda d: len(d) == 0, "diagnostics under the new settings")
        editor.client.set_configuration({"max_problems_per_file": -1}, section="astra")
        editor.client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings=None))
        await editor.until(lambda: any("max_problems_per_file" in m.message for m in editor.client.log_messages),
                           "a log line about the bad setting")
        await editor.diagnostics(path, lambda d: len(d) == 1, "the workspace file's settings again")


async def test_garbage_and_failures_leave_the_server_serving(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1)])
    async with start_editor(workspace, initialization_options={"trusted": "yes"}) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        assert any("untrusted" in m.message for m in editor.client.log_messages)
        with pytest.raises(JsonRpcException):
            await asyncio.wait_for(editor.client.protocol.send_request_async("astra/noSuchMethod", {}), WAIT_S)
        assert await editor.hover(Path("/nowhere/.astra/x.jsonl"), 0) == ""
        outside = workspace.parent / "elsewhere.jsonl"
        outside.write_text("{}\n")
        editor.open(outside)
        assert await editor.hover(outside, 0) == ""
        # A file deleted under an open buffer: the buffer keeps its diagnostics, commands say what happened.
        editor.open(path)
        path.unlink()
        editor.watched(path, lsp.FileChangeType.Deleted)
        editor.edit(path, (0, 0), (0, 1), "x")
        await editor.diagnostics(path, lambda d: len(d) == 1, "the buffer's own diagnostics")
        gone = await editor.command("astra.count", {"store": path.as_uri()})
        assert gone["ok"] is False and gone["code"] == "STORE_NOT_FOUND"
        assert (await editor.command("astra.listStores", {}))["ok"] is True
        unreadable = write_store(workspace, "agent-locked", [line(type="x")])
        unreadable.chmod(0)
        try:
            editor.watched(unreadable, lsp.FileChangeType.Created)
            answer = await editor.command("astra.count", {"store": unreadable.as_uri()})
            assert answer["ok"] is False or "count" in answer  # root may read it anyway
        finally:
            unreadable.chmod(0o644)
        assert "event 1 of 1" in await editor.hover(write_store(workspace, "conversation-b", [message(5)]), 0)
