"""A UTF-16 store and a CRLF store in the editor, over stdio (issue 15.6): one file-level problem, and a
quick fix that rewrites the whole file through `astra.convertEncoding`."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

from lsprotocol import types as lsp

from .editor import WAIT_S, Editor, message, start_editor, write_store

TEXT = "\r\n".join(message(n) for n in range(1, 6)) + "\r\n"


async def code_actions(editor: Editor, path: Path, diagnostics: list[lsp.Diagnostic]) -> list[lsp.Command]:
    """The commands of the code actions offered. The test client's converter reads a CodeAction that carries
    a command as a Command whose `command` is the CodeAction's command object printed: read it back."""
    answer = await asyncio.wait_for(editor.client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(editor.uri(path)), range=diagnostics[0].range,
        context=lsp.CodeActionContext(diagnostics=diagnostics))), WAIT_S)
    found = []
    for item in answer or []:
        if isinstance(item, lsp.CodeAction) and item.command is not None:
            found.append(item.command)
        elif isinstance(item, lsp.Command):
            inner = ast.literal_eval(item.command) if item.command.startswith("{") else None
            found.append(lsp.Command(**inner) if isinstance(inner, dict) else item)
    return found


async def test_utf16_and_crlf_stores_get_a_whole_file_fix(workspace: Path) -> None:
    utf16 = write_store(workspace, "conversation", [])
    utf16.write_bytes(b"\xff\xfe" + TEXT.encode("utf-16-le"))
    crlf = write_store(workspace, "conversation-2", [])
    crlf.write_bytes(TEXT.encode())
    async with start_editor(workspace) as editor:
        [found] = await editor.diagnostics(utf16, lambda d: len(d) == 1, "one file-level problem")
        assert found.code == "ASTRA004" and "UTF-16 LE" in found.message
        [fix] = await code_actions(editor, utf16, [found])
        assert fix.command == "astra.convertEncoding" and "UTF-8" in fix.title
        answer = await editor.command(fix.command, *(fix.arguments or []))
        assert answer["ok"] is True and answer["changed"] is True
        await editor.diagnostics(utf16, lambda d: len(d) == 0, "diagnostics of the converted store")
        assert utf16.read_bytes() == TEXT.replace("\r\n", "\n").encode()

        warnings = await editor.diagnostics(crlf, lambda d: len(d) == 5, "a warning per CRLF line")
        actions = await code_actions(editor, crlf, list(warnings))
        [whole] = [a for a in actions if a.command == "astra.convertEncoding"]  # once, for all selected lines
        assert "LF" in whole.title
        assert (await editor.command(whole.command, *(whole.arguments or [])))["ok"]
        await editor.diagnostics(crlf, lambda d: len(d) == 0, "diagnostics after converting to LF")
        archived = sorted((workspace / ".astra" / "archive").iterdir())
        assert [p.read_bytes() for p in archived] == [b"\xff\xfe" + TEXT.encode("utf-16-le"), TEXT.encode()] or \
            [p.read_bytes() for p in archived] == [TEXT.encode(), b"\xff\xfe" + TEXT.encode("utf-16-le")]
