"""What a projector is: a starting state and a pure-ish fold over events (JSON-native dicts)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

State = dict[str, Any]
Event = dict[str, Any]
Edit = Callable[[Any, Any], Any]  # (container, key) -> the child container, safe to change in place


def in_place(container: Any, key: Any) -> Any:
    """The edit of a fold that owns its whole state."""
    return container[key]


@dataclass(frozen=True, slots=True)
class Projector:
    name: str
    initial: Callable[[], State]
    apply: Callable[[State, Event], State]  # may update `state` in place; returns the new state
    # The same fold for a state whose containers may be shared with time-travel checkpoints: it changes in
    # place only the top-level dict and containers reached through `edit`. Without it checkpoints are
    # serialised copies.
    apply_shared: Callable[[State, Event, Edit], State] | None = None


Handler = Callable[[State, Event, Edit], None]


def shared_projector(name: str, initial: Callable[[], State],
                     apply_shared: Callable[[State, Event, Edit], State]) -> Projector:
    """A projector written once, as its copy-on-write fold; the plain fold edits in place."""

    def apply(state: State, event: Event) -> State:
        return apply_shared(state, event, in_place)

    return Projector(name, initial, apply, apply_shared)


def dispatching_projector(name: str, initial: Callable[[], State], handlers: Mapping[str, Handler]) -> Projector:
    """A projector that hands each event to the handler for its `type` and counts every event."""

    def apply_shared(state: State, event: Event, edit: Edit) -> State:
        handler = handlers.get(str(event.get("type")))
        if handler is not None:
            handler(state, event, edit)
        state["events"] += 1
        return state

    return shared_projector(name, initial, apply_shared)


def function_projector(name: str, function: Callable[[State, Event], State]) -> Projector:
    """A user's `package.module:function(state, event) -> state`, starting from an empty state."""
    return Projector(name, dict, function)
