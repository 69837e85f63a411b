"""The compact facts kept per event line: its timestamp in epoch ms and a hash of its id."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import orjson

NO_TIME = math.nan
NO_ID = 0
TIME_FORMATS = ("auto", "epoch_ms", "epoch_s", "iso8601")
# Numbers in this range are epoch seconds (1973 to 5138) when the format is not declared: as milliseconds
# they would all fall in the first three years of 1970, which no log holds.
SECONDS_FROM, SECONDS_TO = 1e8, 1e11


def field_value(event: dict[str, Any], path: str) -> Any:
    """The value at a field path (`metadata.uid`: key `uid` of the object at key `metadata`); None when absent."""
    if "." not in path:
        return event.get(path)
    node: Any = event
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def time_ms(value: Any, time_format: str = "auto") -> float:
    """Epoch milliseconds of a time field read as `time_format`; NaN when it is not one."""
    if time_format == "auto":
        moment = timestamp_ms(value)
        return moment * 1000.0 if SECONDS_FROM <= moment < SECONDS_TO and not isinstance(value, str) else moment
    if isinstance(value, str | bool):
        return iso_to_ms(value) if time_format == "iso8601" and isinstance(value, str) else NO_TIME
    if time_format == "iso8601":
        return NO_TIME
    moment = timestamp_ms(value)
    return moment * 1000.0 if time_format == "epoch_s" else moment


def time_kind(value: Any) -> str | None:
    """How a time value is written: iso8601, epoch_s or epoch_ms (as `auto` reads it); None for no time."""
    if isinstance(value, str):
        return "iso8601" if not math.isnan(iso_to_ms(value)) else None
    moment = timestamp_ms(value)
    if math.isnan(moment):
        return None
    return "epoch_s" if SECONDS_FROM <= moment < SECONDS_TO else "epoch_ms"


def timestamp_ms(value: Any) -> float:
    """Epoch milliseconds from a number or an ISO 8601 string; NaN when there is none."""
    if isinstance(value, bool):
        return NO_TIME
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond a double's range is no time
            return NO_TIME
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
    except TypeError:  # integers beyond 64 bits
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


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
