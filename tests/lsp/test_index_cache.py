"""The language server's index cache: a restart serves the same diagnostics, from the cache when the
store is unchanged or only grew, and never writes inside the workspace."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp

from .editor import line, message, start_editor, write_store

OFF = {"trusted": False, "indexCache": False}


def store_lines() -> list[str]:
    lines = [message(n) for n in range(40)]
    lines[7] = message(3)  # a duplicate id
    lines[20] = '{"id": "torn'
    lines[30] = line(id="late", type="UserMessageSent", timestamp=1, content="x")
    return lines


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def shapes(diagnostics: Sequence[lsp.Diagnostic]) -> list[Any]:
    return [(d.range, d.code, d.message, d.severity, d.related_information) for d in diagnostics]


async def published(workspace: Path, path: Path, options: Any = None, settings: dict[str, Any] | None = None,
                    ) -> list[Any]:
    async with start_editor(workspace, initialization_options=options, settings=settings) as editor:
        return shapes(await editor.diagnostics(path, lambda d: len(d) > 0))


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "index").glob("*.idx"))


def mark_unused(entry: Path) -> None:
    os.utime(entry, (1, 1))  # a load marks its entry used: the mtime tells whether the server read it


async def test_restart_with_unchanged_store_uses_the_cache(workspace: Path, user_cache: Path) -> None:
    path = write_store(workspace, "conversation", store_lines())
    before = tree(workspace)
    first = await published(workspace, path)
    [entry] = entries(user_cache)
    mark_unused(entry)
    assert await published(workspace, path) == first
    assert entry.stat().st_mtime > 1
    assert tree(workspace) == before


async def test_restart_under_another_hash_seed_uses_the_cache(workspace: Path, user_cache: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Id hashes are the same in every process: a server started with another PYTHONHASHSEED (or python -E,
    or on Windows, where there never was a seed) reads the entry the first one wrote."""
    path = write_store(workspace, "conversation", store_lines())
    monkeypatch.setenv("PYTHONHASHSEED", "1")
    first = await published(workspace, path)
    [entry] = entries(user_cache)
    written = entry.stat().st_ino
    mark_unused(entry)
    monkeypatch.setenv("PYTHONHASHSEED", "2")
    assert await published(workspace, path) == first
    # read (mtime), not scanned again and rewritten (a rewrite renames a new file over it)
    assert entry.stat().st_mtime > 1 and entry.stat().st_ino == written


async def test_restart_after_appends_reads_the_tail(workspace: Path, user_cache: Path) -> None:
    path = write_store(workspace, "conversation", store_lines())
    await published(workspace, path)
    [entry] = entries(user_cache)
    mark_unused(entry)
    with path.open("a") as handle:
        handle.write(message(5) + "\n" + message(99) + "\n")
    warm = await published(workspace, path)
    assert entry.stat().st_mtime > 1
    assert warm == await published(workspace, path, OFF)
    assert any("m5" in d[2] for d in warm)


@pytest.mark.parametrize("change", ["edited in place", "truncated", "replaced", "configuration"])
async def test_changed_store_or_settings_are_checked_afresh(workspace: Path, user_cache: Path, change: str) -> None:
    path = write_store(workspace, "conversation", store_lines())
    await published(workspace, path)
    data = path.read_bytes()
    if change == "edited in place":
        with path.open("r+b") as handle:
            handle.write(data[:2] + b"x" + data[3:])  # same size: "id" becomes "xd" on the first line
    elif change == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif change == "replaced":
        path.unlink()
        write_store(workspace, "conversation", store_lines()[:25])
    else:
        (workspace / "astra-ls.toml").write_text('[[stores]]\nglob = "conversation*"\nunique_ids = false\n')
    warm = await published(workspace, path)
    assert warm == await published(workspace, path, OFF)


@pytest.mark.parametrize("damage", ["cut short", "garbage"])
async def test_damaged_entry_is_ignored(workspace: Path, user_cache: Path, damage: str) -> None:
    path = write_store(workspace, "conversation", store_lines())
    first = await published(workspace, path)
    [entry] = entries(user_cache)
    raw = entry.read_bytes()
    entry.write_bytes(raw[: len(raw) // 2] if damage == "cut short" else os.urandom(len(raw)))
    assert await published(workspace, path) == first


async def test_unwritable_cache_folder(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setenv("ASTRA_LS_CACHE_DIR", str(blocker / "cache"))
    path = write_store(workspace, "conversation", store_lines())
    assert await published(workspace, path) == await published(workspace, path, OFF)


async def test_editor_storage_folder_but_never_the_workspace(workspace: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASTRA_LS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    path = write_store(workspace, "conversation", store_lines())
    storage = tmp_path / "storage"
    await published(workspace, path, {"trusted": False, "cacheDir": str(storage)})
    assert len(entries(storage)) == 1
    assert not (tmp_path / "xdg").exists()
    before = tree(workspace)
    await published(workspace, path, {"trusted": False, "cacheDir": str(workspace / "cache")})
    assert tree(workspace) == before


async def logged(workspace: Path, path: Path, options: Any) -> list[str]:
    async with start_editor(workspace, initialization_options=options) as editor:
        await editor.diagnostics(path, lambda d: len(d) > 0)
        return [m.message for m in editor.client.log_messages]


async def test_a_cache_miss_says_why_in_the_output_panel(workspace: Path, user_cache: Path) -> None:
    path = write_store(workspace, "conversation", store_lines())
    assert "index cache: no entry for conversation.jsonl" in await logged(workspace, path, {"trusted": False})
    with path.open("r+b") as handle:
        handle.write(b"[")  # same size, rewritten in place
    assert any("index cache: the entry for conversation.jsonl was made for an earlier version of the file" in m
               for m in await logged(workspace, path, {"trusted": False}))
    quiet = await logged(workspace, path, {"trusted": False, "logLevel": "error"})
    assert not any(m.startswith("index cache: the entry") for m in quiet)
    wrong = await logged(workspace, path, {"trusted": False, "logLevel": "loud", "indexCache": "no"})
    assert 'initializationOptions.logLevel must be one of error, warning, info, debug, not "loud"; using "info"' \
        in wrong
    assert 'initializationOptions.indexCache must be true or false, not "no"; using true' in wrong
