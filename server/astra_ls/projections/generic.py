"""The generic projector: counts by type and the last event, for stores without a domain projector."""

from __future__ import annotations

from astra_ls.projections.base import Edit, Event, Projector, State, in_place


def initial() -> State:
    return {"events": 0, "byType": {}, "last": None}


def apply_shared(state: State, event: Event, edit: Edit) -> State:
    kind = str(event.get("type", "(untyped)"))
    by_type = edit(state, "byType")
    by_type[kind] = by_type.get(kind, 0) + 1
    state["events"] += 1
    state["last"] = event
    return state


def apply(state: State, event: Event) -> State:
    return apply_shared(state, event, in_place)


PROJECTOR = Projector("generic", initial, apply, apply_shared)
