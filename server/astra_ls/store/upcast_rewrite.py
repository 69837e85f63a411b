"""`astra-ls upcast STORE`: rewrite a versioned store with every event at its type's current version.

Nothing is lost: the original is archived (gzipped, fsynced) in `.astra/archive/` first; lines that are
not events (malformed, blank, snapshots) are kept byte for byte; the new contents are checked before the
swap (same lines, same events, the same lines flagged, the same projected state) and read back from the
disk after it. The swap is compaction's: lines other programs append meanwhile are carried over.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.core.blocks import iter_blocks
from astra_ls.core.facts import canonical_json
from astra_ls.core.linecheck import BOM, EVENT
from astra_ls.projections.replay import Replayer, spans
from astra_ls.store.analyses import StreamSetup
from astra_ls.store.atomic import OpenStore, rewrite_keeping_appends
from astra_ls.store.compaction import _archive as archive_store  # the archive compaction writes, shared
from astra_ls.store.follow import read_range
from astra_ls.store.results import StoreError
from astra_ls.upcasting import Upcaster, UpcastingSchema


@dataclass(frozen=True, slots=True)
class UpcastReport:
    path: Path
    archive: Path | None
    events: int
    upcast: Counter[str]  # "Type vN" -> events brought from that version

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, "path": str(self.path), "archivePath": str(self.archive) if self.archive else None,
                "events": self.events, "upcastEvents": sum(self.upcast.values()),
                "upcastFrom": dict(sorted(self.upcast.items()))}


def upcast_store(root: Path, store: Path, name: str, analysis: StoreAnalysis, setup: StreamSetup) -> UpcastReport:
    """Caller holds the stream lock and passes a fresh, full analysis of `store`. Lines other programs
    append meanwhile are carried into the new file as they are (see `atomic`)."""
    schema = setup.schema
    if not isinstance(schema, UpcastingSchema):
        raise StoreError("NOT_VERSIONED", f"{name} declares no upcast steps ([[stores.upcast]] in astra-ls.toml): "
                         "nothing to upcast")
    with OpenStore(store) as opened:
        read = opened.read
        pieces, upcast = _rewritten(analysis, read, schema.upcaster)
        if not upcast:
            return UpcastReport(store, None, analysis.event_count(), upcast)
        content = b"".join(pieces)
        expected = Replayer(setup.projector).state_after(analysis, read, analysis.line_count - 1)
        _verify(analysis, content, setup, expected)
        archive = archive_store(root, opened, analysis.size, name)
        try:
            rewrite_keeping_appends(opened, [content], analysis.size)
        except BaseException:
            if not opened.replaced():  # a store left as it was keeps no archive: it would be an orphan
                archive.unlink(missing_ok=True)
            raise
    written = read_range(store, 0, len(content))  # read back what is on the disk now
    _verify(analysis, written, setup, expected, archive)
    return UpcastReport(store, archive, analysis.event_count(), upcast)


def _rewritten(analysis: StoreAnalysis, read: ReadRange, upcaster: Upcaster) -> tuple[list[bytes], Counter[str]]:
    """Every line of the store, events at their current version, anything else as it was."""
    pieces: list[bytes] = []
    upcast: Counter[str] = Counter()
    offsets, kinds = analysis.offsets, analysis.kinds
    for first, end, data in spans(analysis, read, 0, analysis.line_count):
        base = offsets[first]
        for at in range(first, end):
            raw = data[offsets[at] - base : offsets[at + 1] - 1 - base if at + 1 < end else len(data)]
            if kinds[at] == EVENT:
                event = msgspec.json.decode(raw.removeprefix(BOM))
                new, version = upcaster.upcast(event)  # an event line upcasts: checking accepted it
                if version is not None:
                    upcast[f"{event.get('type')} v{version}"] += 1
                    pieces.append(canonical_json(new) + b"\n")
                    continue
            pieces.append(raw + b"\n")
    return pieces, upcast


def _verify(before: StoreAnalysis, content: bytes, setup: StreamSetup, expected: dict[str, Any],
            archive: Path | None = None) -> None:
    def read(offset: int, length: int) -> bytes:
        return content[offset : offset + length]

    after = StoreAnalysis(setup.rules)
    after.feed(iter_blocks(io.BytesIO(content), 0, setup.rules.line.max_line_bytes), incremental=False)
    after.finish_full_scan()
    where = (f"; the original is kept in {archive}" if archive else ": nothing was changed")
    if (after.line_count, after.event_count()) != (before.line_count, before.event_count()):
        raise StoreError("VERIFY_FAILED", f"the upcast store has {after.line_count} lines and {after.event_count()} "
                         f"events, not {before.line_count} and {before.event_count()}{where}")
    if _flagged(after) != _flagged(before):
        raise StoreError("VERIFY_FAILED", f"the upcast store's problems are on other lines than before{where}")
    state = Replayer(setup.projector).state_after(after, read, after.line_count - 1)
    if canonical_json(state) != canonical_json(expected):
        raise StoreError("VERIFY_FAILED", f"the upcast store does not project to the same state{where}")


def _flagged(analysis: StoreAnalysis) -> set[tuple[int, str]]:
    """(line, code) of the problems found on single lines, but the missing final newline the rewrite adds."""
    return {(line, p.code) for line, problems in analysis.line_problems.items() for p in problems
            if p.code != "ASTRA033"}
