"""Compaction: events up to a line become one snapshot record; the original is archived, gzipped.

The compacted file is verified before the swap: projecting it must give exactly the state that
projecting the original gives. The archive is written and fsynced first, the swap is an atomic rename.
"""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from astra_ls.core.analysis import AnalysisRules, StoreAnalysis
from astra_ls.core.blocks import iter_blocks
from astra_ls.core.codes import CODES, Severity
from astra_ls.core.facts import canonical_json
from astra_ls.core.linecheck import EVENT, SNAPSHOT, SNAPSHOT_TYPE
from astra_ls.projections.base import Projector
from astra_ls.projections.replay import Replayer
from astra_ls.store.atomic import fsync_dir, replace_atomically
from astra_ls.store.follow import read_range
from astra_ls.store.paths import confine
from astra_ls.store.results import StoreError


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
    """Caller holds the stream lock and passes a fresh analysis; `up_to` is a 0-based line."""
    last = analysis.line_count - 1 if up_to is None else min(up_to, analysis.line_count - 1)
    if last < 0:
        raise StoreError("NOTHING_TO_COMPACT", f"{name} has no lines to compact")
    _refuse_bad_lines(analysis, last, name)
    read = _reader(store)
    state = Replayer(projector).state_after(analysis, read, last)
    snapshot = _snapshot_record(analysis, last, state, projector.name, name)
    archive = _archive(root, store, name)
    snapshot["archive"] = archive.relative_to(root / ".astra").as_posix()
    pieces = [canonical_json(snapshot) + b"\n", *_tail(store, analysis, last)]
    _verify(pieces, rules, projector, Replayer(projector).state_after(analysis, read, analysis.line_count - 1))
    replace_atomically(store, pieces)
    kept = int(sum(1 for k in analysis.kinds[last + 1 :] if k == EVENT))
    return CompactionReport(store, archive, int(snapshot["events"]), kept)


def _refuse_bad_lines(analysis: StoreAnalysis, last: int, name: str) -> None:
    bad = [line + 1 for line, problems in analysis.line_problems.items()
           if line <= last and any(CODES[p.code].severity is Severity.ERROR for p in problems)]
    bad.extend(line + 1 for line in analysis.duplicates.duplicates if line <= last)  # would be folded in twice
    if bad:
        shown = ", ".join(str(n) for n in sorted(bad)[:10])
        raise StoreError("HAS_PROBLEMS", f"{name} has lines with errors in the range to compact (lines "
                         f"{shown}{'…' if len(bad) > 10 else ''}): quarantine them first", {"lines": sorted(bad)})


def _reader(store: Path):  # type: ignore[no-untyped-def]
    return lambda offset, length: read_range(store, offset, length)


def _snapshot_record(analysis: StoreAnalysis, last: int, state: dict[str, Any], projector: str,
                     name: str) -> dict[str, Any]:
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
    return {"type": SNAPSHOT_TYPE, "id": f"snapshot-{name}-{time.time_ns()}", "timestamp": timestamp,
            "projector": projector, "events": events, "byType": by_type, "upToLine": last + 1,
            "state": state}


def _archive(root: Path, store: Path, name: str) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = confine(root, root / ".astra" / "archive" / f"{name}-{stamp}-{time.time_ns() % 10**9}.jsonl.gz")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name("." + target.name + ".tmp")
    try:
        with store.open("rb") as source, temp.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as packed:
            while chunk := source.read(1 << 22):
                packed.write(chunk)
            packed.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(target.parent)
    return target


def _tail(store: Path, analysis: StoreAnalysis, last: int) -> Iterator[bytes]:
    if last + 1 >= analysis.line_count:
        return
    start = analysis.offsets[last + 1]
    data = read_range(store, start, analysis.size - start)
    yield data if data.endswith(b"\n") else data + b"\n"


def _verify(pieces: list[bytes], rules: AnalysisRules, projector: Projector, expected: dict[str, Any]) -> None:
    import io

    content = b"".join(pieces)
    check = StoreAnalysis(rules)
    check.feed(iter_blocks(io.BytesIO(content), 0, rules.line.max_line_bytes), incremental=False)
    check.finish_full_scan()
    state = Replayer(projector).state_after(check, lambda o, n: content[o : o + n], check.line_count - 1)
    if canonical_json(state) != canonical_json(expected):
        raise StoreError("VERIFY_FAILED", "the compacted store does not project to the same state as the "
                         "original: nothing was changed")
