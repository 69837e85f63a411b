"""Queries over a store: filter by type and time with the compact facts, then by fields on the few left."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.core.jsontext import decode
from astra_ls.core.linecheck import BOM
from astra_ls.projections.conditions import Condition


@dataclass(frozen=True, slots=True)
class Query:
    type: str | None = None
    since: float | None = None  # epoch ms, inclusive
    until: float | None = None  # epoch ms, inclusive
    where: tuple[Condition, ...] = field(default_factory=tuple)


def candidate_lines(analysis: StoreAnalysis, query: Query) -> np.ndarray:
    """Event lines that pass the type and time filters, from the arrays alone."""
    mask = analysis.event_mask()
    if query.type is not None:
        names = analysis.types.names
        wanted = [i for i, name in enumerate(names) if name == query.type]
        ids = np.frombuffer(analysis.type_ids, np.uint16) if len(analysis.type_ids) else np.empty(0, np.uint16)
        mask &= np.isin(ids, wanted)
    if query.since is not None or query.until is not None:
        times = np.frombuffer(analysis.timestamps, np.float64) if len(analysis.timestamps) else np.empty(0)
        if query.since is not None:
            mask &= times >= query.since
        if query.until is not None:
            mask &= times <= query.until
    return np.flatnonzero(mask)


def run_query(analysis: StoreAnalysis, read: ReadRange, query: Query, upcast: Callable[[Any], Any] | None = None,
              ) -> Iterator[tuple[int, dict[str, Any], bytes]]:
    """(0-based line, event, the line's bytes) of every matching event, in order; events of a versioned store
    as `upcast` brings them to their current version."""
    for line in candidate_lines(analysis, query).tolist():
        start, length = analysis.line_span(line)
        data = read(start, length).removeprefix(BOM)
        event = decode(data)
        if upcast is not None:
            event = upcast(event)
        if all(condition.matches(event) for condition in query.where):
            yield line, event, data


def timeline(analysis: StoreAnalysis, buckets: int) -> dict[str, Any]:
    """Events per time bucket and type, for the timeline chart."""
    lines = candidate_lines(analysis, Query())
    times = np.frombuffer(analysis.timestamps, np.float64)[lines] if len(lines) else np.empty(0)
    keep = ~np.isnan(times)
    lines, times = lines[keep], times[keep]
    if not len(times):
        return {"ok": True, "start": None, "end": None, "types": [], "buckets": []}
    start, end = float(times.min()), float(times.max())
    width = max((end - start) / buckets, 1.0)
    index = np.minimum(((times - start) / width).astype(np.int64), buckets - 1)
    type_ids = np.frombuffer(analysis.type_ids, np.uint16)[lines]
    names = analysis.types.names
    result = []
    for bucket in range(buckets):
        in_bucket = type_ids[index == bucket]
        kinds, counts = np.unique(in_bucket, return_counts=True)
        result.append({"start": start + bucket * width, "end": start + (bucket + 1) * width,
                       "byType": {names[k] or "(untyped)": int(c) for k, c in zip(kinds, counts, strict=True)}})
    present = sorted({names[k] or "(untyped)" for k in np.unique(type_ids)})
    return {"ok": True, "start": start, "end": end, "types": present, "buckets": result}
