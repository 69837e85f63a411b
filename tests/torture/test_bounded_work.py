"""Nothing an input or a client does keeps astra-ls busy forever: a catastrophic regex in a JSON Schema
is evaluated in linear time, and the server ends with its client (stdin closed, `exit`, or the process
named by `processId` gone) even while a check is still running."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import Board
from .rawlsp import RawServer, server_unavailable
from .support import Workspace, cli

QUICK_S = 30.0  # a hang detector: the old code took hours (regex) or never ended (orphaned server)
CATASTROPHIC = {"type": "object", "properties": {"type": {"type": "string"},
                                                 "name": {"type": "string", "pattern": "^(a+)+$"}},
                "patternProperties": {"^(x+)+$": {"type": "integer"}}}


def regex_workspace(workspace: Workspace) -> None:
    (workspace.root / "schemas").mkdir()
    (workspace.root / "schemas" / "ev.json").write_text(json.dumps(CATASTROPHIC))
    (workspace.root / "astra-ls.toml").write_text('[[stores]]\nglob = "ev*.jsonl"\nschema = "schemas/ev.json"\n')
    workspace.write("ev", b'{"type":"T","name":"' + b"a" * 40 + b'b"}\n'  # 50 bytes that hang `re`
                    b'{"type":"T","' + b"x" * 40 + b'y":1}\n{"type":"T","name":"aaa","xx":"not an int"}\n')
    workspace.write("other", b'{"type":"T","id":"1"}\nnot json\n')


@pytest.mark.scenario("inputs: catastrophic regex")
def test_check_with_a_catastrophic_pattern_finishes_with_a_problem(workspace: Workspace, board: Board) -> None:
    """`check` on a 50-byte line against `^(a+)+$`: done in seconds, the mismatch reported as ASTRA010."""
    regex_workspace(workspace)
    started = time.monotonic()
    done = cli("check", workspace.root, "--format", "json", timeout=QUICK_S)
    assert time.monotonic() - started < QUICK_S
    assert done.returncode == 1, done.stderr
    problems = {Path(f["path"]).stem: [(p["line"], p["code"]) for p in f["problems"]]
                for f in json.loads(done.stdout)["files"]}
    assert problems["ev"] == [(1, "ASTRA010"), (3, "ASTRA010")], problems
    assert problems["other"] == [(2, "ASTRA001")]
    board.ran()


@pytest.mark.scenario("inputs: catastrophic regex")
def test_patterns_without_a_linear_time_engine_are_a_configuration_error(workspace: Workspace,
                                                                         board: Board) -> None:
    """A lookahead or backreference (no linear-time engine runs them) is named as a configuration error
    (ASTRA040); the store is still read with the built-in schema."""
    (workspace.root / "astra-ls.toml").write_text('[[stores]]\nglob = "ev*.jsonl"\nschema = "ev.json"\n')
    workspace.write("ev", b'{"name":"aaaa"}\n')
    for pattern in ("^(?=a)(a+)+$", "^(a)\\1$"):
        (workspace.root / "ev.json").write_text(json.dumps({"properties": {"name": {"pattern": pattern}}}))
        done = cli("count", "ev", "--workspace", workspace.root, timeout=QUICK_S)
        assert done.returncode == 0 and "ASTRA040" in done.stderr, done.stderr
        assert repr(pattern) in done.stderr and "linear time" in done.stderr, done.stderr
        assert "internal error" not in done.stderr
        board.ran()


@pytest.fixture
def need_server() -> None:
    reason = server_unavailable()
    if reason:
        pytest.skip(reason)


@pytest.mark.scenario("inputs: catastrophic regex")
def test_server_checks_every_store_despite_a_catastrophic_pattern(workspace: Workspace, need_server: None,
                                                                 board: Board) -> None:
    """Untrusted server: the regex store and the others get diagnostics; shutdown answers promptly."""
    regex_workspace(workspace)
    server = RawServer(workspace.root)
    try:
        server.initialize()
        uris = [workspace.path(name).absolute().as_uri() for name in ("ev", "other")]
        server.wait_until(lambda: all(u in server.diagnostics for u in uris), "diagnostics", QUICK_S)
        assert [d["code"] for d in server.diagnostics[uris[0]]] == ["ASTRA010", "ASTRA010"]
        started = time.monotonic()
        assert server.request_raw("shutdown").get("error") is None
        server.notify("exit")
        server.process.wait(timeout=QUICK_S)
        assert time.monotonic() - started < QUICK_S
        board.ran()
    finally:
        server.kill()


SLOW_PROJECTOR = "import time\ndef project(state, event):\n    time.sleep(3600)\n    return state\n"


def slow_workspace(workspace: Workspace) -> None:
    """A trusted workspace whose projector takes an hour per event: `project` is a check that never ends."""
    (workspace.root / "slowproj.py").write_text(SLOW_PROJECTOR)
    (workspace.root / "astra-ls.toml").write_text('[[stores]]\nglob = "slow*.jsonl"\nprojector = "slowproj:project"\n')
    workspace.write("slow", b'{"type":"T","id":"1"}\n')


def start_long_project(server: RawServer) -> None:
    server.request_async("workspace/executeCommand",
                         {"command": "astra.project", "arguments": [{"store": "slow"}]})
    time.sleep(1.0)  # the projector is running in a worker thread now


def initialize_with(server: RawServer, process_id: int | None) -> None:
    uri = server.root.as_uri()
    server.request("initialize", {"processId": process_id, "rootUri": uri, "capabilities": {},
                                  "workspaceFolders": [{"uri": uri, "name": "ws"}],
                                  "initializationOptions": {"trusted": True}})
    server.notify("initialized", {})


def exit_within(server: RawServer, seconds: float) -> int:
    try:
        return server.process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server still runs {seconds:.0f} s after its client went away")


@pytest.mark.scenario("server ends with its client")
def test_closing_stdin_ends_the_server_during_a_long_check(workspace: Workspace, need_server: None,
                                                           board: Board) -> None:
    """The client closes the server's stdin while a projection runs: the process ends within seconds."""
    slow_workspace(workspace)
    server = RawServer(workspace.root, trusted=True)
    try:
        initialize_with(server, None)
        start_long_project(server)
        assert server.process.stdin is not None
        server.process.stdin.close()
        exit_within(server, QUICK_S)
        board.ran()
    finally:
        server.kill()


@pytest.mark.scenario("server ends with its client")
def test_shutdown_and_exit_do_not_wait_for_a_long_check(workspace: Workspace, need_server: None,
                                                        board: Board) -> None:
    """shutdown answers and exit ends the process (code 0) while a projection is still running."""
    slow_workspace(workspace)
    server = RawServer(workspace.root, trusted=True)
    try:
        initialize_with(server, None)
        start_long_project(server)
        started = time.monotonic()
        answer: dict[str, Any] = server.request_raw("shutdown")
        assert "error" not in answer and time.monotonic() - started < QUICK_S
        server.notify("exit")
        assert exit_within(server, QUICK_S) == 0
        board.ran()
    finally:
        server.kill()


@pytest.mark.scenario("server ends with its client")
def test_the_server_ends_when_the_client_process_dies(workspace: Workspace, need_server: None,
                                                      board: Board) -> None:
    """initialize names a process; when it dies (stdin still open) the server ends within seconds."""
    slow_workspace(workspace)
    client = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    server = RawServer(workspace.root, trusted=True)
    try:
        initialize_with(server, client.pid)
        start_long_project(server)
        time.sleep(2.0)
        assert server.alive(), "the server ended while its client still ran"
        client.kill()
        client.wait(timeout=30)
        exit_within(server, QUICK_S)
        board.ran()
    finally:
        client.kill()
        server.kill()
