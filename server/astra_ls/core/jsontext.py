"""JSON conversions that no nesting depth can break.

A line may nest values as deep as the reader allows (1024 levels), but the fast converters stop earlier:
orjson writes at most 254 levels (and no integer beyond 64 bits), msgspec and the standard library recurse
on the Python stack, and so does the LSP library when it sends an answer. Here the fast converters are
tried first and, when they refuse, loops take over; `bounded` cuts what an answer shows at a depth every
transport carries, saying so in place.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import orjson

ANSWER_DEPTH = 128  # levels of a value an answer shows; deeper parts are replaced by a note
_decode = msgspec.json.Decoder().decode
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def decode(data: bytes) -> Any:
    """The value of a JSON text: integers beyond 64 bits exact. Too deep for msgspec's recursion, it is
    read by orjson (no recursion), which is exact for every line the checker accepted as an event: the
    checker refuses lines that hold such integers deeper than `linecheck.BIG_INT_DEPTH`."""
    try:
        return _decode(data)
    except RecursionError:
        return orjson.loads(data)


def nesting_depth(data: bytes) -> int:
    """How deep arrays and objects nest in a JSON text (strings skipped), counted in a loop."""
    opened = data.count(b"[") + data.count(b"{")
    if opened <= 1:
        return opened
    depth = deepest = 0
    for token in _TOKEN.finditer(data):
        char = token.group()[:1]
        if char in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif char in (b"]", b"}"):
            depth -= 1
    return deepest


def encode(value: Any, indent: bool = False) -> bytes:
    """Compact JSON (or indented by two spaces), as orjson writes it, for any depth and any integer."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else None)
    except TypeError:  # nested deeper than orjson goes, or an integer beyond 64 bits
        return _encode_loop(value, indent)


def _scalar(value: Any) -> bytes:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode()
    return orjson.dumps(value, default=str)


def _encode_loop(value: Any, indent: bool) -> bytes:
    out: list[bytes] = []
    # work items: a value to write at a depth, or literal bytes
    stack: list[tuple[Any, int] | bytes] = [(value, 0)]
    colon, comma = (b": ", b",") if indent else (b":", b",")
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            out.append(item)
            continue
        node, depth = item
        if isinstance(node, dict | list | tuple) and len(node):
            pad = b"\n" + b"  " * (depth + 1) if indent else b""
            close = (b"\n" + b"  " * depth if indent else b"") + (b"}" if isinstance(node, dict) else b"]")
            out.append(b"{" if isinstance(node, dict) else b"[")
            todo: list[tuple[Any, int] | bytes] = []
            pairs = node.items() if isinstance(node, dict) else enumerate(node)
            for index, (key, child) in enumerate(pairs):
                todo.append((comma if index else b"") + pad)
                if isinstance(node, dict):
                    todo.append(orjson.dumps(str(key)) + colon)
                todo.append((child, depth + 1))
            todo.append(close)
            stack.extend(reversed(todo))
        elif isinstance(node, dict):
            out.append(b"{}")
        elif isinstance(node, list | tuple):
            out.append(b"[]")
        else:
            out.append(_scalar(node))
    return b"".join(out)


def bounded(value: Any, depth: int = ANSWER_DEPTH) -> Any:
    """`value` itself when every transport carries it, else a copy whose parts nested deeper than
    `depth` are replaced by a note saying how deep they went (the store keeps them whole)."""
    try:
        orjson.dumps(value)  # a probe: no deeper than 254 levels, integers within 64 bits
        return value
    except TypeError:
        pass
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 0)]  # (node, parent, key, level)
    while stack:
        node, parent, key, level = stack.pop()
        if isinstance(node, dict | list) and level >= depth:
            parent[key] = f"… nested deeper than {depth} levels: not shown (the store keeps it whole)"
        elif isinstance(node, dict):
            copy: dict[str, Any] = dict.fromkeys(node)  # keys in their order; values filled in below
            parent[key] = copy
            stack.extend((child, copy, name, level + 1) for name, child in node.items())
        elif isinstance(node, list):
            items: list[Any] = [None] * len(node)
            parent[key] = items
            stack.extend((child, items, index, level + 1) for index, child in enumerate(node))
        else:
            parent[key] = node
    return root[0]
