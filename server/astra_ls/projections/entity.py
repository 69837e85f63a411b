"""The entity projector: the latest merged state of each entity, by `id`."""

from __future__ import annotations

from astra_ls.projections.base import Event, Projector, State


def initial() -> State:
    return {"entities": {}, "count": 0, "events": 0}


def apply(state: State, event: Event) -> State:
    key = event.get("id")
    if isinstance(key, str):
        entities = state["entities"]
        entities[key] = {**entities.get(key, {}), **event}
        state["count"] = len(entities)
    state["events"] += 1
    return state


PROJECTOR = Projector("entity", initial, apply)
