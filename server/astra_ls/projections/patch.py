"""The difference between two projected states as an RFC 6902 JSON Patch, and as readable text.

A patch applied to the first state gives the second. Objects are compared key by key; arrays element by
element, with additions and removals at their end (a projection mostly appends to its lists), which keeps
a step's patch as small as the step. The walk uses an explicit stack: a state's depth comes from events,
and no input may drive recursion.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import orjson

Operation = dict[str, Any]


def pointer_token(key: str | int) -> str:
    """One JSON Pointer reference token (RFC 6901): `~` and `/` escaped."""
    return str(key).replace("~", "~0").replace("/", "~1")


def _same(a: Any, b: Any) -> bool:
    # type() first: 1 == 1.0 == True in Python, but they are different JSON values
    return type(a) is type(b) and a == b


def json_patch(before: Any, after: Any) -> list[Operation]:
    """Operations that turn `before` into `after` (an empty list when they are equal)."""
    ops: list[Operation] = []
    stack: list[tuple[str, Any, Any]] = [("", before, after)]
    while stack:
        path, a, b = stack.pop()
        if _same(a, b):
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            removed = [k for k in a if k not in b]
            for key in removed:
                ops.append({"op": "remove", "path": f"{path}/{pointer_token(key)}"})
            later: list[tuple[str, Any, Any]] = []
            for key, value in b.items():
                where = f"{path}/{pointer_token(key)}"
                if key not in a:
                    ops.append({"op": "add", "path": where, "value": value})
                else:
                    later.append((where, a[key], value))
            stack.extend(reversed(later))  # keys in order: the stack pops the last pushed first
        elif isinstance(a, list) and isinstance(b, list):
            common = min(len(a), len(b))
            # removals from the end first, so each index is still valid when its operation applies
            ops.extend({"op": "remove", "path": f"{path}/{i}"} for i in range(len(a) - 1, common - 1, -1))
            ops.extend({"op": "add", "path": f"{path}/-", "value": b[i]} for i in range(common, len(b)))
            # items the step left alone are the same objects: skip them before building their pointers (a
            # long conversation's messages would otherwise cost a pointer each per step)
            stack.extend(reversed([(f"{path}/{i}", a[i], b[i]) for i in range(common) if a[i] is not b[i]]))
        else:
            ops.append({"op": "replace", "path": path, "value": b})
    return ops


def apply_patch(document: Any, ops: list[Operation]) -> Any:
    """Apply a patch made by `json_patch` (add, remove, replace) to a copy of `document`."""
    result = json.loads(json.dumps(document))
    for op in ops:
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in op["path"].split("/")[1:]]
        if not tokens:
            result = op.get("value")
            continue
        parent = result
        for token in tokens[:-1]:
            parent = parent[int(token)] if isinstance(parent, list) else parent[token]
        last = tokens[-1]
        if isinstance(parent, list):
            if op["op"] == "remove":
                del parent[int(last)]
            elif last == "-":
                parent.append(op["value"])
            else:
                parent[int(last)] = op["value"]
        elif op["op"] == "remove":
            del parent[last]
        else:
            parent[last] = op["value"]
    return result


def readable_diff(before: Any, after: Any, before_label: str, after_label: str) -> str:
    """A unified diff of the two states' pretty-printed JSON, for people."""
    def lines(state: Any) -> list[str]:
        try:
            text = orjson.dumps(state, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # integers beyond 64 bits, which projections keep exact
            text = json.dumps(state, indent=2, sort_keys=True, ensure_ascii=False)
        return text.splitlines()

    return "\n".join(difflib.unified_diff(lines(before), lines(after), before_label, after_label, lineterm=""))
