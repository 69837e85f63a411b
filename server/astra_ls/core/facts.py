"""The compact facts kept per event line: its timestamp in epoch ms and a hash of its id.

Id hashes are xxh3_64 of the id's UTF-8 bytes (of its canonical JSON when it is not a string, marked so
that `5` and `"5"` differ): the same in every process and on every platform, so they can be saved in the
index cache and compared by another process. The hash is not keyed, so two different ids can be made to
collide on purpose: a repeat is only reported once the two lines' ids are read again and found equal.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import xxhash

from astra_ls.core.jsontext import encode

NO_TIME = math.nan
NO_ID = 0
_NOT_A_STRING = b"\x00"  # before a non-string id's canonical JSON: 5 and "5" hash apart (ids are compared anyway)
_xxh3 = xxhash.xxh3_64_intdigest
TIME_FORMATS = ("auto", "epoch_ms", "epoch_s", "iso8601")
# Numbers in this range are epoch seconds (1973 to 5138) when the format is not declared: as milliseconds
# they would all fall in the first three years of 1970, which no log holds.
SECONDS_FROM, SECONDS_TO = 1e8, 1e11


def field_value(event: dict[str, Any], path: str) -> Any:
    """The value at a field path (`metadata.uid`: key `uid` of the object at key `metadata`); None when absent.
    A key that itself holds a dot is found whole first."""
    if "." not in path or path in event:
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
    except TypeError:  # integers beyond 64 bits, or nested deeper than orjson writes: written in a loop
        return encode(value)


def id_key(value: Any) -> int:
    """A hash of an id as a signed 64-bit integer, equal for equal JSON values; NO_ID when the event has
    none (an id whose hash is NO_ID takes 1 instead)."""
    if value is None:
        return NO_ID
    if type(value) is str:
        digest = _xxh3(value.encode("utf-8", "surrogatepass"))
    else:
        digest = _xxh3(_NOT_A_STRING + canonical_json(value))
    signed = digest - (1 << 64) if digest >= 1 << 63 else digest
    return signed or 1


def id_keys(values: list[Any]) -> np.ndarray:
    """`id_key` of each value, as int64: the common case (every id a string) hashed in one pass."""
    if set(map(type, values)) <= {str}:
        encoded = [value.encode("utf-8", "surrogatepass") for value in values]
        keys = np.fromiter(map(_xxh3, encoded), np.uint64, len(values)).view(np.int64)
        keys[keys == NO_ID] = 1
        return keys
    return np.fromiter(map(id_key, values), np.int64, len(values))


def id_identity(value: Any) -> str | bytes | None:
    """What two ids must share to be the same JSON value (None: no id). Equal hashes only say they may."""
    if value is None:
        return None
    return value if type(value) is str else _NOT_A_STRING + canonical_json(value)


def line_id(raw: bytes, field: str) -> str | bytes | None:
    """The `id_identity` of the id of an event line read again (None when it holds no object or no id)."""
    import msgspec

    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            event = msgspec.json.decode(body)  # integers beyond 64 bits
        except (msgspec.DecodeError, RecursionError):
            return None
    return id_identity(field_value(event, field)) if isinstance(event, dict) else None
