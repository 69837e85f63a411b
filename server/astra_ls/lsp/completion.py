"""Completion inside a line: event types, the missing required fields of the line's type, whole skeletons."""

from __future__ import annotations

import json
import re

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from astra_ls.core.positions import char_of_utf16_col
from astra_ls.lsp.views import StoreView, StoreViews
from astra_ls.schemas.base import TypeInfo, skeleton

TYPE_VALUE_OPEN = re.compile(r'"type"\s*:\s*"[^"]*$')
TYPE_VALUE = re.compile(r'"type"\s*:\s*"((?:[^"\\]|\\.)*)"')
KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:')


def _snippet_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("$", "\\$").replace("}", "\\}")


def skeleton_items(types: tuple[TypeInfo, ...]) -> list[lsp.CompletionItem]:
    return [lsp.CompletionItem(label=f"{info.name} event", kind=lsp.CompletionItemKind.Snippet,
                               detail=info.description or "event skeleton",
                               insert_text=json.dumps(skeleton(info), ensure_ascii=False),
                               filter_text=info.name)
            for info in types]


def type_items(types: tuple[TypeInfo, ...]) -> list[lsp.CompletionItem]:
    return [lsp.CompletionItem(label=info.name, kind=lsp.CompletionItemKind.EnumMember,
                               detail=info.description or None)
            for info in types]


def field_items(info: TypeInfo, text: str) -> list[lsp.CompletionItem]:
    present = set(KEY.findall(text))
    defaults = skeleton(info)
    items = []
    for spec in info.fields:
        if not spec.required or spec.name in present:
            continue
        placeholder = json.dumps(defaults.get(spec.name), ensure_ascii=False)
        items.append(lsp.CompletionItem(
            label=spec.name, kind=lsp.CompletionItemKind.Field, detail=f"{spec.type} (required)",
            documentation=spec.description or None, insert_text_format=lsp.InsertTextFormat.Snippet,
            insert_text=f'"{spec.name}": ${{1:{_snippet_text(placeholder)}}}'))
    return items


def complete(view: StoreView, line: int, character: int) -> list[lsp.CompletionItem]:
    types = view.schema.types()
    if not types:
        return []
    text = view.line_text(line) if line < view.analysis.line_count else ""
    if not text.strip():
        return skeleton_items(types)
    before = text[: char_of_utf16_col(text, character)]
    if TYPE_VALUE_OPEN.search(before):
        return type_items(types)
    found = TYPE_VALUE.search(text)
    info = view.schema.type_info(found.group(1)) if found else None
    return field_items(info, text) if info else []


class Completions:
    def __init__(self, views: StoreViews) -> None:
        self._views = views

    def register(self, server: LanguageServer) -> None:
        @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=['"', ":", "{"]))
        async def completion(params: lsp.CompletionParams) -> lsp.CompletionList | None:
            return await self.complete(params)

    async def complete(self, params: lsp.CompletionParams) -> lsp.CompletionList | None:
        uri, position = params.text_document.uri, params.position
        if not self._views.is_open(uri):
            return None
        await self._views.settled(uri)

        def read(view: StoreView | None) -> list[lsp.CompletionItem]:
            return [] if view is None else complete(view, position.line, position.character)

        return lsp.CompletionList(is_incomplete=False, items=await self._views.look(uri, read))
