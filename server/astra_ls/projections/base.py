"""What a projector is: a starting state and a pure-ish fold over events (JSON-native dicts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

State = dict[str, Any]
Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Projector:
    name: str
    initial: Callable[[], State]
    apply: Callable[[State, Event], State]  # may update `state` in place; returns the new state


def function_projector(name: str, function: Callable[[State, Event], State]) -> Projector:
    """A user's `package.module:function(state, event) -> state`, starting from an empty state."""
    return Projector(name, dict, function)
