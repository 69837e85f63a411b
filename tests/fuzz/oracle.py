"""The reference the reader is judged against, shared by the property tests and the atheris harness (which
runs as a plain script, hence this module beside it): strict RFC 8259 parsing and editor line widths."""

from __future__ import annotations

import json
import math
from typing import Any


def utf16_units(raw: bytes) -> int:
    """Length of a raw line in UTF-16 units, as an editor shows it (bad bytes become U+FFFD)."""
    return len(raw.decode("utf-8", "replace").encode("utf-16-le")) // 2


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(raw: bytes) -> tuple[bool, Any]:
    """Strict UTF-8, then Python's parser with NaN/Infinity refused: (accepted, value)."""
    try:
        return True, json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False, None


def documented_deviation(value: Any, with_limits: bool = True) -> bool:
    """Values Python accepts but the reader rejects on purpose: lone surrogates, doubles that overflow;
    `with_limits`, also integers outside 64 bits (read, but flagged) and nesting deeper than the reader's
    limit (inputs that can reach them)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if with_limits and depth > 1000:
            return True
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(node, float) and not math.isfinite(node):
            return True
        elif isinstance(node, bool | None):
            continue
        elif with_limits and isinstance(node, int) and not -(2**63) <= node < 2**64:
            return True
        elif isinstance(node, dict):
            stack.extend((k, depth + 1) for k in node)
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return False
