"""The outline: events grouped by type, bounded so a store of millions of lines stays a quick answer."""

from __future__ import annotations

import math

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from astra_ls.core.linecheck import EVENT
from astra_ls.core.positions import utf16_len
from astra_ls.lsp.hover import iso
from astra_ls.lsp.views import StoreView, StoreViews

MAX_SYMBOLS = 2000


def outline(view: StoreView) -> list[lsp.DocumentSymbol]:
    analysis = view.analysis
    groups: dict[str, list[lsp.DocumentSymbol]] = {}
    shown = 0
    for line in range(analysis.line_count):
        if shown >= MAX_SYMBOLS:
            break
        if analysis.kinds[line] != EVENT:
            continue
        name = analysis.types.names[analysis.type_ids[line]] or "(untyped)"
        span = lsp.Range(lsp.Position(line, 0), lsp.Position(line, utf16_len(view.line_text(line))))
        stamp = analysis.timestamps[line]
        groups.setdefault(name, []).append(lsp.DocumentSymbol(
            name=f"{name} (line {line + 1})", kind=lsp.SymbolKind.Event, range=span, selection_range=span,
            detail=iso(stamp) if not math.isnan(stamp) else None))
        shown += 1
    counts = analysis.counts_by_type()
    return [lsp.DocumentSymbol(
        name=name, kind=lsp.SymbolKind.Class, detail=f"{counts.get(name, len(events)):,} events",
        range=lsp.Range(events[0].range.start, events[-1].range.end), selection_range=events[0].selection_range,
        children=events) for name, events in groups.items()]


class Symbols:
    def __init__(self, views: StoreViews) -> None:
        self._views = views

    def register(self, server: LanguageServer) -> None:
        @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
        async def document_symbol(params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol] | None:
            return await self.symbols(params)

    async def symbols(self, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol] | None:
        uri = params.text_document.uri
        await self._views.settled(uri)

        def read(view: StoreView | None) -> list[lsp.DocumentSymbol]:
            return [] if view is None else outline(view)

        return await self._views.look(uri, read) or None
