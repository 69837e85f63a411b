"""Quick fixes that lose nothing: edits for framing problems, quarantine (a move, never a delete) for the rest."""

from __future__ import annotations

import json
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from astra_ls.core.linecheck import BAD, BLANK
from astra_ls.core.positions import utf16_len
from astra_ls.lsp.views import StoreView, StoreViews
from astra_ls.store.line_fingerprint import line_fingerprint

MAX_BLANK_EDITS = 10_000


def _fix(title: str, uri: str, edits: list[lsp.TextEdit], diagnostic: lsp.Diagnostic | None,
         preferred: bool = False) -> lsp.CodeAction:
    return lsp.CodeAction(title=title, kind=lsp.CodeActionKind.QuickFix,
                          diagnostics=[diagnostic] if diagnostic else None, is_preferred=preferred or None,
                          edit=lsp.WorkspaceEdit(changes={uri: edits}))


def _quarantine(title: str, view: StoreView, line: int | None, diagnostic: lsp.Diagnostic) -> lsp.CodeAction:
    """Quarantine `line` (0-based; None: every bad line), named with its fingerprint: the store may have
    changed by the time the command runs, and then it is refused rather than moving another line."""
    argument: dict[str, Any] = {"store": view.uri}
    if line is not None:
        fingerprint = line_fingerprint(view.read(*view.analysis.line_span(line)))
        argument["lines"] = [{"line": line + 1, "fingerprint": fingerprint}]
    return lsp.CodeAction(title=title, kind=lsp.CodeActionKind.QuickFix, diagnostics=[diagnostic],
                          command=lsp.Command(title=title, command="astra.quarantine", arguments=[argument]))


def _convert(title: str, uri: str, line_endings: str, diagnostic: lsp.Diagnostic) -> lsp.CodeAction:
    """The whole file rewritten by the server (original archived), not a text edit of every line."""
    argument = {"store": uri, "to": "utf-8", "lineEndings": line_endings}
    return lsp.CodeAction(title=title, kind=lsp.CodeActionKind.QuickFix, diagnostics=[diagnostic],
                          is_preferred=True,
                          command=lsp.Command(title=title, command="astra.convertEncoding", arguments=[argument]))


def _delete_line(view: StoreView, line: int) -> lsp.TextEdit:
    """Remove a whole line with its line break (the one before it, when it is the unterminated last line)."""
    analysis = view.analysis
    if line + 1 < analysis.line_count or analysis.terminated or line == 0:
        return lsp.TextEdit(lsp.Range(lsp.Position(line, 0), lsp.Position(line + 1, 0)), "")
    previous = utf16_len(view.line_text(line - 1))
    end = utf16_len(view.line_text(line))
    return lsp.TextEdit(lsp.Range(lsp.Position(line - 1, previous), lsp.Position(line, end)), "")


def actions_for(view: StoreView, diagnostic: lsp.Diagnostic) -> list[lsp.CodeAction]:
    uri, code, start = view.uri, diagnostic.code, diagnostic.range.start
    data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
    analysis = view.analysis
    if code == "ASTRA004":
        return [_convert("Convert this store to UTF-8 (the original is kept in .astra/archive/)", uri, "lf",
                         diagnostic)]
    if code == "ASTRA031":
        return [_convert("Convert every line ending of this store to LF (the original is kept in "
                         ".astra/archive/)", uri, "lf", diagnostic)]
    if code == "ASTRA030":
        return [_fix("Remove the byte-order mark", uri, [lsp.TextEdit(
            lsp.Range(start, lsp.Position(start.line, start.character + 1)), "")], diagnostic, True)]
    if code == "ASTRA033":
        return [_fix("Add the final newline", uri, [lsp.TextEdit(
            lsp.Range(diagnostic.range.end, diagnostic.range.end), "\n")], diagnostic, True)]
    if code == "ASTRA011" and isinstance(data.get("suggestion"), str):
        suggestion = data["suggestion"]
        return [_fix(f"Change the type to {suggestion!r}", uri,
                     [lsp.TextEdit(diagnostic.range, json.dumps(suggestion, ensure_ascii=False))], diagnostic, True)]
    if code == "ASTRA032":
        blanks = [line for line, kind in enumerate(analysis.kinds) if kind == BLANK][:MAX_BLANK_EDITS]
        fixes = [_fix("Remove this blank line", uri, [_delete_line(view, start.line)], diagnostic, True)]
        if len(blanks) > 1:
            # Bottom-up, so each deletion leaves the positions of the others as they were.
            edits = [_delete_line(view, line) for line in reversed(blanks)]
            fixes.append(_fix(f"Remove all {len(blanks)} blank lines", uri, edits, diagnostic))
        return fixes
    if 0 <= start.line < analysis.line_count and analysis.kinds[start.line] == BAD:
        return [_quarantine("Quarantine this line (move it to .astra/quarantine/)", view, start.line, diagnostic),
                _quarantine("Quarantine every malformed line of this store", view, None, diagnostic)]
    if code == "ASTRA020" and 0 <= start.line < analysis.line_count:
        return [_quarantine("Quarantine this duplicate (move it to .astra/quarantine/, keep the first)", view,
                            start.line, diagnostic)]
    return []


def _once(actions: list[lsp.CodeAction]) -> list[lsp.CodeAction]:
    """A whole-file fix (a command) offered for several of the selected diagnostics is offered once."""
    kept: list[lsp.CodeAction] = []
    titles: set[str] = set()
    for action in actions:
        if action.command is not None and action.title in titles:
            continue
        titles.add(action.title)
        kept.append(action)
    return kept


class CodeActions:
    def __init__(self, views: StoreViews) -> None:
        self._views = views

    def register(self, server: LanguageServer) -> None:
        @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
        async def code_action(params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
            return await self.actions(params)

    async def actions(self, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
        uri = params.text_document.uri
        ours = [d for d in params.context.diagnostics if d.source == "astra"]
        if not ours:
            return None
        await self._views.settled(uri)

        def read(view: StoreView | None) -> list[lsp.CodeAction]:
            if view is None:
                return []
            return _once([action for d in ours for action in actions_for(view, d)])

        return await self._views.look(uri, read) or None
