"""Duplicate ids through the language server: astra.append refuses a taken id and answers a retry of
the very same event as done; the ASTRA020 quick fix quarantines the later event."""

from __future__ import annotations

from pathlib import Path

from .editor import message, start_editor, write_store
from .test_quick_fix_lines import quarantine_fix


async def test_append_over_lsp_refuses_a_taken_id_and_is_idempotent(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1)])
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        event = {"id": "m2", "type": "UserMessageSent", "timestamp": 1_700_000_002_000, "content": "two"}
        first = await editor.command("astra.append", {"store": path.as_uri(), "event": event})
        assert first["ok"] and first["duplicate"] is False and first["line"] == 2
        before = path.read_bytes()
        again = await editor.command("astra.append", {"store": path.as_uri(), "event": event})
        assert again == {**first, "duplicate": True}
        other = await editor.command("astra.append", {"store": path.as_uri(), "event": {**event, "content": "x"}})
        assert other["ok"] is False and other["code"] == "DUPLICATE_ID" and other["details"]["line"] == 2
        taken = await editor.command("astra.append", {"store": path.as_uri(), "event": {**event, "id": "m1"}})
        assert taken["code"] == "DUPLICATE_ID" and taken["details"]["line"] == 1
        assert path.read_bytes() == before


async def test_the_duplicate_id_quick_fix_quarantines_the_later_event(workspace: Path) -> None:
    again = message(3).replace('"m3"', '"m1"')
    path = write_store(workspace, "conversation", [message(1), message(2), again])
    async with start_editor(workspace) as editor:
        found = await editor.diagnostics(path, lambda d: len(d) == 1)
        assert found[0].code == "ASTRA020" and found[0].range.start.line == 2
        fix = await quarantine_fix(editor, path, found[0], "duplicate")
        moved = await editor.command(fix["command"], *fix["arguments"])
        assert moved["ok"] and moved["moved"] == 1
        assert path.read_text().splitlines() == [message(1), message(2)]
