"""The generic projector: counts by type and the last event, for stores without a domain projector."""

from __future__ import annotations

from astra_ls.projections.base import Edit, Event, State, shared_projector


def initial() -> State:
    return {"events": 0, "byType": {}, "last": None}


def apply_shared(state: State, event: Event, edit: Edit) -> State:
    kind = str(event.get("type", "(untyped)"))
    by_type = edit(state, "byType")
    by_type[kind] = by_type.get(kind, 0) + 1
    state["events"] += 1
    state["last"] = event
    return state


PROJECTOR = shared_projector("generic", initial, apply_shared)
