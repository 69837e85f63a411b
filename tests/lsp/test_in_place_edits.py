"""A store saved in place by an editor (same file, new bytes anywhere, longer than before): the server
must never keep an analysis of bytes that changed, whether it hears of the change from the client's
watcher, from its own poller, or only when a command reads the store."""

from __future__ import annotations

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
