"""A state cut down for display: every list keeps only its last items (a projection appends, so the recent
end is what a step changes). The full lengths of the cut lists travel beside it, so a viewer shows the right
sizes and item numbers. What a debugger step sends stays small on a million-event store.
"""

from __future__ import annotations

from typing import Any

from astra_ls.projections.patch import pointer_token


def list_tails(state: Any, keep: int) -> tuple[Any, dict[str, int]]:
    """A copy of `state` with every list cut to its last `keep` items, and {JSON Pointer: full length} of
    each list that was cut. Built with an explicit stack: a state's depth comes from events."""
    cut: dict[str, int] = {}
    holder: list[Any] = [None]
    stack: list[tuple[Any, str, Any, Any]] = [(state, "", holder, 0)]
    while stack:
        value, path, parent, key = stack.pop()
        if isinstance(value, dict):
            copy: dict[Any, Any] = dict.fromkeys(value)  # keys in their order; values filled below
            parent[key] = copy
            stack.extend((v, f"{path}/{pointer_token(k)}", copy, k) for k, v in value.items())
        elif isinstance(value, list):
            first = max(0, len(value) - keep)
            if first:
                cut[path] = len(value)
            items: list[Any] = [None] * (len(value) - first)
            parent[key] = items
            stack.extend((value[i], f"{path}/{i}", items, i - first) for i in range(first, len(value)))
        else:
            parent[key] = value
    return holder[0], cut
