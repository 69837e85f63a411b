"""The compact facts kept per event line: its timestamp in epoch ms and a hash of its id."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import orjson

from astra_ls.core.jsontext import encode

NO_TIME = math.nan
NO_ID = 0


def timestamp_ms(value: Any) -> float:
    """Epoch milliseconds from a number or an ISO 8601 string; NaN when there is none."""
    if isinstance(value, bool):
        return NO_TIME
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else NO_TIME
    if isinstance(value, str):
        return iso_to_ms(value)
    return NO_TIME


def iso_to_ms(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return NO_TIME
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() * 1000.0


def canonical_json(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits, or nested deeper than orjson writes: written in a loop
        return encode(value)


def id_key(value: Any) -> int:
    """A hash of an id, equal for equal JSON values; NO_ID when the event has none.

    Strings (nearly every id) use Python's own string hash, computed inline on the fast path; the
    table of ids lives and dies with the process, so its per-process seed does no harm.
    """
    if value is None:
        return NO_ID
    if type(value) is str:
        return hash(value)
    return hash(canonical_json(value))
