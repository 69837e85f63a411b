"""A store saved in place by an editor (same file, new bytes anywhere, longer than before): the server
must never keep an analysis of bytes that changed, whether it hears of the change from the client's
watcher, from its own poller, or only when a command reads the store."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from lsprotocol import types as lsp

from .editor import message, start_editor, write_store

GOOD = [message(n) for n in range(1, 9)]


def save_in_place(path: Path, lines: list[str]) -> None:
    """What an editor saving in place does: the same file (inode) rewritten from its first byte, here
    longer than before, so nothing is cut."""
    data = "".join(f"{text}\n" for text in lines).encode()
    assert len(data) > path.stat().st_size
    with path.open("r+b") as handle:
        handle.write(data)


def damaged() -> list[str]:
    """Line 3 made malformed (its length kept), one event more at the end: every byte after line 3 is
    where it was, the old last bytes included."""
    lines = list(GOOD)
    lines[2] = lines[2].replace('"type":', '"type" ')
    return [*lines, message(9)]


async def test_a_watched_store_saved_in_place_and_grown_is_checked_again(workspace: Path) -> None:
    path = write_store(workspace, "conversation", GOOD)
    async with start_editor(workspace, watch=True) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        save_in_place(path, damaged())
        editor.watched(path, lsp.FileChangeType.Changed)
        found = await editor.diagnostics(path, lambda d: len(d) == 1, "the malformed line 3")
        assert found[0].code == "ASTRA001" and found[0].range.start.line == 2
        counted = await editor.command("astra.count", {"store": path.as_uri()})
        assert counted["count"] == 8  # 9 lines, one of them malformed


async def test_a_polled_store_saved_in_place_and_grown_is_checked_again(workspace: Path) -> None:
    path = write_store(workspace, "conversation", GOOD)
    async with start_editor(workspace, watch=False) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        save_in_place(path, damaged())
        found = await editor.diagnostics(path, lambda d: len(d) == 1, "the malformed line 3 (poller)")
        assert found[0].code == "ASTRA001" and found[0].range.start.line == 2


async def test_a_query_after_an_in_place_save_answers_the_new_events(workspace: Path) -> None:
    """Before: every retry answered STORE_CHANGED, the offsets of the old analysis never matching."""
    path = write_store(workspace, "conversation", GOOD)
    async with start_editor(workspace, watch=True) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        save_in_place(path, damaged())
        for _ in range(3):
            answer = await editor.command("astra.query", {"store": path.as_uri()})
            assert answer["ok"], answer
            assert [e["event"]["id"] for e in answer["events"]] == [f"m{n}" for n in (1, 2, 4, 5, 6, 7, 8, 9)]


WRITER = """
import json, sys, time
path, first, count, flip_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
flips = {int(n) for n in flip_at.split(",")}
good, bad = sys.argv[5].encode(), sys.argv[6].encode()
for n in range(first, first + count):
    with open(path, "a") as handle:  # another program's append: no lock, like Node's appendFileSync
        handle.write(json.dumps({"id": f"m{n}", "type": "UserMessageSent", "timestamp": 1_700_000_000_000 + n * 1000,
                                 "content": f"hello {n}"}) + "\\n")
    if n in flips:  # an editor saving in place: line 3 flips between valid and malformed, its length kept
        with open(path, "r+b") as handle:
            data = handle.read()
            start = data.index(b"\\n", data.index(b"\\n") + 1) + 1
            current = data[start : data.index(b"\\n", start)]
            handle.seek(start)
            handle.write(bad if current == good else good)
    time.sleep(0.02)
"""


async def test_in_place_saves_among_lockless_appends_end_where_check_does(workspace: Path) -> None:
    """Another program appends without a lock while line 3 is saved in place now and then; once it stops,
    the server's problems are exactly those a fresh `astra-ls check` finds."""
    path = write_store(workspace, "conversation", GOOD)
    bad = damaged()[2]
    async with start_editor(workspace, watch=False) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        writer = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, str(path), "9", "150", "40,75,110", GOOD[2], bad)
        assert await asyncio.wait_for(writer.wait(), 60) == 0
        checked = subprocess.run([sys.executable, "-m", "astra_ls", "check", str(path), "--format", "json"],
                                 capture_output=True, text=True, timeout=60)
        expected = sorted((p["line"] - 1, p["code"]) for p in json.loads(checked.stdout)["files"][0]["problems"])
        assert expected == [(2, "ASTRA001")]  # three flips: malformed at the end
        await editor.diagnostics(path, lambda d: sorted((x.range.start.line, x.code) for x in d) == expected,
                                 "the server agreeing with check")
        counted = await editor.command("astra.count", {"store": path.as_uri()})
        assert counted["count"] == len(GOOD) - 1 + 150
