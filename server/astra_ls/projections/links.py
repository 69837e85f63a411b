"""Links between events: an event names its parent (or cause) by id, and shares a correlation id with its
conversation or run. Following them answers "what led to this?" and "what came of it?", across streams.

Which fields hold the links is per store (`parent_field`, `causation_field`, `correlation_field`, dotted
paths allowed); the defaults are the names agent and event-sourcing logs use: `parentUuid`, `causationId`,
`correlationId`. Finding an event by id uses the analysis's id hashes (a vectorised compare, then the few
candidate lines are read to confirm); finding what points at an id reads the events, within a bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from astra_ls.core.facts import field_value, id_key
from astra_ls.store.base import EventStore

DEFAULT_PARENT, DEFAULT_CAUSATION, DEFAULT_CORRELATION = "parentUuid", "causationId", "correlationId"
SCAN_LIMIT = 2_000_000  # lines read per stream when looking for events that point at an id
RESULT_LIMIT = 1000  # events listed per answer: a correlation id shared by a whole log stays readable
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class LinkFields:
    id: str
    parent: str
    causation: str
    correlation: str

    def pointers(self) -> tuple[tuple[str, str], ...]:
        """(role, field) of the fields that point at another event's id."""
        return (("parent", self.parent), ("causation", self.causation))


def link_fields(store: EventStore, stream: str) -> LinkFields:
    rule = store.setup(stream).rule
    return LinkFields(
        id=getattr(rule, "id_field", None) or store.config.id_field,
        parent=rule.parent_field or DEFAULT_PARENT,
        causation=rule.causation_field or DEFAULT_CAUSATION,
        correlation=rule.correlation_field or DEFAULT_CORRELATION,
    )


def field_at(event: Any, path: str) -> Any:
    """The value at a field path (see `facts.field_value`); None when absent or not an object."""
    return field_value(event, path) if isinstance(event, dict) else None


@dataclass(frozen=True, slots=True)
class EventAt:
    stream: str
    line: int  # 0-based
    event: dict[str, Any]

    def to_json(self, store: EventStore, role: str | None = None) -> dict[str, Any]:
        found: dict[str, Any] = {"store": self.stream, "uri": store.uri_of(self.stream), "line": self.line + 1,
                                 "event": self.event}
        if role is not None:
            found["role"] = role
        return found


def read_event(store: EventStore, stream: str, line: int) -> dict[str, Any] | None:
    """The JSON object on a line (0-based), valid event or not; None when the line holds none."""
    analysis = store.analysis(stream)
    if not 0 <= line < analysis.line_count:
        return None
    start, length = analysis.line_span(line)
    try:
        event = msgspec.json.decode(store.reader(stream)(start, length).removeprefix(BOM))
    except msgspec.DecodeError:
        return None
    return event if isinstance(event, dict) else None


def events_with_id(store: EventStore, value: Any, streams: list[str]) -> Iterator[EventAt]:
    """Events whose id equals `value`, stream by stream (the given order), line by line."""
    if value is None:
        return
    key = id_key(value)
    for stream in streams:
        analysis = store.analysis(stream)
        hashes = np.frombuffer(analysis.id_hashes, np.int64) if analysis.id_hashes.itemsize == 8 else None
        if hashes is None:
            continue
        fields = link_fields(store, stream)
        for line in np.nonzero(hashes == key)[0].tolist():
            event = read_event(store, stream, line)
            # equal hashes are candidates only: the ids themselves must be equal
            if event is not None and _same(field_at(event, fields.id), value):
                yield EventAt(stream, line, event)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def events_pointing_at(store: EventStore, value: Any, streams: list[str]) -> Iterator[tuple[EventAt, str]]:
    """(event, role) of every event whose parent or causation field holds `value`."""
    if value is None:
        return
    for stream in streams:
        fields = link_fields(store, stream)
        for found in _events(store, stream):
            for role, path in fields.pointers():
                if _same(field_at(found.event, path), value):
                    yield found, role
                    break


def _events(store: EventStore, stream: str) -> Iterator[EventAt]:
    analysis = store.analysis(stream)
    read = store.reader(stream)
    mask = analysis.event_mask()
    for line in np.nonzero(mask)[0][:SCAN_LIMIT].tolist():
        start, length = analysis.line_span(line)
        try:
            event = msgspec.json.decode(read(start, length).removeprefix(BOM))
        except msgspec.DecodeError:
            continue
        if isinstance(event, dict):
            yield EventAt(stream, line, event)


def parent_of(store: EventStore, found: EventAt, streams: list[str]) -> tuple[EventAt, str] | None:
    """The event this one points at (parent first, then cause), preferring its own stream."""
    fields = link_fields(store, found.stream)
    ordered = [found.stream, *(s for s in streams if s != found.stream)]
    for role, path in fields.pointers():
        value = field_at(found.event, path)
        if value is None:
            continue
        for target in events_with_id(store, value, ordered):
            return target, role
    return None


def related(store: EventStore, stream: str, line: int, depth: int = 64) -> dict[str, Any]:
    """The chain from an event up to its root, the tree of events below it, and the events that share its
    correlation id, across the store's streams."""
    streams = store.streams()
    start = read_event(store, stream, line)
    if start is None:
        return {"ok": False, "code": "NOT_AN_EVENT", "message": f"line {line + 1} of {stream!r} holds no event",
                "details": {}}
    origin = EventAt(stream, line, start)
    ancestors: list[dict[str, Any]] = []
    seen = {(stream, line)}
    current = origin
    while len(ancestors) < depth and (step := parent_of(store, current, streams)) is not None:
        target, role = step
        if (target.stream, target.line) in seen:  # a cycle of links: stop where it closes
            break
        seen.add((target.stream, target.line))
        ancestors.append(target.to_json(store, role))
        current = target
    fields = link_fields(store, stream)
    correlation = field_at(start, fields.correlation)
    # One pass over every stream: who points at which id (by hash), and who shares the correlation id.
    children: dict[int, list[tuple[str, int, str]]] = {}  # (stream, line, role): events are read again when needed
    correlated: list[dict[str, Any]] = []
    for other in streams:
        other_fields = link_fields(store, other)
        for found in _events(store, other):
            for role, path in other_fields.pointers():
                value = field_at(found.event, path)
                if value is not None:
                    children.setdefault(id_key(value), []).append((found.stream, found.line, role))
                    break
            if (correlation is not None and len(correlated) < RESULT_LIMIT
                    and _same(field_at(found.event, other_fields.correlation), correlation)
                    and (found.stream, found.line) != (stream, line)):
                correlated.append(found.to_json(store))
    below: list[dict[str, Any]] = []
    frontier = [(origin, 0)]
    visited = {(stream, line)}
    while frontier and len(below) < RESULT_LIMIT:
        parent, level = frontier.pop(0)
        if level >= depth:
            continue
        parent_id = field_at(parent.event, link_fields(store, parent.stream).id)
        if parent_id is None:
            continue
        for child_stream, child_line, role in children.get(id_key(parent_id), []):
            if (child_stream, child_line) in visited:
                continue
            event = read_event(store, child_stream, child_line)
            pointer = field_at(event, dict(link_fields(store, child_stream).pointers())[role])
            if event is None or not _same(pointer, parent_id):  # equal hashes, different ids
                continue
            child = EventAt(child_stream, child_line, event)
            visited.add((child.stream, child.line))
            below.append({**child.to_json(store, role), "depth": level + 1, "parentLine": parent.line + 1,
                          "parentStore": parent.stream})
            frontier.append((child, level + 1))
    return {"ok": True, "event": origin.to_json(store), "ancestors": ancestors, "descendants": below,
            "correlationId": correlation, "correlated": correlated,
            "fields": {"id": fields.id, "parent": fields.parent, "causation": fields.causation,
                       "correlation": fields.correlation}}
