"""Hover: what is wrong with a line, what a key means, or the projected state after an event."""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import orjson
from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from astra_ls.core.analysis import events_through
from astra_ls.core.codes import CODES
from astra_ls.core.linecheck import EVENT, SNAPSHOT
from astra_ls.core.locate import locate
from astra_ls.core.positions import char_of_utf16_col
from astra_ls.core.problems import Problem
from astra_ls.lsp.views import StoreView, StoreViews
from astra_ls.lsp.warmup import CheckpointWarmer
from astra_ls.projections.snapshot_fit import SnapshotMismatch
from astra_ls.projections.time_travel import out_of_order_events

MAX_STATE_LINES = 40
MAX_STRING = 120
MAX_ITEMS = 20  # keys of an object
MAX_LIST_ITEMS = 5  # the latest items of a list: what fits the preview's lines
MAX_DEPTH = 6
SHOW_STATE_COMMAND = "astra-ls.showStateAtLine"
T = TypeVar("T")
# A hover replays for this much of its thread's CPU time at most (what it reached is kept for the next
# one): the bound is on the work, so a busy machine slows a small replay but never cuts it short.
REPLAY_BUDGET_S = 0.3

FIXES = {
    "ASTRA001": "Fix the JSON by hand, or quarantine the line (quick fix): it moves to .astra/quarantine/.",
    "ASTRA002": "Each line must be one JSON object; wrap the value in an object or quarantine the line.",
    "ASTRA003": "The bytes are not UTF-8: quarantine the line (quick fix) and re-append it correctly encoded.",
    "ASTRA010": "Make the event match its type's schema (missing or mistyped fields), or quarantine it.",
    "ASTRA011": "Use one of the schema's event types; the quick fix offers the closest one.",
    "ASTRA020": "Give each event its own id; if the line is a repeated append, quarantine it.",
    "ASTRA021": "Events must be appended in time order: check the writer's clock or the event's timestamp.",
    "ASTRA030": "Remove the byte-order mark (quick fix).",
    "ASTRA031": "Save the file with LF line endings.",
    "ASTRA032": "Remove the blank line (quick fix).",
    "ASTRA033": "Add the final newline (quick fix) so the next append starts on its own line.",
    "ASTRA034": "The line is too large to check; quarantine it or raise max_line_bytes.",
    "ASTRA035": "NUL bytes are never valid JSON: quarantine the line.",
    "ASTRA036": "Readers in other languages lose precision: write big integers as strings.",
    "ASTRA037": "A carriage return inside a line splits it in some readers: escape it as \\r.",
    "ASTRA039": "A snapshot record must be the one compaction wrote: restore it from .astra/archive/.",
}


def iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000.0, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def trim(value: Any, depth: int = 0, nodes: list[int] | None = None) -> Any:
    """A small copy of a state for display: long strings, lists and objects are cut (bounded work).

    `nodes` counts down the values still worth copying: each starts a line of the indented JSON, so past
    the preview's last line nothing more is shown and the rest is left out."""
    nodes = [MAX_STATE_LINES + 1] if nodes is None else nodes
    nodes[0] -= 1
    if nodes[0] < 0:
        return "…"
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING else f"{value[:MAX_STRING]}… ({len(value):,} chars)"
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            return f"[… {len(value):,} items]"
        # the latest items: in a projected state the end of a list (the last messages) is the news
        items = [trim(item, depth + 1, nodes) for item in _while_shown(value[-MAX_LIST_ITEMS:], nodes)]
        if len(value) > MAX_LIST_ITEMS:
            items.insert(0, f"… {len(value) - MAX_LIST_ITEMS:,} earlier")
        return items
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return f"{{… {len(value):,} keys}}"
        kept = {str(k): trim(v, depth + 1, nodes)
                for k, v in _while_shown(itertools.islice(value.items(), MAX_ITEMS), nodes)}
        if len(value) > MAX_ITEMS:
            kept["…"] = f"{len(value) - MAX_ITEMS:,} more keys"
        return kept
    return value


def _while_shown(items: Iterable[T], nodes: list[int]) -> Iterator[T]:
    """The items while some are still shown: a value past the preview's last line would only add lines
    after it (the node count only falls, and each value starts a line)."""
    for item in items:
        if nodes[0] <= 0:
            return
        yield item


def state_block(state: Any) -> str:
    lines = json.dumps(trim(state), indent=2, ensure_ascii=False, default=str).splitlines()
    if len(lines) > MAX_STATE_LINES:
        lines = [*lines[:MAX_STATE_LINES], "…"]
    return "```json\n" + "\n".join(lines) + "\n```"


def problem_text(problem: Problem) -> str:
    info = CODES[problem.code]
    fix = FIXES.get(problem.code, "")
    # a message that starts with its code's title ("malformed JSON: ...") is not prefixed with it again
    said = problem.message if problem.message.lower().startswith(info.title.lower()) else \
        f"{info.title}: {problem.message}"
    return f"**{problem.code}** {said}" + (f"\n\n*How to fix:* {fix}" if fix else "") + \
        f" ([docs]({info.url}))"


def key_at(text: str, event: dict[str, Any], character: int) -> str | None:
    """The top-level key under the cursor, if it is on one."""
    at = char_of_utf16_col(text, character)
    for key in event:
        span = locate(text, (key,))
        if span is not None and span.key is not None and span.key.start <= at < span.key.end:
            return str(key)
    return None


def field_text(view: StoreView, type_name: Any, key: str) -> str:
    info = view.schema.type_info(type_name) if isinstance(type_name, str) else None
    common = view.schema.common_fields()  # one model for every event, whatever its type (the entity family)
    found = info.field(key) if info else common.field(key) if common else None
    if found is None:
        role = _field_role(view, key)
        if role is not None:
            return f"`{key}`: {role}"
        return f"`{key}`: not described by the {view.schema.name} schema" + (f" for `{type_name}`" if info else "")
    required = "required" if found.required else "optional"
    where = f" in `{type_name}`" if isinstance(type_name, str) and type_name else ""
    return f"`{key}`: `{found.type}` ({required}){where}" + \
        (f"\n\n{found.description}" if found.description else "")


def _field_role(view: StoreView, key: str) -> str | None:
    """What a top-level key means to the store itself: its id, time or type field."""
    rules = view.located.store.setup(view.located.stream).rules
    if key == rules.line.id_field:
        unique = "unique in this store (ASTRA020)" if rules.unique_ids else "repeated by design in this store"
        return f"the event's id ({unique})"
    if key == rules.line.time_field:
        return f"the event's time ({rules.line.time_format}: epoch ms or s, or ISO 8601), in order (ASTRA021)"
    if key == rules.line.type_field:
        return "the event's type: counts, queries and the timeline go by it"
    return None


def event_text(view: StoreView, line: int, event: dict[str, Any]) -> str:
    analysis = view.analysis
    position = events_through(analysis, line)
    stamp = analysis.timestamps[line]
    when = f" · {iso(stamp)}" if not math.isnan(stamp) else ""
    type_name = analysis.types.names[analysis.type_ids[line]] or "(untyped)"  # from the store's type field
    kind = "snapshot" if analysis.kinds[line] == SNAPSHOT else f"`{type_name}`"
    link_args = quote(json.dumps([{"store": view.uri, "line": line + 1}]))
    source = " (unsaved buffer)" if view.unsaved else ""
    backwards = out_of_order_events(analysis)
    order = (f"*This store is not in time order ({backwards:,} event(s) earlier than the one before them): "
             "this is the state after the lines above, not the state at this event's time "
             "(project at a time for that).*\n\n") if backwards else ""
    return (f"**{kind}** · event {position:,} of {analysis.event_count():,}{when}\n\n{order}"
            f"State after this event{source}:\n\n{state_section(view, line)}\n\n"
            f"[Open the full state](command:{SHOW_STATE_COMMAND}?{link_args})")


def state_section(view: StoreView, line: int) -> str:
    """The projected state, unless replaying up to `line` takes longer than a hover should (a line far
    past the checkpoints made so far, right after a big store was opened): then how far they are."""
    give_up_at = time.thread_time() + REPLAY_BUDGET_S
    try:
        state = view.replayer.state_unless(view.analysis, view.read, line, lambda: time.thread_time() > give_up_at)
    except SnapshotMismatch as error:
        return f"*No state: {error}*"
    if state is not None:
        return state_block(state)
    covered = 100 * (view.replayer.covered() + 1) // max(1, view.analysis.line_count)
    return (f"*Still being computed: time-travel checkpoints cover {covered}% of the store so far.* "
            "Hover again in a moment, or open the full state.")


def hover_markdown(view: StoreView, line: int, character: int) -> str | None:
    analysis = view.analysis
    if not 0 <= line < analysis.line_count:
        return None
    parts = [problem_text(p) for p in view.problems_on(line)]
    if analysis.kinds[line] in (EVENT, SNAPSHOT):
        text = view.line_text(line)
        try:
            event = orjson.loads(text.lstrip("\ufeff").encode())
        except orjson.JSONDecodeError:
            event = None
        if isinstance(event, dict):
            key = key_at(text, event, character)
            if key is not None and analysis.kinds[line] == EVENT:
                parts.append(field_text(view, event.get("type"), key))
            else:
                parts.append(event_text(view, line, event))
    return "\n\n---\n\n".join(parts) if parts else None


class Hovers:
    def __init__(self, views: StoreViews, warmer: CheckpointWarmer) -> None:
        self._views = views
        self._warmer = warmer

    def register(self, server: LanguageServer) -> None:
        @server.feature(lsp.TEXT_DOCUMENT_HOVER)
        async def hover(params: lsp.HoverParams) -> lsp.Hover | None:
            return await self.hover(params)

    async def hover(self, params: lsp.HoverParams) -> lsp.Hover | None:
        uri, position = params.text_document.uri, params.position
        await self._views.settled(uri)

        def read(view: StoreView | None) -> str | None:
            return None if view is None else hover_markdown(view, position.line, position.character)

        with self._warmer.standing_aside():
            text = await self._views.look(uri, read)
        if text is None:
            return None
        return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, text))
