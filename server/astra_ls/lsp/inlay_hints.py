"""Inlay hints: epoch-millisecond timestamps shown as ISO times, for the visible lines only."""

from __future__ import annotations

import math

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from astra_ls.core.linecheck import EVENT
from astra_ls.core.locate import locate
from astra_ls.core.positions import utf16_col_of_char
from astra_ls.lsp.hover import iso
from astra_ls.lsp.views import StoreView, StoreViews

MAX_LINES = 2000


def hints(view: StoreView, first: int, last: int) -> list[lsp.InlayHint]:
    analysis = view.analysis
    field = view.config.time_field
    found = []
    for line in range(max(0, first), min(last + 1, analysis.line_count, first + MAX_LINES)):
        stamp = analysis.timestamps[line]
        if analysis.kinds[line] != EVENT or math.isnan(stamp):
            continue
        text = view.line_text(line)
        span = locate(text.lstrip("\ufeff"), (field,))
        shift = len(text) - len(text.lstrip("\ufeff"))
        if span is None or text[shift + span.value.start] == '"':  # ISO strings are readable already
            continue
        column = utf16_col_of_char(text, shift + span.value.end)
        found.append(lsp.InlayHint(position=lsp.Position(line, column), label=iso(stamp),
                                   kind=lsp.InlayHintKind.Type, padding_left=True))
    return found


class InlayHints:
    def __init__(self, views: StoreViews) -> None:
        self._views = views

    def register(self, server: LanguageServer) -> None:
        @server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT, lsp.InlayHintOptions(resolve_provider=False))
        async def inlay_hint(params: lsp.InlayHintParams) -> list[lsp.InlayHint] | None:
            return await self.hints(params)

    async def hints(self, params: lsp.InlayHintParams) -> list[lsp.InlayHint] | None:
        uri = params.text_document.uri
        await self._views.settled(uri)

        def read(view: StoreView | None) -> list[lsp.InlayHint]:
            return [] if view is None else hints(view, params.range.start.line, params.range.end.line)

        return await self._views.look(uri, read) or None
