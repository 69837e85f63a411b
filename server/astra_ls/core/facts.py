"""The compact facts kept per event line: its timestamp in epoch ms and a hash of its id."""

from __future__ import annotations

import json
import math
import zlib
from datetime import datetime
from typing import Any

import orjson

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
    except TypeError:  # integers beyond 64 bits
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def hash_bytes(data: bytes) -> int:
    """A stable 62-bit hash (same in every process, unlike hash()) so ids can be compared across runs."""
    value = (zlib.crc32(data) << 30) ^ zlib.crc32(data, 0x5BD1E995)
    return value or 1


def id_hash(value: Any) -> int:
    """Hash of the id's canonical JSON; NO_ID when the event has none."""
    if value is None:
        return NO_ID
    return hash_bytes(canonical_json(value))


def raw_id_hash(raw: Any) -> int:
    """The same hash from a raw JSON slice (msgspec.Raw), without decoding the common plain strings."""
    if isinstance(raw, str):
        return hash_bytes(canonical_json(raw))
    view = bytes(raw)
    if not view:
        return NO_ID
    if view[:1] == b'"' and b"\\" not in view:
        return hash_bytes(view)
    if view == b"null":
        return NO_ID
    return id_hash(orjson.loads(view)) if view[:1] != b"-" or len(view) < 20 else hash_bytes(view)
