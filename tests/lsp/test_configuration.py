"""The configuration in the editor, over stdio (issue 15.5): an untrusted workspace with workspace code
degrades to the built-ins with one diagnostic on astra-ls.toml; mistakes are diagnostics at their key; an
edit of astra-ls.toml or of a schema file in use is taken in without a restart."""

from __future__ import annotations

import json
from pathlib import Path

from lsprotocol import types as lsp

from .editor import line, message, start_editor, write_store

AGENT = [line(id="s1", type="TaskReceived", timestamp=1_700_000_000_000, taskDescription="ship it", constraints=[]),
         line(id="s2", type="TaskRecieved", timestamp=1_700_000_001_000)]


async def test_an_untrusted_workspace_with_a_python_projector_degrades(workspace: Path) -> None:
    (workspace / "myproj.py").write_text("open('IMPORTED', 'w').close()\ndef fold(state, event):\n    return state\n")
    config = workspace / "astra-ls.toml"
    config.write_text('[[stores]]\nglob = "agent-*.jsonl"\nprojector = "myproj:fold"\n')
    path = write_store(workspace, "agent-run", AGENT)
    async with start_editor(workspace) as editor:
        found = await editor.diagnostics(path, lambda d: len(d) == 1, "the store's own diagnostics")
        assert found[0].code == "ASTRA011"  # checked with the built-in agent schema its name implies
        [told] = await editor.diagnostics(config, lambda d: len(d) == 1, "the configuration's diagnostic")
        assert told.code == "ASTRA041" and told.severity == lsp.DiagnosticSeverity.Warning
        assert (told.range.start.line, told.range.start.character) == (2, 0)
        assert "myproj:fold" in told.message and "trust" in told.message

        listed = await editor.command("astra.listStores")
        assert listed["ok"] is True
        [store] = listed["stores"]
        assert (store["projector"], store["skipped"]) == ("agent", ["myproj:fold"])
        hover = await editor.hover(path, 0)
        assert "TaskReceived" in hover
        projected = await editor.command("astra.project", {"store": path.as_uri()})
        assert projected["ok"] is True
    assert not (workspace / "IMPORTED").exists()


async def test_configuration_mistakes_are_diagnostics_and_edits_are_taken_in_without_restart(
        workspace: Path) -> None:
    config = workspace / "astra-ls.toml"
    config.write_text('ignore = ["ASTRA001"]\nmax_problems_per_fil = 5\n')
    path = write_store(workspace, "conversation", [message(1), "{torn"])
    async with start_editor(workspace, watch=True) as editor:
        [typo] = await editor.diagnostics(config, lambda d: len(d) == 1, "the typo's diagnostic")
        assert typo.code == "ASTRA040" and typo.severity == lsp.DiagnosticSeverity.Error
        assert (typo.range.start.line, typo.range.start.character, typo.range.end.character) == (1, 0, 20)
        assert "did you mean 'max_problems_per_file'" in typo.message
        await editor.diagnostics(path, lambda d: len(d) == 0, "the rest of the configuration in use")

        config.write_text('ignore = []\n')
        editor.watched(config, lsp.FileChangeType.Changed)
        await editor.diagnostics(config, lambda d: len(d) == 0, "cleared configuration diagnostics")
        found = await editor.diagnostics(path, lambda d: len(d) == 1, "the store re-checked with the new rules")
        assert found[0].code == "ASTRA001"


async def test_an_edited_json_schema_file_is_taken_in(workspace: Path) -> None:
    schema = workspace / "schemas" / "order.json"
    schema.parent.mkdir()
    schema.write_text(json.dumps({"type": "object", "required": ["qty"]}))
    (workspace / "astra-ls.toml").write_text('[[stores]]\nglob = "orders.jsonl"\nschema = "schemas/order.json"\n')
    path = write_store(workspace, "orders", [line(id="o1", qty=1), line(id="o2", amount=2)])
    async with start_editor(workspace, watch=True) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 1, "the missing qty")
        schema.write_text(json.dumps({"type": "object"}))
        editor.watched(schema, lsp.FileChangeType.Changed)
        await editor.diagnostics(path, lambda d: len(d) == 0, "a re-check with the edited schema")


async def test_the_poller_follows_the_configuration_too(workspace: Path) -> None:
    config = workspace / "astra-ls.toml"
    path = write_store(workspace, "conversation", [message(1), "{torn"])
    async with start_editor(workspace, watch=False) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 1)
        config.write_text('ignore = ["ASTRA001"]\n')
        await editor.diagnostics(path, lambda d: len(d) == 0, "a re-check after astra-ls.toml appeared")


async def test_store_fields_in_the_editor(workspace: Path) -> None:
    (workspace / "astra-ls.toml").write_text('[[stores]]\nglob = "audit.jsonl"\ntype_field = "verb"\n'
                                              'id_field = "auditID"\ntime_field = "stageTimestamp"\n')
    audit = write_store(workspace, "audit", [
        line(auditID="a1", verb="get", stageTimestamp="2025-06-01T22:50:00.000001Z"),
        line(auditID="a2", verb="create", stageTimestamp="2025-06-01T22:50:01.000001Z")])
    session = write_store(workspace, "agent-session", [
        line(type="user", uuid="u1", timestamp="2025-06-01T22:54:00Z"),
        line(type="assistant", uuid="u2", timestamp="2025-06-01T22:54:01Z"),
        line(type="summary", summary="s")])
    async with start_editor(workspace) as editor:
        await editor.diagnostics(session, lambda d: len(d) == 0, "no error per line of the transcript")
        listed = {s["name"]: s for s in (await editor.command("astra.listStores"))["stores"]}
        assert (listed["agent-session"]["schema"], listed["agent-session"]["schemaOrigin"]) == ("generic", "content")
        assert listed["audit"]["fields"] == {"type": "verb", "id": "auditID", "time": {
            "field": "stageTimestamp", "format": "iso8601", "detected": True, "untimed": 0}}
        assert listed["agent-session"]["fields"]["time"]["untimed"] == 1
        assert (await editor.hover(audit, 1)).startswith("**`create`** · event 2 of 2 · 2025-06-01T22:50:01")
