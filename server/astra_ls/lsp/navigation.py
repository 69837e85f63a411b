"""Go to definition on a link value (the parent or causing event, in any store of the folder), and find
references on an id (every event that points at it). Which fields link events is the store's
configuration (see `projections/links.py`); this module only translates positions and locations.
"""

from __future__ import annotations

from typing import Any

import msgspec
from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from astra_ls.core.locate import locate
from astra_ls.core.positions import char_of_utf16_col, utf16_col_of_char
from astra_ls.lsp.views import StoreView, StoreViews
from astra_ls.projections.links import (
    BOM,
    RESULT_LIMIT,
    EventAt,
    events_pointing_at,
    events_with_id,
    field_at,
    link_fields,
)


def _path(dotted: str, event: dict[str, Any]) -> tuple[str, ...]:
    return (dotted,) if dotted in event else tuple(dotted.split("."))


def field_under_cursor(view: StoreView, line: int, character: int, paths: list[str]) -> tuple[str, Any] | None:
    """(path, value) of the first of `paths` whose value the cursor is on."""
    if not 0 <= line < view.analysis.line_count:
        return None
    text = view.line_text(line)
    try:
        event = msgspec.json.decode(text.encode().removeprefix(BOM))
    except msgspec.DecodeError:
        return None
    if not isinstance(event, dict):
        return None
    at = char_of_utf16_col(text, character)
    for path in paths:
        span = locate(text, _path(path, event))
        if span is not None and span.value.start <= at <= span.value.end:
            return path, field_at(event, path)
    return None


def location(view_store: StoreView, found: EventAt) -> lsp.Location:
    store = view_store.located.store
    analysis = store.analysis(found.stream)
    start, length = analysis.line_span(found.line)
    text = store.reader(found.stream)(start, length).decode("utf-8", "replace")
    end = utf16_col_of_char(text, len(text))
    return lsp.Location(store.uri_of(found.stream),
                        lsp.Range(lsp.Position(found.line, 0), lsp.Position(found.line, end)))


def _streams_from(view: StoreView) -> list[str]:
    """The store's streams, the view's own first: a parent is looked for beside its child first."""
    own = view.located.stream
    return [own, *(s for s in view.located.store.streams() if s != own)]


def definitions(view: StoreView, line: int, character: int) -> list[lsp.Location]:
    fields = link_fields(view.located.store, view.located.stream)
    under = field_under_cursor(view, line, character, [path for _, path in fields.pointers()])
    if under is None:
        return []
    targets = events_with_id(view.located.store, under[1], _streams_from(view))
    return [location(view, found) for _, found in zip(range(RESULT_LIMIT), targets, strict=False)]


def references(view: StoreView, line: int, character: int, include_declaration: bool) -> list[lsp.Location]:
    fields = link_fields(view.located.store, view.located.stream)
    under = field_under_cursor(view, line, character, [fields.id])
    if under is None:
        return []
    pointing = events_pointing_at(view.located.store, under[1], _streams_from(view))
    found = [location(view, event) for (event, _), _ in zip(pointing, range(RESULT_LIMIT), strict=False)]
    if include_declaration:
        found.insert(0, location(view, EventAt(view.located.stream, line, {})))
    return found


class Navigation:
    def __init__(self, views: StoreViews) -> None:
        self._views = views

    def register(self, server: LanguageServer) -> None:
        @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
        async def definition(params: lsp.DefinitionParams) -> list[lsp.Location] | None:
            return await self.definition(params)

        @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
        async def references(params: lsp.ReferenceParams) -> list[lsp.Location] | None:
            return await self.references(params)

    async def definition(self, params: lsp.DefinitionParams) -> list[lsp.Location] | None:
        uri, position = params.text_document.uri, params.position

        def read(view: StoreView | None) -> list[lsp.Location]:
            return [] if view is None else definitions(view, position.line, position.character)

        return await self._views.look(uri, read) or None

    async def references(self, params: lsp.ReferenceParams) -> list[lsp.Location] | None:
        uri, position = params.text_document.uri, params.position
        declaration = params.context.include_declaration

        def read(view: StoreView | None) -> list[lsp.Location]:
            return [] if view is None else references(view, position.line, position.character, declaration)

        return await self._views.look(uri, read) or None
