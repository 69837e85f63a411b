"""The entity projector: the latest merged state of each entity, by `id`."""

from __future__ import annotations

from astra_ls.projections.base import Edit, Event, State, shared_projector


def initial() -> State:
    return {"entities": {}, "count": 0, "events": 0}


def apply_shared(state: State, event: Event, edit: Edit) -> State:
    key = event.get("id")
    if isinstance(key, str):
        entities = edit(state, "entities")
        entities[key] = {**entities.get(key, {}), **event}
        state["count"] = len(entities)
    state["events"] += 1
    return state


PROJECTOR = shared_projector("entity", initial, apply_shared)
