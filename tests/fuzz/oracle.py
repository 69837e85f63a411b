"""The reference the reader is judged against, shared by the property tests and the atheris harness (which
runs as a plain script, hence this module beside it): strict RFC 8259 parsing and editor line widths."""

from __future__ import annotations

import json
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
