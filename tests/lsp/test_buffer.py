"""An open document's byte buffer follows LSP edits exactly as re-splicing the decoded text would."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp

from astra_ls.core.analysis import AnalysisRules, StoreAnalysis
from astra_ls.core.linecheck import LineRules
from astra_ls.lsp.buffer import TextBuffer
from astra_ls.lsp.documents import OpenDocument, analyse_bytes
from astra_ls.lsp.workspace_state import Located
from astra_ls.projections.registry import BUILTIN
from astra_ls.projections.replay import Replayer
from astra_ls.schemas.families import builtin_schema
from astra_ls.store.file_store import FileEventStore

from .editor import LSP_LINE, text_offset

PIECES = ["a", "é", "한", "😀", "\n", "\r", "\r\n", "\u2028", '{"id":1}', "\x85", "\udc80"]
texts = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
def position(text: str, draw: st.DrawFn) -> lsp.Position:
    return lsp.Position(draw(st.integers(0, text.count("\n") + text.count("\r") + 1)), draw(st.integers(0, 8)))


@settings(max_examples=300, deadline=None)
@given(texts, st.data())
def test_edits_equal_splicing_the_text(text: str, data: st.DataObject) -> None:
    buffer = TextBuffer(text)
    for _ in range(data.draw(st.integers(1, 4))):
        start, end = position(text, data.draw), position(text, data.draw)
        if (start.line, start.character) > (end.line, end.character):
            start, end = end, start
        inserted = data.draw(texts)
        low, high = text_offset(text, start.line, start.character), text_offset(text, end.line, end.character)
        buffer.apply(lsp.TextDocumentContentChangePartial(range=lsp.Range(start, end), text=inserted))
        text = text[:low] + inserted + text[max(low, high):]
        assert buffer.data == text.encode("utf-8", "surrogatepass")
        assert buffer.text() == text
        assert buffer.line_count == len(LSP_LINE.findall(text)) + (text == "" or text.endswith(("\r", "\n")))


def test_a_whole_text_change_replaces_everything() -> None:
    buffer = TextBuffer("one\ntwo\n")
    buffer.apply(lsp.TextDocumentContentChangeWholeDocument(text="三\r\n"))
    assert buffer.data == "三\r\n".encode()
    assert buffer.offset_at(lsp.Position(1, 0)) == len("三\r\n".encode())


LINES = ['{"id":"a","timestamp":1}', '{"id":"b","timestamp":2}', '{"id":"a","timestamp":3}', '{"id":"c","timestamp":0}',
         '{"type":"T","id":"😀","timestamp":5}', "", "  ", "[1]", '{"id":', '{"a":1}\r', "한\u2028"]
EDITS = ["", "}", "{", "\n", "\r\n", '{"id":"b","timestamp":9}\n', '"a"', "😀", "\r"]


def snapshot(analysis: StoreAnalysis, data: bytes) -> dict[str, Any]:
    read = lambda offset, length: data[offset : offset + length]  # noqa: E731
    return {
        "offsets": list(analysis.offsets), "kinds": bytes(analysis.kinds), "size": analysis.size,
        "events": analysis.event_count(), "byType": analysis.counts_by_type(),
        "problems": [(p.line, p.start, p.end, p.code, p.message, p.related) for p in analysis.problems(read)],
    }


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(LINES), max_size=8), st.booleans(), st.data())
def test_flushing_edits_equals_a_fresh_analysis(lines: list[str], newline: bool, data: st.DataObject) -> None:
    rules = AnalysisRules(LineRules(builtin_schema("generic"), 1 << 20))
    text = "\n".join(lines) + ("\n" if newline and lines else "")
    with tempfile.TemporaryDirectory() as folder:
        located = Located(FileEventStore(Path(folder)), "s", Path(folder) / ".astra" / "s.jsonl")
        doc = OpenDocument("file:///s", located, rules, Replayer(BUILTIN["generic"]), 1, False, TextBuffer(text))
        doc.flush(*doc.take_pending())
        for _ in range(data.draw(st.integers(1, 3))):
            for _ in range(data.draw(st.integers(1, 3))):
                start, end = position(text, data.draw), position(text, data.draw)
                if (start.line, start.character) > (end.line, end.character):
                    start, end = end, start
                inserted = data.draw(st.sampled_from(EDITS))
                low = text_offset(text, start.line, start.character)
                high = text_offset(text, end.line, end.character)
                doc.note_changes([lsp.TextDocumentContentChangePartial(range=lsp.Range(start, end), text=inserted)])
                text = text[:low] + inserted + text[high:]
            doc.flush(*doc.take_pending())
            assert doc.analysis is not None
            new = text.encode()
            assert doc.data == new
            assert snapshot(doc.analysis, new) == snapshot(analyse_bytes(new, rules), new)
