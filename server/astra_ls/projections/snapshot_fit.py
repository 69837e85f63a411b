"""Whether a compaction snapshot can be continued by a store's projector.

A `$snapshot` record holds the state the projector it names had folded (the record's own shape is
checked with the line: ASTRA039). Another projector cannot continue it: its state would mix two folds,
or miss the keys the fold expects. So a snapshot is only folded by the projector whose name it records,
and only when its state has the shape of that projector's initial state: the same top-level keys, with
values of the same JSON kind.
"""

from __future__ import annotations

from typing import Any

from astra_ls.projections.base import Projector, State
from astra_ls.store.results import StoreError


class SnapshotMismatch(StoreError):
    """A snapshot this store's projector cannot continue."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__("SNAPSHOT_MISMATCH", message, details)


def check_snapshot(projector: Projector, snapshot: dict[str, Any], line: int) -> None:
    """Raise SnapshotMismatch unless `projector` can go on from the snapshot on 0-based `line`."""
    made_by = snapshot.get("projector")
    archive = snapshot.get("archive")
    restore = (f"restore the archived events ({archive}) and compact again" if isinstance(archive, str)
               else "re-project from the original events and compact again")
    details = {"line": line + 1, "snapshotProjector": made_by, "projector": projector.name, "archive": archive}
    if made_by != projector.name:
        raise SnapshotMismatch(
            f"line {line + 1} is a compaction snapshot made by the {made_by!r} projector, but this store's "
            f"projector is {projector.name!r}: one's state cannot be continued by the other. Set the store's "
            f"projector back to {made_by!r}, or {restore} with {projector.name!r}", details)
    wrong = misfits(projector.initial(), snapshot["state"])
    if wrong:
        raise SnapshotMismatch(
            f"line {line + 1}: the snapshot's state does not have the shape the {projector.name!r} projector "
            f"folds ({'; '.join(wrong)}): it was not made by this projector, or was edited; {restore}", details)


def misfits(initial: State, state: Any) -> list[str]:
    """How `state` differs from the shape of `initial` (top-level keys and their JSON kinds)."""
    if not isinstance(state, dict):
        return [f"the state is {_kind(state)}, not an object"]
    wrong = []
    for key, value in initial.items():
        if key not in state:
            wrong.append(f"no {key!r}")
        elif value is not None and _kind(state[key]) != _kind(value):
            wrong.append(f"{key!r} is {_kind(state[key])}, not {_kind(value)}")
    return wrong


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else "null"
