"""Hostile protocol input: raw bytes to the server's stdin get the right JSON-RPC error; the server keeps serving."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from . import rawlsp
from .conftest import Board
from .rawlsp import RawServer, frame, server_unavailable
from .support import Workspace

INVALID_PARAMS, METHOD_NOT_FOUND = -32602, -32601


@pytest.fixture
def server(workspace: Workspace) -> Iterator[RawServer]:
    reason = server_unavailable()
    if reason:
        pytest.skip(reason)
    workspace.write("s", b'{"type":"T","id":"1"}\nnot json\n')
    running = RawServer(workspace.root)
    running.initialize()
    yield running
    running.kill()


def still_serving(server: RawServer) -> None:
    answer = server.command("astra.count", {"store": "s"})
    assert (answer["ok"], answer["count"], answer["byType"]) == (True, 1, {"T": 1}), answer


def error_of(answer: dict[str, Any]) -> int:
    assert "error" in answer, f"expected a JSON-RPC error, got {answer}"
    return int(answer["error"]["code"])


@pytest.mark.scenario("hostile protocol")
@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe\x00", b"[]", b'"text"', b"{}", b'{"jsonrpc":"2.0"}',
                                  b'{"jsonrpc":"2.0","id":{"x":1},"method":"shutdown"}', b"null" * 1000])
def test_garbage_bodies_do_not_stop_the_server(server: RawServer, body: bytes, board: Board) -> None:
    """Malformed JSON-RPC bodies are survived: the next request is answered normally."""
    server.send_bytes(frame(body))
    still_serving(server)
    assert server.alive()
    board.ran()


@pytest.mark.scenario("hostile protocol")
def test_a_body_that_is_not_json_gets_a_parse_error(server: RawServer, board: Board) -> None:
    """JSON-RPC answers an unparsable body with Parse error (-32700) and a null id."""
    server.send_bytes(frame(b"{not json"))
    answer = server.wait_answer(None)
    assert error_of(answer) == -32700 and answer["id"] is None, answer
    still_serving(server)
    board.ran()


@pytest.mark.scenario("hostile protocol")
def test_a_late_answer_to_an_abandoned_request_is_not_an_error(workspace: Workspace, board: Board) -> None:
    """A settings change cancels the start-up scan while its progress request waits for the client; the
    client's answer arriving afterwards is dropped quietly, not reported as a server error."""
    reason = server_unavailable()
    if reason:
        pytest.skip(reason)
    workspace.write("s", b'{"type":"T","id":"1"}\n')
    server = RawServer(workspace.root, hold=frozenset({"window/workDoneProgress/create"}))
    try:
        server.initialize()
        server.wait_until(lambda: bool(server.held), "the scan's progress request")
        server.notify("workspace/didChangeConfiguration", {"settings": {}})
        still_serving(server)  # the reload (and the cancellation) happened before this answer
        for request in server.held:
            server.send({"id": request["id"], "result": None})
        still_serving(server)
        errors = [n for n in server.notifications()
                  if n.get("method") == "window/logMessage" and n["params"]["type"] == 1]
        assert errors == [], errors
    finally:
        server.kill()
    board.ran()


@pytest.mark.scenario("hostile protocol")
def test_unknown_methods_and_commands_get_their_errors(server: RawServer, board: Board) -> None:
    """Unknown methods: MethodNotFound; unknown commands and malformed command arguments: InvalidParams."""
    assert error_of(server.request_raw("astra/noSuchMethod", {})) == METHOD_NOT_FOUND
    assert error_of(server.request_raw("workspace/executeCommand", {"command": "astra.nope", "arguments": []})) \
        == INVALID_PARAMS
    for arguments in ([], [1], [{"store": "s"}, {"store": "s"}], [{"store": 5}], [{"nostore": "s"}]):
        answer = server.request_raw("workspace/executeCommand", {"command": "astra.count", "arguments": arguments})
        assert error_of(answer) == INVALID_PARAMS, arguments
        assert answer["error"]["message"].strip()
        board.ran()
    still_serving(server)


@pytest.mark.scenario("hostile protocol")
def test_out_of_range_positions_and_foreign_uris_are_harmless(server: RawServer, workspace: Workspace,
                                                              board: Board) -> None:
    """Positions past the end, URIs outside the workspace, unopened documents: empty answers, no crash."""
    uri = workspace.path("s").absolute().as_uri()
    for method in ("textDocument/hover", "textDocument/completion"):
        for target, line, character in [(uri, 99_999, 5), (uri, 0, 10**6), ("file:///etc/passwd", 0, 0),
                                         (f"{workspace.root.as_uri()}/.astra/../../x.jsonl", 0, 0),
                                         ("untitled:Untitled-1", 0, 0), (workspace.path("none").as_uri(), 0, 0)]:
            answer = server.request_raw(method, {"textDocument": {"uri": target},
                                                 "position": {"line": line, "character": character}})
            assert "error" not in answer or error_of(answer) == INVALID_PARAMS, (method, target, answer)
            board.ran()
    server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": "x"}]})
    server.notify("textDocument/didClose", {"textDocument": {"uri": workspace.path("none").as_uri()}})
    still_serving(server)
    answer = server.command("astra.append", {"store": "../../escape", "event": {"type": "T"}})
    assert answer["ok"] is False and answer["code"] == "PATH_REFUSED", answer
    assert not (workspace.root.parent.parent / "escape.jsonl").exists()


@pytest.mark.scenario("hostile protocol")
def test_wrong_parameter_shapes_get_invalid_params(server: RawServer, board: Board) -> None:
    """textDocument/hover with {'x': 1} or a negative character is answered with InvalidParams."""
    board.ran()
    rawlsp.WAIT_S, saved = 3.0, rawlsp.WAIT_S  # the bug is a missing answer: wait briefly for it
    try:
        assert error_of(server.request_raw("textDocument/hover", {"x": 1})) == INVALID_PARAMS
    finally:
        rawlsp.WAIT_S = saved


@pytest.mark.scenario("hostile protocol")
def test_requests_after_shutdown_are_refused(server: RawServer, board: Board) -> None:
    """After shutdown every request gets InvalidRequest (-32600); exit then ends the process with 0."""
    board.ran()
    assert server.request("shutdown") is None
    rawlsp.WAIT_S, saved = 3.0, rawlsp.WAIT_S
    try:
        answer = server.request_raw("workspace/executeCommand",
                                    {"command": "astra.count", "arguments": [{"store": "s"}]})
    finally:
        rawlsp.WAIT_S = saved
    assert error_of(answer) == -32600, answer
    server.notify("exit")
    deadline = time.monotonic() + 60
    while server.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.process.returncode == 0


@pytest.mark.scenario("hostile protocol")
def test_exit_after_shutdown_ends_the_server_cleanly(server: RawServer, board: Board) -> None:
    """shutdown then exit: the process ends with status 0."""
    assert server.request("shutdown") is None
    server.notify("exit")
    server.process.wait(timeout=60)
    assert server.process.returncode == 0
    board.ran()
