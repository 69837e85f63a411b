"""Configuration and arguments that used to break or unbound a command: each is refused with a reason
(CONFIG_ERROR, INVALID_EVENT) through the CLI and the server, never an internal error or a silent change."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from .conftest import Board
from .rawlsp import RawServer, server_unavailable
from .support import Workspace, cli
from .test_deep_lines import command_as_json

DEEP_TOML = "ignore = " + "[" * 3000 + "]" * 3000 + "\n"
BAD_REFS = [{"properties": {"name": {"$ref": "#/$defs/missing"}}},
            {"properties": {"name": {"$ref": "other.json#/x"}}},
            {"oneOf": [{"$ref": "#/definitions/nope"}]}]


@pytest.mark.scenario("configuration: refused, not crashed")
def test_deeply_nested_toml_is_a_configuration_error(workspace: Workspace, board: Board) -> None:
    """astra-ls.toml nested 3,000 deep: the CLI says which file and why (ASTRA040) and goes on with the
    defaults (a configuration mistake degrades, it does not break the command), no internal error."""
    (workspace.root / "astra-ls.toml").write_text(DEEP_TOML)
    workspace.write("s", b'{"type":"T"}\n')
    for args in (("check", workspace.root), ("count", "s", "--workspace", workspace.root)):
        done = cli(*args, timeout=60)
        said = done.stdout + done.stderr
        assert done.returncode in (0, 1) and "astra-ls.toml" in said and "ASTRA040" in said and "nest" in said, said
        assert "internal error" not in said
        board.ran()


@pytest.mark.scenario("configuration: refused, not crashed")
@pytest.mark.parametrize("schema", BAD_REFS, ids=["missing-local", "other-file", "missing-branch"])
def test_a_bad_ref_is_a_configuration_error(workspace: Workspace, schema: dict[str, object], board: Board) -> None:
    """A $ref that resolves to nothing: an ASTRA040 naming the ref; count goes on with the built-in schema,
    append is refused (CONFIG_ERROR) rather than written under a schema that was not the store's."""
    (workspace.root / "ev.json").write_text(json.dumps(schema))
    (workspace.root / "astra-ls.toml").write_text('[[stores]]\nglob = "ev*.jsonl"\nschema = "ev.json"\n')
    workspace.write("ev", b'{"type":"T","name":"x"}\n')
    for args, code in ((("count", "ev"), 0), (("append", "ev", '{"type":"T","name":"y"}'), 1)):
        done = cli(*args, "--workspace", workspace.root, timeout=60)
        assert done.returncode == code and "ASTRA040" in done.stderr and "$ref" in done.stderr, done.stderr
        assert code == 0 or "CONFIG_ERROR" in done.stderr
        assert "internal error" not in done.stderr
        board.ran()
    assert workspace.read("ev") == b'{"type":"T","name":"x"}\n'


@pytest.mark.scenario("configuration: refused, not crashed")
def test_max_line_bytes_cannot_lift_the_memory_bound(workspace: Workspace, board: Board) -> None:
    """max_line_bytes = 1e12 is refused with the most it may be (ASTRA040; the default applies); within it,
    the setting applies."""
    workspace.write("s", b'{"type":"T"}\n')
    for value in ("1e12", "1000000000000", "67108865"):
        (workspace.root / "astra-ls.toml").write_text(f"max_line_bytes = {value}\n")
        done = cli("count", "s", "--workspace", workspace.root, timeout=60)
        assert "ASTRA040" in done.stderr and "max_line_bytes" in done.stderr and "67,108,864" in done.stderr, \
            done.stderr
        board.ran()
    (workspace.root / "astra-ls.toml").write_text("max_line_bytes = 67108864\n")
    assert cli("count", "s", "--workspace", workspace.root, timeout=60).returncode == 0


@pytest.fixture
def server(workspace: Workspace) -> Iterator[RawServer]:
    reason = server_unavailable()
    if reason:
        pytest.skip(reason)
    workspace.write("s", b'{"type":"T","id":"1"}\n')
    running = RawServer(workspace.root)
    running.initialize()
    yield running
    running.kill()


@pytest.mark.scenario("configuration: refused, not crashed")
@pytest.mark.parametrize("event", [{"type": "T", "n": float("nan")}, {"type": "T", "a": [1, float("inf")]},
                                   {"type": "T", "o": {"x": -float("inf")}}], ids=["nan", "inf", "neg-inf"])
def test_append_refuses_nan_instead_of_storing_null(workspace: Workspace, server: RawServer,
                                                    event: dict[str, object], board: Board) -> None:
    """NaN/Infinity sent through astra.append (the JSON-RPC body carries them): INVALID_EVENT naming the
    field; the store is unchanged (it used to get `null` silently)."""
    answer = command_as_json(server, "nan", "astra.append", {"store": "s", "event": event})
    assert answer["ok"] is False and answer["code"] == "INVALID_EVENT", answer
    assert "JSON has no such number" in answer["message"], answer
    assert workspace.read("s") == b'{"type":"T","id":"1"}\n'
    board.ran()


@pytest.mark.scenario("configuration: refused, not crashed")
def test_server_keeps_the_line_bound_when_settings_ask_for_more(workspace: Workspace, board: Board) -> None:
    """Editor settings asking max_line_bytes = 1e12: refused (logged), the default bound still holds, so a
    9 MB line is ASTRA034 instead of being read whole."""
    reason = server_unavailable()
    if reason:
        pytest.skip(reason)
    workspace.write("s", b'{"type":"T","id":"1"}\n{"type":"T","pad":"' + b"x" * (9 << 20) + b'"}\n')
    (workspace.root / "astra-ls.toml").write_text("max_line_bytes = 1e12\n")
    server = RawServer(workspace.root)
    try:
        server.initialize()
        uri = workspace.path("s").absolute().as_uri()
        server.wait_until(lambda: uri in server.diagnostics, "diagnostics")
        assert [d["code"] for d in server.diagnostics[uri]] == ["ASTRA034"]
        board.ran()
    finally:
        server.kill()
