"""Open editor buffers of stores: each keeps its own StoreAnalysis, kept current by splicing changed lines.

While a store is open the buffer wins over the disk. Edits only widen a pending region of lines (in the
buffer's current numbering); a debounced flush then re-checks that region once, however many keystrokes
it took, and the engine carries the cross-line checks and counts along.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field

from lsprotocol import types as lsp

from astra_ls.core.analysis import AnalysisRules, StoreAnalysis
from astra_ls.core.blocks import iter_blocks
from astra_ls.lsp.workspace_state import Located
from astra_ls.projections.replay import Replayer


@dataclass(frozen=True, slots=True)
class Region:
    """Lines [first, last] of the current buffer are new; the buffer has `delta` more lines than before."""

    first: int
    last: int
    delta: int


def _widen(region: Region | None, change: lsp.TextDocumentContentChangePartial) -> Region:
    start, end = change.range.start.line, change.range.end.line
    added = change.text.count("\n") - (end - start)
    if region is None:
        return Region(start, end + added, added)
    # Lines after the change move by `added`; a disjoint earlier region is merged by spanning the gap.
    return Region(min(region.first, start), max(region.last, end) + added, region.delta + added)


def analyse_bytes(data: bytes, rules: AnalysisRules) -> StoreAnalysis:
    analysis = StoreAnalysis(rules)
    analysis.feed(iter_blocks(io.BytesIO(data), 0, rules.line.max_line_bytes))
    analysis.finish_full_scan()
    return analysis


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


@dataclass
class OpenDocument:
    uri: str
    located: Located
    rules: AnalysisRules
    replayer: Replayer
    version: int
    dirty: bool
    data: bytes = b""
    analysis: StoreAnalysis | None = None
    pending: Region | None = None
    whole: bool = True  # the next flush rebuilds from scratch
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, offset: int, length: int) -> bytes:
        return self.data[offset : offset + length]

    def note_changes(self, changes: list[lsp.TextDocumentContentChangeEvent]) -> None:
        for change in changes:
            if isinstance(change, lsp.TextDocumentContentChangePartial):
                self.pending = _widen(self.pending, change)
            else:
                self.whole = True

    def take_pending(self) -> tuple[Region | None, bool]:
        """What the next flush must re-check (called on the event loop, so edits cannot interleave)."""
        region, whole = self.pending, self.whole
        self.pending, self.whole = None, False
        return region, whole

    def flush(self, text: str, region: Region | None, whole: bool) -> None:
        """Bring the analysis up to `text` (run in a worker; holds the document's lock)."""
        new = encode(text)
        with self.lock:
            analysis = self.analysis
            if whole or analysis is None or not new or not self._splice(analysis, new, region):
                self.analysis = analyse_bytes(new, self.rules)
                self.replayer.invalidate_from(0)
            self.data = new

    def _splice(self, analysis: StoreAnalysis, new: bytes, region: Region | None) -> bool:
        if region is None:
            return new == self.data
        first = min(region.first, analysis.line_count)
        start = analysis.offsets[first] if first < analysis.line_count else analysis.size
        # The lines before the region must be what the analysis saw; otherwise (a buffer that diverged,
        # e.g. reloaded after a change on disk) the caller rebuilds.
        if new[:start] != self.data[:start]:
            return False
        end = start
        for _ in range(region.last - first + 1):
            newline = new.find(b"\n", end)
            if newline < 0:
                end = len(new)
                break
            end = newline + 1
        tail = end >= len(new)
        if tail:
            old_count = analysis.line_count - first
            if end == start and first > 0:
                # Keep the preceding line (with its '\n') in the splice so the end-of-file state is right.
                first -= 1
                start = analysis.offsets[first]
                old_count += 1
            new_data = new[start:]
        else:
            old_count = region.last - region.delta - first + 1
            new_data = new[start:end]
            if old_count < 0 or first + old_count > analysis.line_count:
                return False
        analysis.splice(first, old_count, new_data, tail)
        self.replayer.invalidate_from(first)
        return analysis.size == len(new)


class OpenDocuments:
    """Every open store buffer, by URI."""

    def __init__(self) -> None:
        self._docs: dict[str, OpenDocument] = {}

    def open(self, doc: OpenDocument) -> None:
        self._docs[doc.uri] = doc

    def close(self, uri: str) -> OpenDocument | None:
        return self._docs.pop(uri, None)

    def get(self, uri: str) -> OpenDocument | None:
        return self._docs.get(uri)

    def all(self) -> list[OpenDocument]:
        return list(self._docs.values())
