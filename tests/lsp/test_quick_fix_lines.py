"""Quick fixes name lines, and lines move: a command that names a line also names what it expects there
(a fingerprint of the line), and is refused with LINE_CHANGED when the line no longer holds it."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from .editor import Editor, message, start_editor, write_store
from .test_features import quick_fixes


def command_of(action: lsp.CodeAction | lsp.Command) -> dict[str, Any]:
    # lsprotocol's client side reads a code action that carries a command as a Command whose `command`
    # is the text of the command object; read it back from there.
    command = action.command
    spec = ast.literal_eval(command) if isinstance(command, str) else attrs.asdict(command)
    assert isinstance(spec, dict)
    return spec


async def quarantine_fix(editor: Editor, path: Path, diagnostic: lsp.Diagnostic, title: str) -> dict[str, Any]:
    actions = await quick_fixes(editor, path, diagnostic)
    return command_of(next(a for a in actions if title in a.title))


async def test_two_quarantine_fixes_from_the_same_diagnostics_never_move_a_good_event(workspace: Path) -> None:
    """Before: quarantining line 2 and then line 4 from the same diagnostics moved the good event that
    had become line 4 and left the bad one."""
    path = write_store(workspace, "conversation", [message(1), "{broken", message(3), "[4]", message(5)])
    async with start_editor(workspace) as editor:
        found = await editor.diagnostics(path, lambda d: len(d) == 2)
        first, second = [await quarantine_fix(editor, path, d, "this line") for d in found]
        assert first["command"] == second["command"] == "astra.quarantine"
        [ref] = first["arguments"][0]["lines"]
        assert ref["line"] == 2 and isinstance(ref["fingerprint"], str)

        moved = await editor.command(first["command"], *first["arguments"])
        assert moved["ok"] and moved["moved"] == 1
        refused = await editor.command(second["command"], *second["arguments"])
        assert refused["ok"] is False and refused["code"] == "LINE_CHANGED", refused
        assert refused["details"]["line"] == 4
        lines = path.read_text().splitlines()
        assert lines == [message(1), message(3), "[4]", message(5)]

        # Fixes made from the diagnostics as they are now name the line where it is now.
        found = await editor.diagnostics(path, lambda d: len(d) == 1 and d[0].range.start.line == 2)
        fix = await quarantine_fix(editor, path, found[0], "this line")
        moved = await editor.command(fix["command"], *fix["arguments"])
        assert moved["ok"] and moved["moved"] == 1
        assert path.read_text().splitlines() == [message(1), message(3), message(5)]
        records = [json.loads(x) for x in Path(moved["quarantinePath"]).read_text().splitlines()]
        assert [r["raw"] for r in records] == ["{broken", "[4]"]


async def test_a_quarantine_naming_lines_without_fingerprints_is_refused(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1), "{broken"])
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 1)
        with pytest.raises(JsonRpcException, match="fingerprint"):
            await editor.command("astra.quarantine", {"store": path.as_uri(), "lines": [2]})
        assert path.read_text().splitlines() == [message(1), "{broken"]
