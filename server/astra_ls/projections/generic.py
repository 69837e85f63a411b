"""The generic projector: counts by type and the last event, for stores without a domain projector."""

from __future__ import annotations

from astra_ls.projections.base import Event, Projector, State


def initial() -> State:
    return {"events": 0, "byType": {}, "last": None}


def apply(state: State, event: Event) -> State:
    kind = str(event.get("type", "(untyped)"))
    state["byType"][kind] = state["byType"].get(kind, 0) + 1
    state["events"] += 1
    state["last"] = event
    return state


PROJECTOR = Projector("generic", initial, apply)
