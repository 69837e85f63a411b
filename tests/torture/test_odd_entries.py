"""One odd entry in `.astra/` stops nothing: each entry is judged on its own, through the CLI and the server.

Valid names hold spaces, accents or a leading underscore; a directory, a FIFO or a link named `*.jsonl` is
reported as skipped (never opened); nested stores are found and named the same way by `check DIR`,
`astra.listStores` and the commands that take a store name.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Board
from .rawlsp import RawServer, server_unavailable
from .support import Workspace, cli

GOOD = b'{"type":"Tick","id":"a"}\n'
BAD = b'{"type":"Tick","id":"b"}\nnot json\n'
VALID_NAMES = ["my events", "événements", "_private", "plain"]


@pytest.fixture
def odd(workspace: Workspace, tmp_path: Path) -> Workspace:
    for name in VALID_NAMES:
        workspace.write(name, GOOD)
    workspace.write("broken", BAD)
    (workspace.astra / "x.jsonl").mkdir()  # a directory named like a store
    (workspace.astra / "x.jsonl" / "inner.jsonl").write_bytes(GOOD)
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(GOOD)
    (workspace.astra / "out.jsonl").symlink_to(outside)
    if sys.platform != "win32":
        os.mkfifo(workspace.astra / "fifo.jsonl")
    (workspace.astra / "sub").mkdir()
    (workspace.astra / "sub" / "nested.jsonl").write_bytes(GOOD)
    nested = workspace.root / "pkg" / "a" / ".astra"
    nested.mkdir(parents=True)
    (nested / "deep.jsonl").write_bytes(GOOD)
    return workspace


def skipped_names(entries: list[dict[str, str]]) -> set[str]:
    return {Path(entry["path"]).name for entry in entries}


EXPECTED_SKIPPED = {"x.jsonl", "out.jsonl"} | ({"fifo.jsonl"} if sys.platform != "win32" else set())
EXPECTED_FILES = {*(f"{n}.jsonl" for n in VALID_NAMES), "broken.jsonl", "nested.jsonl", "deep.jsonl"}


@pytest.mark.scenario("discovery: odd entries")
def test_check_reports_every_store_and_skips_odd_entries(odd: Workspace, board: Board) -> None:
    """`check DIR`: every valid store (nested ones too) is checked, odd entries are warned about, no hang."""
    done = cli("check", odd.root, "--format", "json", timeout=60)
    assert done.returncode == 1, done.stderr  # the broken store's ASTRA001, nothing worse
    report = json.loads(done.stdout)
    assert {Path(f["path"]).name for f in report["files"]} == EXPECTED_FILES
    assert skipped_names(report["skipped"]) == EXPECTED_SKIPPED
    reasons = {Path(e["path"]).name: e["reason"] for e in report["skipped"]}
    assert "folder" in reasons["x.jsonl"] and "link" in reasons["out.jsonl"]
    if "fifo.jsonl" in reasons:
        assert "FIFO" in reasons["fifo.jsonl"]
    text = cli("check", odd.root, timeout=60)
    assert text.returncode == 1
    assert "my events.jsonl:2" not in text.stdout and "broken.jsonl:2:1: ASTRA001" in text.stdout
    for name in EXPECTED_SKIPPED:
        assert f"{name}: skipped:" in text.stderr, text.stderr
    board.ran(2)


@pytest.mark.scenario("discovery: odd entries")
@pytest.mark.parametrize("name", ["my events", "événements", "_private", "sub/nested", "pkg/a/.astra/deep"])
def test_cli_counts_each_listed_name(odd: Workspace, name: str, board: Board) -> None:
    """Every name `astra.listStores` gives is a name the CLI takes (`count NAME --workspace WS`)."""
    done = cli("count", name, "--workspace", odd.root, "--format", "json", timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["count"] == 1
    board.ran()


@pytest.fixture
def server(odd: Workspace) -> Iterator[RawServer]:
    reason = server_unavailable()
    if reason:
        pytest.skip(reason)
    running = RawServer(odd.root)
    running.initialize()
    yield running
    running.kill()


@pytest.mark.scenario("discovery: odd entries")
def test_server_lists_checks_and_names_stores_like_the_cli(odd: Workspace, server: RawServer,
                                                           board: Board) -> None:
    """listStores lists each valid store under the name the CLI takes and skips odd entries with the
    reason; every valid store gets diagnostics; commands take the listed names."""
    listed = server.command("astra.listStores", {})
    assert listed["ok"] is True, listed
    names = {entry["name"] for entry in listed["stores"]}
    assert names == {*VALID_NAMES, "broken", "sub/nested", "pkg/a/.astra/deep"}
    assert skipped_names(listed["skipped"]) == EXPECTED_SKIPPED
    for entry in listed["stores"]:
        server.wait_until(lambda uri=entry["uri"]: uri in server.diagnostics, f"diagnostics of {entry['name']}")
        answer = server.command("astra.count", {"store": entry["name"]})
        assert answer["ok"] is True and answer["count"] == 1, answer
        board.ran()
    broken = (odd.astra / "broken.jsonl").absolute().as_uri()
    assert [d["code"] for d in server.diagnostics[broken]] == ["ASTRA001"]
