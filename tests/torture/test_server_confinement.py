"""Confinement through the language server's front door: hostile URIs and paths sent over stdio to a real
`astra-ls serve` never reach a file, a configuration or a Python module outside the workspace folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Board
from .rawlsp import RawServer, server_unavailable
from .test_confinement import tree_digest

VICTIM = b'{"type":"Tick","id":"v1"}\nnot json at all\n{"type":"Tick","id":"v2"}\n'


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    """`ws/` (the trusted workspace folder) beside `plain/`, a folder outside it with its own `.astra/`, a
    store with a bad line, and an `astra-ls.toml` naming a Python module that leaves a marker when imported."""
    ws, plain = tmp_path / "ws", tmp_path / "plain"
    (ws / ".astra").mkdir(parents=True)
    (ws / ".astra" / "own.jsonl").write_bytes(b'{"type":"Tick","id":"o1"}\n')
    (plain / ".astra").mkdir(parents=True)
    (plain / ".astra" / "victim.jsonl").write_bytes(VICTIM)
    marker = tmp_path / "IMPORTED"
    (plain / "trap.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('outside code ran')\n"
        "def project(state, event):\n    return state\n")
    (plain / "astra-ls.toml").write_text('[[stores]]\nglob = "*.jsonl"\nprojector = "trap:project"\n')
    return ws, plain, marker


@pytest.fixture
def server(layout: tuple[Path, Path, Path]) -> Iterator[RawServer]:
    reason = server_unavailable()
    if reason:
        pytest.skip(reason)
    running = RawServer(layout[0], trusted=True)
    running.initialize()
    yield running
    running.kill()


def command(server: RawServer, name: str, argument: dict[str, Any]) -> dict[str, Any]:
    """The command's answer, or its JSON-RPC error as a refusal: either way, not an internal error."""
    answer = server.request_raw("workspace/executeCommand", {"command": name, "arguments": [argument]})
    if "error" in answer:
        error = answer["error"]
        assert error["code"] == -32602, f"{name} {argument}: {error}"  # invalid params, said plainly
        return {"ok": False, "code": "InvalidParams", "message": error["message"]}
    result: dict[str, Any] = answer["result"]
    return result


def outside_state(ws: Path, plain: Path) -> tuple[dict[str, str], list[str]]:
    """The outside folder's files and what sits beside the workspace (the test's user cache aside)."""
    return tree_digest(plain, ws / ".astra"), sorted(p.name for p in ws.parent.iterdir() if p.name != "user-cache")


def escaping_refs(ws: Path) -> list[str]:
    astra = ws.as_uri() + "/.astra"
    return [
        f"{astra}/../../plain/.astra/created.jsonl",
        f"{astra}/%2e%2e/%2E%2E/plain/.astra/created.jsonl",
        f"{astra}/..%2F..%2Fplain%2F.astra%2Fcreated.jsonl",
        f"{astra}/..%5C..%5Cplain%5C.astra%5Ccreated.jsonl",
        f"{ws.as_uri()}/../plain/.astra/created.jsonl",
        f"{ws.as_uri()}/link/.astra/created.jsonl",  # a link inside the workspace to the outside folder
        f"{ws}/.astra/../../plain/.astra/created.jsonl",  # a plain absolute path
        f"{ws}/link/.astra/created.jsonl",
    ]


@pytest.mark.scenario("confinement: hostile URIs over stdio")
def test_append_through_a_climbing_uri_creates_nothing_outside(layout: tuple[Path, Path, Path],
                                                               server: RawServer, board: Board) -> None:
    """astra.append to URIs that climb out of .astra/ (`..`, %2e, %2F, %5C, a link) creates no store outside."""
    ws, plain, marker = layout
    (ws / "link").symlink_to(plain, target_is_directory=True)
    before = outside_state(ws, plain)
    for ref in escaping_refs(ws):
        answer = command(server, "astra.append", {"store": ref, "event": {"type": "Tick", "id": "x"}})
        assert answer["ok"] is False, f"{ref} was accepted: {answer}"
        assert answer["message"].strip() and "internal" not in answer["message"].lower(), answer
        board.ran()
    assert not (plain / ".astra" / "created.jsonl").exists()
    assert outside_state(ws, plain) == before
    assert not marker.exists()


@pytest.mark.scenario("confinement: hostile URIs over stdio")
def test_rewrites_and_reads_through_a_climbing_uri_touch_nothing_outside(
        layout: tuple[Path, Path, Path], server: RawServer, board: Board) -> None:
    """quarantine/compact/count/project on `.astra/../../plain/.astra/victim.jsonl`: refused, the victim is
    unchanged and the outside folder's configuration never imports its module (in a trusted session)."""
    ws, plain, marker = layout
    (ws / "link").symlink_to(plain, target_is_directory=True)
    refs = [ref.replace("created", "victim") for ref in escaping_refs(ws)]
    for ref in refs:
        for name in ("astra.quarantine", "astra.compact", "astra.count", "astra.project", "astra.query",
                     "astra.timeline", "astra.schemaFor"):
            answer = command(server, name, {"store": ref})
            assert answer["ok"] is False, f"{name} {ref} was accepted: {answer}"
            assert "internal" not in answer["message"].lower(), answer
            board.ran()
    assert (plain / ".astra" / "victim.jsonl").read_bytes() == VICTIM
    assert sorted(p.name for p in (plain / ".astra").iterdir()) == ["victim.jsonl"]
    assert not marker.exists(), "a module named by a configuration outside the workspace was imported"
    counted = command(server, "astra.count", {"store": "own"})
    assert (counted["ok"], counted["count"], counted["byType"]) == (True, 1, {"Tick": 1}), counted


@pytest.mark.scenario("confinement: hostile URIs over stdio")
def test_opening_a_climbing_uri_reads_no_outside_configuration(layout: tuple[Path, Path, Path],
                                                               server: RawServer, board: Board) -> None:
    """didOpen + hover on a climbing URI: no diagnostics published for the outside store, nothing imported."""
    ws, plain, marker = layout
    uri = f"{ws.as_uri()}/.astra/../../plain/.astra/victim.jsonl"
    server.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "jsonl", "version": 1, "text": VICTIM.decode()}})
    answer = server.request_raw("textDocument/hover", {"textDocument": {"uri": uri},
                                                       "position": {"line": 2, "character": 3}})
    assert "error" not in answer or "internal" not in str(answer["error"]).lower(), answer
    own = (ws / ".astra" / "own.jsonl").absolute().as_uri()
    server.wait_until(lambda: own in server.diagnostics, "the workspace's own store to be checked")
    assert command(server, "astra.count", {"store": "own"})["ok"] is True
    assert uri not in server.diagnostics and (plain / ".astra" / "victim.jsonl").as_uri() not in server.diagnostics
    assert not marker.exists()
    board.ran()


NUL_REFS = ["{astra}/a%00b.jsonl", "{astra}/own.jsonl%00.txt", "{astra}/%00", "own\x00.jsonl",
            "{ws}/.astra/own\x00.jsonl"]


@pytest.mark.scenario("confinement: hostile URIs over stdio")
@pytest.mark.parametrize("template", NUL_REFS)
def test_nul_in_a_store_reference_is_refused_plainly(layout: tuple[Path, Path, Path], server: RawServer,
                                                     template: str, board: Board) -> None:
    """%00 or a NUL in a URI or path: a refusal that says why, never an internal error; nothing is created."""
    ws = layout[0]
    ref = template.format(astra=ws.as_uri() + "/.astra", ws=ws)
    before = sorted(os.listdir(ws / ".astra"))
    for name, extra in (("astra.append", {"event": {"type": "Tick"}}), ("astra.count", {})):
        answer = command(server, name, {"store": ref, **extra})
        assert answer["ok"] is False, answer
        assert "internal" not in answer["message"].lower() and "NUL" in answer["message"], answer
        board.ran()
    assert sorted(os.listdir(ws / ".astra")) == before
    assert command(server, "astra.count", {"store": "own"})["ok"] is True
