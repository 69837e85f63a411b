"""How a replay folds events into a state, and what it leaves behind as a time-travel checkpoint.

A projector with `apply_shared` folds copy-on-write: a checkpoint keeps the live state, so restoring it
costs nothing and keeping it costs only the containers that changed since the previous checkpoint. The
fold starts from a shallow copy of the top-level dict and copies any other container (shallowly) before
its first change; what it copied is its own until the next checkpoint, when it becomes shared in turn.
Other projectors (users' functions) change their state anywhere, so their checkpoints are serialised
copies, decoded whole on the way back.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

from astra_ls.core.facts import canonical_json
from astra_ls.core.jsontext import decode
from astra_ls.projections.base import Event, Projector, State


class Fold(Protocol):
    state: State

    def apply(self, event: Event) -> None: ...

    def restart(self, state: State) -> None:
        """Continue from a snapshot record's state."""

    def checkpoint(self) -> tuple[Any, int]:
        """What to keep to resume later from the current state, and its cost in bytes."""


def resume(projector: Projector, kept: Any) -> Fold:
    """A fold continuing from a checkpoint that `checkpoint` returned."""
    if projector.apply_shared is not None:
        return SharedFold(projector, kept)
    return CopyingFold(projector, decode(kept))


def start(projector: Projector, state: State, private: bool) -> Fold:
    """A fold from `state`; unless `private`, it belongs to someone else and is never changed."""
    if projector.apply_shared is not None:
        return SharedFold(projector, state)
    return CopyingFold(projector, state if private else copy_state(state))


def copy_state(state: Any) -> State:
    copied: State = decode(canonical_json(state))
    return copied


class CopyingFold:
    def __init__(self, projector: Projector, state: State) -> None:
        self._apply = projector.apply
        self.state = state

    def apply(self, event: Event) -> None:
        self.state = self._apply(self.state, event)

    def restart(self, state: State) -> None:
        self.state = copy_state(state)

    def checkpoint(self) -> tuple[bytes, int]:
        blob = canonical_json(self.state)
        return blob, len(blob)


class SharedFold:
    def __init__(self, projector: Projector, state: State) -> None:
        assert projector.apply_shared is not None
        self._apply = projector.apply_shared
        self._mine: dict[int, Any] = {}  # id -> container this fold copied; holding them keeps ids unique
        self._copied = 0  # bytes of containers copied since the last checkpoint
        self._edit = self.edit  # bound once: this is called for every event
        self.state = self._adopt(state)

    def apply(self, event: Event) -> None:
        self.state = self._apply(self.state, event, self._edit)

    def restart(self, state: State) -> None:
        self.state = self._adopt(state)

    def checkpoint(self) -> tuple[State, int]:
        kept, cost = self.state, self._copied
        self._mine.clear()
        self._copied = 0
        self.state = self._adopt(kept)  # from now on nothing in `kept` may change
        return kept, cost

    def edit(self, container: Any, key: Any) -> Any:
        child = container[key]
        if id(child) in self._mine or not isinstance(child, (dict, list)):
            return child
        copy = child.copy()
        container[key] = copy
        self._own(copy)
        return copy

    def _adopt(self, state: State) -> State:
        if not isinstance(state, dict):  # a broken snapshot: the projector fails on it as it always did
            return state
        copy = state.copy()
        self._own(copy)
        return copy

    def _own(self, container: dict[Any, Any] | list[Any]) -> None:
        self._mine[id(container)] = container
        self._copied += sys.getsizeof(container)
