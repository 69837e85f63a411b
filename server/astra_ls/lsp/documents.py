"""Open editor buffers of stores: each keeps its own StoreAnalysis, kept current by splicing changed lines.

While a store is open the buffer wins over the disk. Edits change the buffer's bytes and widen a pending
range of bytes; a debounced flush then re-checks the lines that range touches once, however many
keystrokes it took, and the engine carries the cross-line checks and counts along.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field

from lsprotocol import types as lsp

from astra_ls.core.analysis import AnalysisRules, StoreAnalysis
from astra_ls.core.blocks import iter_blocks
from astra_ls.lsp.buffer import Edit, TextBuffer
from astra_ls.lsp.workspace_state import Located
from astra_ls.projections.replay import Replayer


@dataclass(frozen=True, slots=True)
class Pending:
    """Bytes [start, end) of the buffer are new since the last flush; everything before is unchanged, and
    everything after is the analysed bytes shifted by `delta`."""

    start: int
    end: int
    delta: int

    def widen(self, edit: Edit) -> Pending:
        moved = edit.length - (edit.end - edit.start)
        return Pending(min(self.start, edit.start), max(self.end, edit.end) + moved, self.delta + moved)


def analyse_bytes(data: bytes, rules: AnalysisRules) -> StoreAnalysis:
    analysis = StoreAnalysis(rules)
    analysis.feed(iter_blocks(io.BytesIO(data), 0, rules.line.max_line_bytes), incremental=False)
    analysis.finish_full_scan()
    return analysis


@dataclass
class OpenDocument:
    uri: str
    located: Located
    rules: AnalysisRules
    replayer: Replayer
    version: int
    dirty: bool
    buffer: TextBuffer
    data: bytes = b""  # what the analysis was built from (the buffer as of the last flush)
    analysis: StoreAnalysis | None = None
    pending: Pending | None = None
    whole: bool = True  # the next flush rebuilds from scratch
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, offset: int, length: int) -> bytes:
        return self.data[offset : offset + length]

    def note_changes(self, changes: list[lsp.TextDocumentContentChangeEvent]) -> None:
        for change in changes:
            edit = self.buffer.apply(change)
            if isinstance(change, lsp.TextDocumentContentChangePartial):
                first = Pending(edit.start, edit.start + edit.length, edit.length - (edit.end - edit.start))
                self.pending = first if self.pending is None else self.pending.widen(edit)
            else:
                self.whole = True

    def take_pending(self) -> tuple[bytes, Pending | None, bool]:
        """The buffer and what the next flush must re-check (called on the event loop, so edits cannot
        interleave)."""
        pending, whole = self.pending, self.whole
        self.pending, self.whole = None, False
        return self.buffer.data, pending, whole

    def flush(self, new: bytes, pending: Pending | None, whole: bool) -> None:
        """Bring the analysis up to `new` (run in a worker; holds the document's lock)."""
        with self.lock:
            analysis = self.analysis
            if whole or analysis is None or not new or not self._splice(analysis, new, pending):
                self.analysis = analyse_bytes(new, self.rules)
                self.replayer.invalidate_from(0)
            self.data = new

    def _splice(self, analysis: StoreAnalysis, new: bytes, pending: Pending | None) -> bool:
        """Re-check only the lines the pending bytes touch; False when the result does not add up."""
        if pending is None:
            return len(new) == analysis.size
        first = _line_at(analysis, pending.start)
        start = analysis.offsets[first] if first < analysis.line_count else analysis.size
        old_end = pending.end - pending.delta  # the first byte after the change, in the analysed bytes
        last = _line_at(analysis, old_end)  # a change that ends on a '\n' joins the next line
        tail = last + 1 >= analysis.line_count
        if tail:
            old_count = analysis.line_count - first
            if start == len(new) and first > 0:
                # Keep the preceding line (with its '\n') in the splice so the end-of-file state is right.
                first -= 1
                start = analysis.offsets[first]
                old_count += 1
            new_data = new[start:]
        else:
            old_count = last - first + 1
            new_data = new[start : analysis.offsets[last + 1] + pending.delta]
        analysis.splice(first, old_count, new_data, tail)
        self.replayer.invalidate_from(first)
        return analysis.size == len(new)


def _line_at(analysis: StoreAnalysis, offset: int) -> int:
    """The analysed line holding byte `offset` (the line a byte at the end would start, if any)."""
    if offset >= analysis.size:
        return analysis.line_count - (0 if analysis.terminated or not analysis.line_count else 1)
    return analysis.line_of_offset(offset)


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
