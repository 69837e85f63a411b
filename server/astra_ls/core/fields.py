"""What a store's answers say about its fields: which ones hold the type, id and time, how its times are
written (declared, or detected from its first events) and how many events have no time.

Events without a time are never dropped in silence: a time query or a timeline leaves them out, and
says how many it left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.core.facts import field_value, time_kind
from astra_ls.core.linecheck import BOM, LineRules

SAMPLE_EVENTS = 20


def untimed_events(analysis: StoreAnalysis, lines: np.ndarray | None = None) -> int:
    """How many event lines (of `lines`, else of the store) have no readable time."""
    if not len(analysis.timestamps):
        return 0
    times = np.frombuffer(analysis.timestamps, np.float64)
    picked = times[analysis.event_mask()] if lines is None else times[lines]
    return int(np.count_nonzero(np.isnan(picked)))


def detected_time_format(analysis: StoreAnalysis, read: ReadRange, rules: LineRules) -> str | None:
    """How the first events write their time: iso8601, epoch_ms, epoch_s, mixed; None when none has one."""
    kinds: set[str] = set()
    for line in np.flatnonzero(analysis.event_mask())[:SAMPLE_EVENTS].tolist():
        try:
            event = orjson.loads(read(*analysis.line_span(line)).removeprefix(BOM))
        except orjson.JSONDecodeError:  # the store changed under the analysis: judged by the others
            continue
        kind = time_kind(field_value(event, rules.time_field)) if isinstance(event, dict) else None
        if kind is not None:
            kinds.add(kind)
    if not kinds:
        return None
    return kinds.pop() if len(kinds) == 1 else "mixed"


def fields_report(analysis: StoreAnalysis, read: ReadRange, rules: LineRules) -> dict[str, Any]:
    """`{type, id, time: {field, format, detected, untimed}}` for count and listStores."""
    declared = rules.time_format != "auto"
    time_format = rules.time_format if declared else detected_time_format(analysis, read, rules)
    return {"type": rules.type_field, "id": rules.id_field,
            "time": {"field": rules.time_field, "format": time_format, "detected": not declared,
                     "untimed": untimed_events(analysis)}}
