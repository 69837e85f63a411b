"""Compaction: events up to a line become a snapshot; the original is archived, gzipped.

What is written depends on the projector, so that readers other than astra-ls see what they saw before:
- a fold (conversation, agent, generic, a user's function): one `$snapshot` record holding the state.
  It has no `id`, and its type is not an event type: readers that skip unknown types, or keep only events
  with a string id (the original design's `typeof e.id === 'string'` guard), skip it.
- the entity projector: compaction by key, as Kafka's log compaction does. Each id's events become one
  ordinary event holding the entity's merged state, at the place of its latest event; events without a
  string id are kept as they are. A reader that folds events by id sees the same entities. A `$snapshot`
  header before them counts the events they no longer stand for (`events`, `byType`), so counts and
  projections stay the same, and says how many lines after it compaction wrote (`lines`).
Every header names its archive and how many of the archive's lines it covers (`upToLine`), so the full
history can be read back (`store/archive_history.py`).

The compacted file is verified before the swap: projecting it must give exactly the state that
projecting the original gives, with the same counts by type. The archive (exactly the analysed bytes)
is written and fsynced first, and removed again when the swap does not happen; the swap carries over what
other programs appended meanwhile and is an atomic rename (`atomic.rewrite_keeping_appends`).
"""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from astra_ls.core.analysis import AnalysisRules, ReadRange, StoreAnalysis
from astra_ls.core.blocks import iter_blocks
from astra_ls.core.codes import CODES, Severity
from astra_ls.core.facts import canonical_json
from astra_ls.core.linecheck import BOM, EVENT, SNAPSHOT, SNAPSHOT_TYPE
from astra_ls.projections.base import Projector
from astra_ls.projections.replay import Replayer
from astra_ls.store.atomic import OpenStore, remove_stale_temps, rewrite_keeping_appends, write_new_file
from astra_ls.store.paths import confine
from astra_ls.store.results import StoreError

ENTITY = "entity"  # the projector whose stores compact by key


@dataclass(frozen=True, slots=True)
class CompactionReport:
    path: Path
    archive: Path
    compacted_events: int
    kept_events: int

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, "path": str(self.path), "archivePath": str(self.archive),
                "compactedEvents": self.compacted_events, "keptEvents": self.kept_events}


def compact(root: Path, store: Path, name: str, analysis: StoreAnalysis, rules: AnalysisRules,
            projector: Projector, up_to: int | None) -> CompactionReport:
    """Caller holds the stream lock and passes a fresh analysis; `up_to` is a 0-based line. Lines other
    programs append meanwhile are carried into the compacted store (see `atomic`)."""
    last = analysis.line_count - 1 if up_to is None else min(up_to, analysis.line_count - 1)
    if last < 0:
        raise StoreError("NOTHING_TO_COMPACT", f"{name} has no lines to compact")
    _refuse_bad_lines(analysis, last, name)
    with OpenStore(store) as opened:
        read = opened.read
        state = Replayer(projector).state_after(analysis, read, last)
        snapshot = _snapshot_record(analysis, last, state, projector.name)
        covered = int(snapshot["events"])
        written = _by_key(analysis, read, last, snapshot, state) if projector.name == ENTITY else []
        archive = _archive(root, opened, analysis.size, name)
        try:
            snapshot["archive"] = archive.relative_to(root / ".astra").as_posix()
            start = analysis.offsets[last + 1] if last + 1 < analysis.line_count else analysis.size
            pieces = [canonical_json(snapshot) + b"\n", *written, read(start, analysis.size - start)]
            _verify(pieces, rules, projector,
                    Replayer(projector).state_after(analysis, read, analysis.line_count - 1), analysis.counts_by_type())
            rewrite_keeping_appends(opened, pieces, analysis.size)
        except BaseException:
            if not opened.replaced():  # a store left as it was keeps no archive: it would be an orphan
                archive.unlink(missing_ok=True)
            raise
    kept = int(sum(1 for k in analysis.kinds[last + 1 :] if k == EVENT))
    return CompactionReport(store, archive, covered, kept)


def _refuse_bad_lines(analysis: StoreAnalysis, last: int, name: str) -> None:
    bad = [line + 1 for line, problems in analysis.line_problems.items()
           if line <= last and any(CODES[p.code].severity is Severity.ERROR for p in problems)]
    bad.extend(line + 1 for line in analysis.duplicates.duplicates if line <= last)  # would be folded in twice
    if bad:
        shown = ", ".join(str(n) for n in sorted(bad)[:10])
        raise StoreError("HAS_PROBLEMS", f"{name} has lines with errors in the range to compact (lines "
                         f"{shown}{'…' if len(bad) > 10 else ''}): quarantine them first", {"lines": sorted(bad)})


def _sorted_json(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _snapshot_record(analysis: StoreAnalysis, last: int, state: dict[str, Any], projector: str) -> dict[str, Any]:
    by_type: dict[str, int] = {}
    events = 0
    timestamp = None
    for line in range(last + 1):
        kind = analysis.kinds[line]
        if kind == SNAPSHOT:
            previous = analysis.snapshots[line]
            events += int(previous["events"])
            for key, value in previous["byType"].items():
                by_type[key] = by_type.get(key, 0) + int(value)
        elif kind == EVENT:
            events += 1
            type_name = analysis.types.names[analysis.type_ids[line]] or "(untyped)"
            by_type[type_name] = by_type.get(type_name, 0) + 1
        stamp = analysis.timestamps[line]
        if stamp == stamp and kind in (EVENT, SNAPSHOT):
            timestamp = stamp
    # No `id`: readers that keep events with a string id must not take the record for an entity.
    return {"type": SNAPSHOT_TYPE, "timestamp": timestamp, "projector": projector, "events": events,
            "byType": by_type, "upToLine": last + 1, "state": state}


def _by_key(analysis: StoreAnalysis, read: ReadRange, last: int, snapshot: dict[str, Any],
            state: dict[str, Any]) -> list[bytes]:
    """Compaction by key of lines [0, last] of an entity store: one event per id with the entity's merged
    state, where its latest event was, and every event without a string id as it was. `snapshot` becomes
    their header: it keeps the counts of the events these lines no longer stand for."""
    entities: dict[str, Any] = state["entities"]
    latest: dict[str, int] = {}  # id -> line of its latest event
    kept: dict[int, bytes] = {}  # line -> an event without a string id, as written
    for line in range(last + 1):
        kind = analysis.kinds[line]
        if kind == SNAPSHOT:  # an earlier compaction's header: the lines after it are events again
            continue
        if kind != EVENT:
            continue
        start, length = analysis.line_span(line)
        data = read(start, length).removeprefix(BOM)
        key = orjson.loads(data).get("id")
        if isinstance(key, str):
            latest[key] = line
        else:
            kept[line] = data
    written = sorted([(line, canonical_json(entities[key]), entities[key].get("type")) for key, line in latest.items()]
                     + [(line, data, analysis.types.names[analysis.type_ids[line]]) for line, data in kept.items()])
    by_type: dict[str, int] = snapshot["byType"]
    for _, _, kind_name in written:
        key = kind_name if isinstance(kind_name, str) else "(untyped)"
        by_type[key] -= 1
        if not by_type[key]:
            del by_type[key]
    remaining = int(snapshot["events"]) - len(written)
    snapshot.update(compaction="by-key", events=remaining, lines=len(written), entities=len(latest),
                    state={**state, "entities": {}, "count": 0, "events": remaining})
    return [data + b"\n" for _, data, _ in written]


def _archive(root: Path, store: OpenStore, size: int, name: str) -> Path:
    """Gzip the store's first `size` bytes (what was analysed) into `.astra/archive/`, durably."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = confine(root, root / ".astra" / "archive" / f"{name}-{stamp}-{time.time_ns() % 10**9}.jsonl.gz")
    target.parent.mkdir(parents=True, exist_ok=True)
    leaf = f"{name.rsplit('/', 1)[-1]}.jsonl.gz"
    remove_stale_temps(target.parent / leaf)

    def gzipped(raw: BinaryIO) -> None:
        with gzip.GzipFile(fileobj=raw, mode="wb") as packed:
            for at in range(0, size, 1 << 22):
                packed.write(store.read(at, min(1 << 22, size - at)))

    write_new_file(target, leaf, gzipped)
    return target


def _verify(pieces: list[bytes], rules: AnalysisRules, projector: Projector, expected: dict[str, Any],
            counts: dict[str, int]) -> None:
    import io

    content = b"".join(pieces)
    check = StoreAnalysis(rules)
    check.feed(iter_blocks(io.BytesIO(content), 0, rules.line.max_line_bytes), incremental=False)
    check.finish_full_scan()
    state = Replayer(projector).state_after(check, lambda o, n: content[o : o + n], check.line_count - 1)
    # The same JSON values (an object's key order is not part of its value: entities come back in the order
    # of their latest events), and the same counts.
    if _sorted_json(state) != _sorted_json(expected) or check.counts_by_type() != counts:
        raise StoreError("VERIFY_FAILED", "the compacted store does not project to the same state as the "
                         "original: nothing was changed")
