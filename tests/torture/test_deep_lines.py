"""Depth is the input's to choose: deeply nested lines are read, answered or reported, never an internal
error, through the CLI and the language server (no walk of a line's content recurses on the stack)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Board
from .rawlsp import RawServer, frame, server_unavailable
from .support import Workspace, cli

FIRST = b'{"type":"Tick","id":"0"}'


def nested(depth: int, leaf: bytes = b"1", ident: str = "1") -> bytes:
    """The finding's line: an array nested `depth` deep holding `leaf` (default: a small integer)."""
    return b'{"type":"Tick","id":"%s","x":' % ident.encode() + b"[" * depth + leaf + b"]" * depth + b"}"


BIG = b"123456789012345678901234567890"  # wider than 64 bits
COMMANDS = [("check",), ("count", "deep"), ("project", "deep"), ("quarantine", "deep"), ("query", "deep"),
            ("project", "deep", "--at-line", "2")]


@pytest.mark.scenario("inputs: deep nesting")
@pytest.mark.parametrize("depth", [600, 1000])
@pytest.mark.parametrize("leaf", [b"1", BIG], ids=["small", "big-int"])
def test_cli_commands_survive_deep_lines(workspace: Workspace, depth: int, leaf: bytes, board: Board) -> None:
    """check/count/project/quarantine/query on a store with one deep line: a report or an answer, never
    exit 2; a deep line with an integer beyond 64 bits is an ASTRA001 problem, a plain deep line an event."""
    for args in COMMANDS:
        workspace.write("deep", FIRST + b"\n" + nested(depth, leaf) + b"\n")
        where = workspace.root if args[0] == "check" else None
        done = cli(*args, *(["--workspace", workspace.root] if where is None else [workspace.root]),
                   "--format", "json", timeout=120)
        assert done.returncode in (0, 1), f"astra-ls {' '.join(args)}: {done.returncode} {done.stderr[-500:]}"
        assert "internal error" not in done.stderr
        answer = json.loads(done.stdout)
        if args[0] == "check":
            problems = answer["files"][0]["problems"]
            if leaf == BIG:
                assert [(p["code"], p["line"]) for p in problems] == [("ASTRA001", 2)]
                assert f"nested {depth + 1} levels deep" in problems[0]["message"]
            else:
                assert problems == [] and answer["files"][0]["events"] == 2
        elif args[0] == "count":
            assert answer["count"] == (1 if leaf == BIG else 2)
        elif args[0] == "quarantine":
            assert answer["moved"] == (1 if leaf == BIG else 0)
        else:
            assert answer["ok"] is True, answer
        board.ran()


@pytest.mark.scenario("inputs: deep nesting")
def test_deep_answers_are_cut_with_a_note(workspace: Workspace, board: Board) -> None:
    """project/query answers show a 1000-deep value down to a fixed depth, with a note where it stops."""
    workspace.write("deep", FIRST + b"\n" + nested(1000) + b"\n")
    done = cli("query", "deep", "--workspace", workspace.root, "--format", "json", timeout=120)
    assert done.returncode == 0, done.stderr
    value = json.loads(done.stdout)["events"][1]["event"]["x"]
    depth = 0
    while isinstance(value, list):
        value, depth = value[0], depth + 1
    assert isinstance(value, str) and "nested deeper than" in value and depth < 1000
    board.ran()


def command_as_json(server: RawServer, ident: str, name: str, argument: dict[str, Any]) -> Any:
    """A command sent as Python's json writes it (NaN and Infinity literals, any depth), not through the
    client's own encoder, which would turn NaN into null or stop at 254 levels."""
    body = {"jsonrpc": "2.0", "id": ident, "method": "workspace/executeCommand",
            "params": {"command": name, "arguments": [argument]}}
    server.send_bytes(frame(json.dumps(body).encode()))
    return server.wait_answer(ident)["result"]


@pytest.fixture
def server(workspace: Workspace) -> Iterator[RawServer]:
    reason = server_unavailable()
    if reason:
        pytest.skip(reason)
    workspace.write("deep", FIRST + b"\n" + nested(600, BIG) + b"\n" + nested(1000, ident="2") + b"\n")
    workspace.write("other", FIRST + b"\nnot json\n")
    running = RawServer(workspace.root)
    running.initialize()
    yield running
    running.kill()


@pytest.mark.scenario("inputs: deep nesting")
def test_server_checks_lists_and_answers_deep_stores(workspace: Workspace, server: RawServer,
                                                     board: Board) -> None:
    """Diagnostics for the deep store and the others, listStores, project, query and a hover all answer."""
    deep, other = (workspace.path(name).absolute().as_uri() for name in ("deep", "other"))
    server.wait_until(lambda: deep in server.diagnostics and other in server.diagnostics, "diagnostics")
    assert [(d["code"], d["range"]["start"]["line"]) for d in server.diagnostics[deep]] == [("ASTRA001", 1)]
    assert [d["code"] for d in server.diagnostics[other]] == ["ASTRA001"]
    listed = server.command("astra.listStores", {})
    assert {s["name"]: s["events"] for s in listed["stores"]} == {"deep": 2, "other": 1}
    for command in ("astra.project", "astra.query", "astra.count", "astra.timeline"):
        assert server.command(command, {"store": "deep"})["ok"] is True
        board.ran()
    answer = server.command("astra.projectAt", {"store": "deep", "line": 3})
    assert answer["ok"] is True and answer["events"] == 2
    text = workspace.read("deep").decode()
    server.notify("textDocument/didOpen", {"textDocument": {"uri": deep, "languageId": "jsonl", "version": 1,
                                                            "text": text}})
    for line in (1, 2):
        hover = server.request_raw("textDocument/hover", {"textDocument": {"uri": deep},
                                                          "position": {"line": line, "character": 40}})
        assert "error" not in hover, hover
        board.ran()
    appended = command_as_json(server, "deep", "astra.append",
                               {"store": "deep", "event": json.loads(nested(600, ident="3"))})
    assert appended["ok"] is True, appended
