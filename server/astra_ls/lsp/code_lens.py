"""A lens on line 1 of a store (its event and problem counts, and the actions people reach for), and a
"Trace decision" lens on each decision of an agent store."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from astra_ls.lsp.views import StoreView, StoreViews
from astra_ls.lsp.workspace_state import Workspaces
from astra_ls.projections.trace import DECISION_TYPES


class CodeLenses:
    def __init__(self, views: StoreViews, workspaces: Workspaces, counts: Mapping[str, tuple[int, int]]) -> None:
        """`counts`: (events, problems) of each store as of its latest check (kept by checks.py)."""
        self._views = views
        self._workspaces = workspaces
        self._counts = counts

    def register(self, server: LanguageServer) -> None:
        @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS, lsp.CodeLensOptions(resolve_provider=False))
        async def code_lens(params: lsp.CodeLensParams) -> list[lsp.CodeLens] | None:
            return await self.lenses(params)

    async def lenses(self, params: lsp.CodeLensParams) -> list[lsp.CodeLens] | None:
        uri = params.text_document.uri
        if self._workspaces.locate_uri(uri) is None:
            return None
        await self._views.settled(uri)
        counts = self._counts.get(uri)
        if counts is None:
            return None
        events, problems = counts
        top = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
        store = [{"store": uri}]

        def decisions(view: StoreView | None) -> list[int]:
            return [] if view is None else decision_lines(view)

        traced = [lsp.CodeLens(lsp.Range(lsp.Position(line, 0), lsp.Position(line, 0)),
                               lsp.Command("Trace decision", TRACE_COMMAND, arguments=[{"store": uri,
                                                                                        "line": line + 1}]))
                  for line in await self._views.look(uri, decisions)]
        return [
            lsp.CodeLens(top, lsp.Command(f"{events:,} events", "astra-ls.countEvents", arguments=store)),
            lsp.CodeLens(top, lsp.Command(f"{problems:,} problems", "workbench.actions.view.problems")),
            lsp.CodeLens(top, lsp.Command("Show projection", "astra-ls.showProjection", arguments=store)),
            lsp.CodeLens(top, lsp.Command("Append event", "astra-ls.appendEvent", arguments=store)),
            lsp.CodeLens(top, lsp.Command("Time travel", "astra-ls.openDebugger", arguments=store)),
            *traced,
        ]


TRACE_COMMAND = "astra-ls.traceDecision"
MAX_TRACE_LENSES = 5000  # a long run's decisions: the first ones get a lens, the rest the command


def decision_lines(view: StoreView) -> list[int]:
    """Lines of the agent family's decisions, in a store the agent schema or projector reads."""
    rule = view.located.store.setup(view.located.stream).rule
    if "agent" not in (rule.schema_, rule.projector):
        return []
    analysis = view.analysis
    wanted = [i for i, name in enumerate(analysis.types.names) if name in DECISION_TYPES]
    if not wanted or not len(analysis.type_ids):
        return []
    ids = np.frombuffer(analysis.type_ids, np.uint16)
    found = np.flatnonzero(np.isin(ids, wanted) & analysis.event_mask()[: len(ids)])
    return [int(line) for line in found[:MAX_TRACE_LENSES].tolist()]
