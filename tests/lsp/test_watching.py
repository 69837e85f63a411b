"""Stores that other programs create, append to, replace and delete."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as lsp

from .editor import Editor, message, start_editor, write_store


def append_line(path: Path, text: str) -> None:
    with path.open("ab") as handle:
        handle.write(text.encode() + b"\n")


async def test_client_watched_files_follow_appends_creations_and_deletions(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1), message(2)])
    async with start_editor(workspace, watch=True) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        watchers = [r for r in editor.registrations if r.method == lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES]
        assert watchers, "the server registers its file watchers with a client that can watch"

        append_line(path, message(3))
        append_line(path, "{torn")
        editor.watched(path, lsp.FileChangeType.Changed)
        found = await editor.diagnostics(path, lambda d: len(d) == 1)
        assert found[0].code == "ASTRA001" and found[0].range.start.line == 3
        changed = await editor.until(lambda: [c for c in editor.store_changes if c["events"] == 3],
                                     "astra/storeChanged after the append")
        assert changed[-1] == {"uri": path.as_uri(), "events": 3, "problems": 1}
        counted = await editor.command("astra.count", {"store": path.as_uri()})
        assert counted["count"] == 3

        # Replaced by a shorter file: rescanned, not resumed.
        write_store(workspace, "conversation", [message(1)])
        editor.watched(path, lsp.FileChangeType.Changed)
        await editor.diagnostics(path, lambda d: len(d) == 0, "a rescan of the replaced file")

        created = write_store(workspace, "conversation-2", ["[1]"])
        editor.watched(created, lsp.FileChangeType.Created)
        found = await editor.diagnostics(created, lambda d: len(d) == 1)
        assert found[0].code == "ASTRA002"

        created.unlink()
        editor.watched(created, lsp.FileChangeType.Deleted)
        await editor.diagnostics(created, lambda d: len(d) == 0, "cleared diagnostics of a deleted store")


def watched_globs(editor: Editor) -> list[list[str]]:
    """The glob patterns of each file-watcher registration the editor holds now."""
    return [[w["globPattern"] for w in r.register_options["watchers"]]  # type: ignore[index]
            for r in editor.registrations if r.method == lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES
            and r.id == "astra-watch"]


async def test_the_editors_file_watchers_follow_the_globs_setting(workspace: Path) -> None:
    """An editor only reports changes to files its watchers' globs match: they must follow the setting."""
    other = write_store(workspace, "agents/run", [message(1), "{torn"])
    async with start_editor(workspace, watch=True, settings={"globs": ["**/.astra/chat/*.jsonl"]}) as editor:
        await editor.until(lambda: watched_globs(editor) == [["**/.astra/chat/*.jsonl"]], "the first watchers")
        editor.client.set_configuration({"globs": ["**/.astra/agents/*.jsonl"]}, section="astra")
        editor.client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings=None))
        await editor.until(lambda: watched_globs(editor) == [["**/.astra/agents/*.jsonl"]],
                           "watchers of the new globs only")
        await editor.diagnostics(other, lambda d: len(d) == 1, "the store the new globs name")
        append_line(other, "[2]")
        editor.watched(other, lsp.FileChangeType.Changed)
        found = await editor.diagnostics(other, lambda d: len(d) == 2, "its append, reported by the watcher")
        assert [d.code for d in found] == ["ASTRA001", "ASTRA002"]


async def test_settings_read_at_start_choose_the_first_watchers(workspace: Path) -> None:
    async with start_editor(workspace, watch=True, settings={"globs": ["**/.astra/agents/*.jsonl"]}) as editor:
        await editor.until(lambda: watched_globs(editor), "the first watchers")
        assert watched_globs(editor) == [["**/.astra/agents/*.jsonl"]]


async def test_an_append_that_changes_no_problem_is_announced_but_not_republished(workspace: Path) -> None:
    """A valid event appended to a store changes its counts, not its problems: the client hears
    astra/storeChanged, and the unchanged diagnostics are not sent again (a big store's list is large)."""
    path = write_store(workspace, "conversation", [message(1), "not json", message(2)])
    uri = path.as_uri()
    async with start_editor(workspace, watch=True) as editor:
        published = await editor.diagnostics(path, lambda d: len(d) == 1)
        append_line(path, message(3))
        editor.watched(path, lsp.FileChangeType.Changed)
        await editor.until(lambda: [c for c in editor.store_changes if c["events"] == 3], "the append's announcement")
        assert editor.client.diagnostics[uri] is published, "unchanged diagnostics were sent again"
        append_line(path, "[4]")
        editor.watched(path, lsp.FileChangeType.Changed)
        found = await editor.diagnostics(path, lambda d: len(d) == 2, "a new problem, published")
        assert [str(d.code) for d in found] == ["ASTRA001", "ASTRA002"]


async def test_an_append_another_reader_saw_first_is_still_announced(workspace: Path) -> None:
    """A request that reads the store (here a count) between the append and the watcher's notification
    brings the engine up to date first; the notification must still announce the new counts."""
    path = write_store(workspace, "conversation", [message(1), message(2)])
    async with start_editor(workspace, watch=True) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        append_line(path, message(3))
        counted = await editor.command("astra.count", {"store": path.as_uri()})
        assert counted["count"] == 3
        editor.watched(path, lsp.FileChangeType.Changed)
        await editor.until(lambda: [c for c in editor.store_changes if c["events"] == 3], "the append's announcement")


async def test_without_client_watching_the_server_polls(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1)])
    async with start_editor(workspace, watch=False) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        assert not editor.registrations or all(
            r.method != lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES for r in editor.registrations)
        append_line(path, "nope")
        found = await editor.diagnostics(path, lambda d: len(d) == 1, "diagnostics after a polled append")
        assert found[0].range.start.line == 1
        created = write_store(workspace, "agent-x", ["{"])
        await editor.diagnostics(created, lambda d: len(d) == 1, "diagnostics of a polled new store")
        created.unlink()
        await editor.diagnostics(created, lambda d: len(d) == 0, "diagnostics cleared after a polled delete")
