"""The entity projector: the latest merged state of each entity, by `id`."""

from __future__ import annotations

from astra_ls.projections.base import Edit, Event, Projector, State, in_place


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


def apply(state: State, event: Event) -> State:
    return apply_shared(state, event, in_place)


PROJECTOR = Projector("entity", initial, apply, apply_shared)
