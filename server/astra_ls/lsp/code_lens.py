"""A lens on line 1 of a store: its event and problem counts, and the actions people reach for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types as lsp

if TYPE_CHECKING:
    from astra_ls.lsp.server import AstraServer


class CodeLenses:
    def __init__(self, server: AstraServer) -> None:
        self.server = server

    async def lenses(self, params: lsp.CodeLensParams) -> list[lsp.CodeLens] | None:
        uri = params.text_document.uri
        if self.server.workspaces.locate_uri(uri) is None:
            return None
        if self.server.documents.get(uri) is not None:
            await self.server.checks.settled(uri)
        counts = self.server.checks.counts.get(uri)
        if counts is None:
            return None
        events, problems = counts
        top = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
        store = [{"store": uri}]
        return [
            lsp.CodeLens(top, lsp.Command(f"{events:,} events", "astra-ls.countEvents", arguments=store)),
            lsp.CodeLens(top, lsp.Command(f"{problems:,} problems", "workbench.actions.view.problems")),
            lsp.CodeLens(top, lsp.Command("Show projection", "astra-ls.showProjection", arguments=store)),
            lsp.CodeLens(top, lsp.Command("Append event", "astra-ls.appendEvent", arguments=store)),
            lsp.CodeLens(top, lsp.Command("Time travel", "astra-ls.openDebugger", arguments=store)),
        ]


def register(server: AstraServer) -> None:
    lenses = CodeLenses(server)

    @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS, lsp.CodeLensOptions(resolve_provider=False))
    async def code_lens(params: lsp.CodeLensParams) -> list[lsp.CodeLens] | None:
        return await lenses.lenses(params)
