"""Move bad lines out of a store into `.astra/quarantine/<name>.jsonl`, losing nothing.

Order matters for crash safety: the quarantine records are appended and fsynced before the store is
rewritten, so a crash leaves a line in both places at worst, never in neither.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from astra_ls.core.analysis import StoreAnalysis
from astra_ls.core.facts import canonical_json
from astra_ls.core.linecheck import BAD, BLANK
from astra_ls.store.atomic import OpenStore, append_durably, rewrite_keeping_appends, truncate_to
from astra_ls.store.paths import confine

CHUNK = 1 << 22


@dataclass(frozen=True, slots=True)
class QuarantineReport:
    moved: int
    quarantine_path: Path
    remaining: int  # lines left in the store

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, "moved": self.moved, "quarantinePath": str(self.quarantine_path),
                "remaining": self.remaining}


def bad_lines(analysis: StoreAnalysis) -> list[int]:
    """Lines that are not events (malformed, not objects, schema-invalid, oversized, blank), and the later
    events with an id taken by an earlier one where ids are unique (the first one stays)."""
    bad = {line for line, kind in enumerate(analysis.kinds) if kind in (BAD, BLANK)}
    return sorted(bad.union(analysis.duplicates.duplicates))


def quarantine_lines(root: Path, store: Path, name: str, analysis: StoreAnalysis,
                     lines: list[int]) -> QuarantineReport:
    """Caller holds the stream lock and passes a fresh analysis of `store`. Lines other programs append
    meanwhile are carried into the rewritten store (see `atomic`)."""
    target = confine(root, root / ".astra" / "quarantine" / f"{name}.jsonl")
    chosen = sorted({line for line in lines if 0 <= line < analysis.line_count})
    if not chosen:
        return QuarantineReport(0, target, analysis.line_count)
    with OpenStore(store) as opened:
        target.parent.mkdir(parents=True, exist_ok=True)
        unterminated = chosen[-1] == analysis.line_count - 1 and not analysis.terminated
        before = append_durably(target, b"".join(_records(opened, name, analysis, chosen)))
        try:
            rewrite_keeping_appends(opened, _kept(opened, analysis, chosen), analysis.size,
                                    refuse_growth=unterminated)
        except BaseException:
            if not opened.replaced():  # the lines are still in the store: take their records back
                truncate_to(target, before)
            raise
    return QuarantineReport(len(chosen), target, analysis.line_count - len(chosen))


def _records(store: OpenStore, name: str, analysis: StoreAnalysis, lines: list[int]) -> Iterator[bytes]:
    moved_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for line in lines:
        start, length = analysis.line_span(line)
        raw = store.read(start, length)
        record: dict[str, Any] = {
            "store": f"{name}.jsonl",
            "line": line + 1,
            "quarantinedAt": moved_at,
            "reasons": [{"code": p.code, "message": p.message} for p in analysis.line_problems.get(line, [])],
        }
        first = analysis.duplicates.duplicates.get(line)
        if first is not None:
            record["reasons"].append({"code": "ASTRA020", "message": f"duplicate id: already used by the event "
                                      f"on line {first + 1}"})
        try:
            record["raw"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            record["rawBase64"] = base64.b64encode(raw).decode("ascii")
        yield canonical_json(record) + b"\n"


def _kept(store: OpenStore, analysis: StoreAnalysis, dropped: list[int]) -> Iterator[bytes]:
    """The store's analysed bytes without the dropped lines (sorted), as they are: every line before a
    dropped one ends in '\\n', and what follows the last is copied whole."""
    start = 0
    for line in [*dropped, None]:
        end = analysis.size if line is None else analysis.offsets[line]
        for at in range(start, end, CHUNK):
            yield store.read(at, min(CHUNK, end - at))
        if line is not None:
            start = analysis.offsets[line + 1] if line + 1 < analysis.line_count else analysis.size
