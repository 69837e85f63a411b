"""Compaction: events up to a line become one snapshot record; the original is archived, gzipped.

The compacted file is verified before the swap: projecting it must give exactly the state that
projecting the original gives. The archive (exactly the analysed bytes) is written and fsynced first,
and removed again when the swap does not happen; the swap carries over what other programs appended
meanwhile and is an atomic rename (`atomic.rewrite_keeping_appends`).
"""

from __future__ import annotations

import gzip
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from astra_ls.core.analysis import AnalysisRules, StoreAnalysis
from astra_ls.core.blocks import iter_blocks
from astra_ls.core.codes import CODES, Severity
from astra_ls.core.facts import canonical_json
from astra_ls.core.linecheck import EVENT, SNAPSHOT, SNAPSHOT_TYPE
from astra_ls.projections.base import Projector
from astra_ls.projections.replay import Replayer
from astra_ls.store.atomic import OpenStore, remove_stale_temps, rewrite_keeping_appends, write_new_file
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
    """Caller holds the stream lock and passes a fresh analysis; `up_to` is a 0-based line. Lines other
    programs append meanwhile are carried into the compacted store (see `atomic`)."""
    last = analysis.line_count - 1 if up_to is None else min(up_to, analysis.line_count - 1)
    if last < 0:
        raise StoreError("NOTHING_TO_COMPACT", f"{name} has no lines to compact")
    _refuse_bad_lines(analysis, last, name)
    with OpenStore(store) as opened:
        read = opened.read
        state = Replayer(projector).state_after(analysis, read, last)
        snapshot = _snapshot_record(analysis, last, state, projector.name, name)
        archive = _archive(root, opened, analysis.size, name)
        try:
            snapshot["archive"] = archive.relative_to(root / ".astra").as_posix()
            start = analysis.offsets[last + 1] if last + 1 < analysis.line_count else analysis.size
            pieces = [canonical_json(snapshot) + b"\n", read(start, analysis.size - start)]
            _verify(pieces, rules, projector,
                    Replayer(projector).state_after(analysis, read, analysis.line_count - 1))
            rewrite_keeping_appends(opened, pieces, analysis.size)
        except BaseException:
            if not opened.replaced():  # a store left as it was keeps no archive: it would be an orphan
                archive.unlink(missing_ok=True)
            raise
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
