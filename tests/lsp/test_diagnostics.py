"""Diagnostics for every store, open or not, exactly where the engine says."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from .editor import message, start_editor, write_store


def codes(diagnostics: object) -> list[str]:
    return [str(d.code) for d in diagnostics]  # type: ignore[attr-defined]


async def test_unopened_stores_get_diagnostics_with_utf16_columns(workspace: Path) -> None:
    korean = message(1, "안녕하세요 😀😀")
    bad_type = korean.replace("m1", "m2").replace('"UserMessageSent"', '"UserMesageSent"')
    path = write_store(workspace, "conversation", [korean, bad_type, "", "not json"])
    other = write_store(workspace, "agent-run", ["{oops"])
    async with start_editor(workspace) as editor:
        found = await editor.diagnostics(path, lambda d: len(d) == 3)
        assert codes(found) == ["ASTRA011", "ASTRA032", "ASTRA001"]
        unknown = found[0]
        text = bad_type
        start = text.index('"UserMesageSent"')
        # Everything before the type is ASCII here, but the emoji after it must not shift the range.
        assert unknown.range.start == lsp.Position(1, start)
        assert unknown.range.end == lsp.Position(1, start + len('"UserMesageSent"'))
        assert unknown.source == "astra"
        assert unknown.code_description is not None and unknown.code_description.href.endswith("#astra011")
        assert unknown.data["suggestion"] == "UserMessageSent"
        assert list(found[1].tags or ()) == [lsp.DiagnosticTag.Unnecessary]
        assert codes(await editor.diagnostics(other, lambda d: len(d) == 1)) == ["ASTRA001"]


async def test_columns_count_utf16_units_after_korean_and_emoji(workspace: Path) -> None:
    # The duplicate id sits after astral characters: its column must count each emoji as two units.
    first = '{"content":"😀 안녕","id":"dup","type":"UserMessageSent","timestamp":1700000000000}'
    second = '{"content":"😀😀 안녕","id":"dup","type":"UserMessageSent","timestamp":1700000001000}'
    path = write_store(workspace, "conversation", [first, second])
    async with start_editor(workspace) as editor:
        found = await editor.diagnostics(path, lambda d: "ASTRA020" in codes(d))
        duplicate = next(d for d in found if d.code == "ASTRA020")
        prefix = second[: second.index('"dup"')]
        expected = len(prefix.encode("utf-16-le")) // 2
        assert expected != len(prefix)
        assert duplicate.range.start == lsp.Position(1, expected)
        assert duplicate.related_information is not None
        related = duplicate.related_information[0]
        assert related.location.uri == path.as_uri()
        assert related.location.range.start.line == 0


async def test_problems_are_capped_with_a_summary(workspace: Path) -> None:
    path = write_store(workspace, "conversation", ["bad"] * 30)
    async with start_editor(workspace, settings={"max_problems_per_file": 10}) as editor:
        found = await editor.diagnostics(path, lambda d: len(d) > 0)
        assert len(found) == 11
        assert codes(found)[-1] == "ASTRA038"
        assert "20 more" in found[-1].message


async def test_first_scan_reports_progress(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1)])
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        reports = await editor.until(
            lambda: [r for rs in editor.client.progress_reports.values() for r in rs
                     if isinstance(r, lsp.WorkDoneProgressEnd)], "the end of the scan's progress")
        assert reports


async def test_open_buffer_wins_over_disk_and_edits_are_rechecked(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1), message(2), message(3)])
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        editor.open(path)
        # Break line 2 in the buffer only: the diagnostics follow the buffer, not the disk.
        editor.edit(path, (1, 0), (1, 1), "x")
        found = await editor.diagnostics(path, lambda d: codes(d) == ["ASTRA001"])
        assert found[0].range.start.line == 1
        # Insert a line above: the problem moves down with its line.
        editor.edit(path, (0, 0), (0, 0), message(0) + "\n")
        found = await editor.diagnostics(path, lambda d: codes(d) == ["ASTRA001"] and d[0].range.start.line == 2)
        # Fix it; then add a blank line at the end and delete the final newline of the previous one.
        editor.edit(path, (2, 0), (2, 1), "{")
        await editor.diagnostics(path, lambda d: len(d) == 0, "a clean buffer")
        editor.edit(path, (4, 0), (4, 0), "\n")
        await editor.diagnostics(path, lambda d: codes(d) == ["ASTRA032"], "a blank line")
        editor.edit(path, (3, len(message(3))), (5, 0), "")
        await editor.diagnostics(path, lambda d: codes(d) == ["ASTRA033"], "a missing final newline")


async def test_a_burst_of_keystrokes_ends_in_the_right_diagnostics(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1)])
    async with start_editor(workspace) as editor:
        editor.open(path)
        await editor.diagnostics(path, lambda d: len(d) == 0)
        typed = message(2)
        for index, char in enumerate(typed):
            editor.edit(path, (1, index), (1, index), char)
        editor.edit(path, (1, len(typed)), (1, len(typed)), "\n")
        duplicate = message(3).replace('"m3"', '"m1"')
        editor.edit(path, (2, 0), (2, 0), duplicate + "\n")
        found = await editor.diagnostics(path, lambda d: codes(d) == ["ASTRA020"])
        assert found[0].range.start.line == 2


async def test_whole_document_changes_and_closing_return_to_the_disk(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1)])
    async with start_editor(workspace) as editor:
        editor.open(path)
        editor.replace_all(path, "nope\n")
        await editor.diagnostics(path, lambda d: codes(d) == ["ASTRA001"])
        editor.client.text_document_did_close(lsp.DidCloseTextDocumentParams(
            lsp.TextDocumentIdentifier(path.as_uri())))
        await editor.diagnostics(path, lambda d: len(d) == 0, "the disk's diagnostics again")


async def test_pull_diagnostics_for_open_documents(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1), "broken"])
    async with start_editor(workspace, pull=True) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 1)  # unopened: pushed
        uri = editor.open(path)
        await editor.diagnostics(path, lambda d: len(d) == 0, "the pushed diagnostics cleared on open")
        report = await editor.client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(
            lsp.TextDocumentIdentifier(uri)))
        assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
        assert codes(report.items) == ["ASTRA001"]
        again = await editor.client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(
            lsp.TextDocumentIdentifier(uri), previous_result_id=report.result_id))
        assert isinstance(again, lsp.RelatedUnchangedDocumentDiagnosticReport)
        editor.edit(path, (1, 0), (1, 6), message(2))
        fixed = await editor.client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(
            lsp.TextDocumentIdentifier(uri), previous_result_id=report.result_id))
        assert isinstance(fixed, lsp.RelatedFullDocumentDiagnosticReport)
        assert list(fixed.items) == []


async def test_unicode_line_separators_inside_strings_do_not_shift_edits(workspace: Path) -> None:
    """U+2028, U+2029 and U+0085 are legal inside JSON strings and are not line breaks for LSP: an edit
    below such a line lands on the line the editor means."""
    odd = message(1, "one\u2028two\u2029three\x85four")
    path = write_store(workspace, "conversation", [odd, message(2), message(3)])
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        editor.open(path)
        editor.edit(path, (2, 0), (2, 1), "x")  # break line 3 (0-based 2) in the buffer
        found = await editor.diagnostics(path, lambda d: codes(d) == ["ASTRA001"])
        assert found[0].range.start.line == 2
        editor.edit(path, (2, 0), (2, 1), "{")
        await editor.diagnostics(path, lambda d: len(d) == 0, "the repaired buffer")


async def test_a_store_big_enough_for_a_parallel_scan_gets_its_diagnostics(workspace: Path) -> None:
    """Over 64 MB the CLI scans on every core; the server is threaded, where a forked scan worker can wait
    forever on a lock another thread held at the fork: the server must still finish its first scan and
    report what `astra-ls check` reports."""
    path = workspace / ".astra" / "conversation.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    generator = Path(__file__).parents[2] / "bench" / "generate.py"
    subprocess.run([sys.executable, str(generator), "--events", "520000", "--out", str(path)], check=True,
                   capture_output=True, timeout=120)
    checked = subprocess.run([sys.executable, "-m", "astra_ls", "check", str(path), "--format", "json"],
                             capture_output=True, timeout=120)
    expected = json.loads(checked.stdout)["files"][0]["problems"]
    assert len(expected) > 100
    async with start_editor(workspace) as editor:
        found = await editor.diagnostics(path, lambda d: len(d) > 100, "diagnostics of a 70 MB store")
        first = [(p["code"], p["line"] - 1) for p in expected][:100]
        assert [(str(d.code), d.range.start.line) for d in found][:100] == first


def _shape(diagnostics: Sequence[lsp.Diagnostic]) -> list[tuple[Any, ...]]:
    return [(d.range, d.code, d.message, [r.location.range for r in d.related_information or ()])
            for d in diagnostics]


async def test_edited_buffer_diagnostics_equal_a_fresh_check_of_the_same_text(workspace: Path) -> None:
    """Problems before, inside and after the edits, astral characters and a raw '\\r' (a line break for
    LSP, not for JSONL): the edited buffer's diagnostics are those of the same text checked anew."""
    emoji = message(2, "😀😀 안녕")
    lines = [message(1), "broken", emoji, message(3).replace('"m3"', '"m1"'), message(5), message(4),
             message(6, "ab").replace("ab", "a\rb"), "", message(7)]
    path = write_store(workspace, "conversation", lines)
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) >= 4)
        uri = editor.open(path)
        after_emoji = len(emoji[: emoji.index("😀😀") + 2].encode("utf-16-le")) // 2
        editor.edit(path, (2, after_emoji), (2, after_emoji), "🙂")
        editor.edit(path, (9, 0), (9, 0), message(8).replace('"m8"', '"m2"') + "\n")  # LSP line 9 is m7
        editor.edit(path, (4, len(message(5)) - 1), (4, len(message(5))), "")  # line 5 loses its brace
        editor.edit(path, (11, 0), (11, 0), "oops")
        copy = workspace / ".astra" / "conversation-copy.jsonl"
        copy.write_bytes(editor.texts[uri].encode())
        editor.watched(copy, lsp.FileChangeType.Created)
        fresh = await editor.diagnostics(copy, lambda d: len(d) >= 7, "the copy's diagnostics")
        assert {"ASTRA001", "ASTRA020", "ASTRA021", "ASTRA032", "ASTRA033"} <= set(codes(fresh))
        await editor.diagnostics(path, lambda d: _shape(d) == _shape(fresh), "the copy's diagnostics")
