"""What a projector is: a starting state and a pure-ish fold over events (JSON-native dicts)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

State = dict[str, Any]
Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Projector:
    name: str
    initial: Callable[[], State]
    apply: Callable[[State, Event], State]  # may update `state` in place; returns the new state


Handler = Callable[[State, Event], None]


def dispatching_projector(name: str, initial: Callable[[], State], handlers: Mapping[str, Handler]) -> Projector:
    """A projector that hands each event to the handler for its `type` and counts every event."""

    def apply(state: State, event: Event) -> State:
        handler = handlers.get(str(event.get("type")))
        if handler is not None:
            handler(state, event)
        state["events"] += 1
        return state

    return Projector(name, initial, apply)


def function_projector(name: str, function: Callable[[State, Event], State]) -> Projector:
    """A user's `package.module:function(state, event) -> state`, starting from an empty state."""
    return Projector(name, dict, function)
