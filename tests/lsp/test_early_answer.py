"""A restart answers `initialize` and publishes the diagnostics saved for unchanged stores before the
language-server library is loaded; anything changed (store, settings, configuration or schema file,
trust, client capabilities) or damaged means nothing is published early, and the server works as usual
either way. Driven over the real server's stdio, messages kept in arrival order."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from astra_ls.lsp.early_answer import OutputFilter, Plan

from .editor import message, write_store

WAIT_S = 30.0  # a hang detector, not a timing check
CAPABILITIES: dict[str, Any] = {
    "workspace": {"configuration": True, "workspaceFolders": True},
    "textDocument": {"publishDiagnostics": {"relatedInformation": True}, "hover": {"contentFormat": ["markdown"]}},
}
PUBLISH = "textDocument/publishDiagnostics"
LOG = "window/logMessage"  # the server's own initialize handler logs first: what comes before is early


def frame(payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Client:
    """The server process over stdio; every message it sends is kept in order."""

    def __init__(self, root: Path, settings: dict[str, Any]) -> None:
        self.root, self.settings = root, settings
        self.process = subprocess.Popen([sys.executable, "-m", "astra_ls"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=root)
        self.messages: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self._ids = iter(range(1, 1_000_000))
        threading.Thread(target=self._read, daemon=True).start()

    def send(self, payload: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(frame({"jsonrpc": "2.0", **payload}))
        self.process.stdin.flush()

    def request(self, method: str, params: Any) -> Any:
        ident = next(self._ids)
        self.send({"id": ident, "method": method, "params": params})
        return self.wait(lambda ms: next((m for m in ms if m.get("id") == ident and "method" not in m), None),
                         f"the answer to {method}")

    def wait(self, check: Callable[[list[dict[str, Any]]], Any], what: str) -> Any:
        """What `check` finds in the messages so far, once it finds something."""
        deadline = time.monotonic() + WAIT_S
        with self.changed:
            while True:
                found = check(self.messages)
                if found is not None:
                    return found
                if time.monotonic() > deadline or self.process.poll() is not None:
                    pytest.fail(f"no {what}")
                self.changed.wait(0.2)

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while header := stream.readline():
            length = int(header.split(b":")[1]) if header.lower().startswith(b"content-length") else None
            while stream.readline() not in (b"\r\n", b""):
                pass
            if length is None:
                continue
            received = json.loads(stream.read(length))
            if "method" in received and "id" in received:  # the server asks: answer as an editor would
                result = [self.settings] if received["method"] == "workspace/configuration" else None
                self.send({"id": received["id"], "result": result})
            with self.changed:
                self.messages.append(received)
                self.changed.notify_all()

    def early(self) -> list[dict[str, Any]]:
        """What arrived before the server's initialize handler ran."""
        first_log = self.wait(lambda ms: next((i for i, m in enumerate(ms) if m.get("method") == LOG), None),
                              "log message")
        with self.changed:
            return self.messages[:first_log]

    def published(self, uri: str, count: int = 1) -> list[Any]:
        """The diagnostics of the `count`-th publication for `uri`."""
        def nth(messages: list[dict[str, Any]]) -> Any:
            found = [m for m in messages if m.get("method") == PUBLISH and m["params"]["uri"] == uri]
            return found[count - 1] if len(found) >= count else None

        return list(self.wait(nth, f"publication {count} of {uri}")["params"]["diagnostics"])


@contextmanager
def started(root: Path, options: dict[str, Any] | None = None, capabilities: dict[str, Any] | None = None,
            settings: dict[str, Any] | None = None) -> Iterator[tuple[Client, dict[str, Any]]]:
    client = Client(root, settings or {})
    try:
        answer = client.request("initialize", {
            "processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": capabilities or CAPABILITIES,
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "initializationOptions": {"trusted": False} if options is None else options})
        client.send({"method": "initialized", "params": {}})
        yield client, answer
        assert client.request("shutdown", None).get("result") is None
        client.send({"method": "exit", "params": None})
        assert client.process.wait(WAIT_S) == 0
    finally:
        if client.process.poll() is None:
            client.process.kill()
            client.process.wait()


def store_lines() -> list[str]:
    lines = [message(n) for n in range(40)]
    lines[7] = message(3)  # a duplicate id
    lines[20] = '{"id": "torn'
    return lines


def first_start(root: Path, **kwargs: Any) -> tuple[Path, dict[str, Any], list[Any]]:
    path = write_store(root, "conversation", store_lines())
    with started(root, **kwargs) as (client, answer):
        diagnostics = client.published(path.as_uri())
        assert client.early() == []  # nothing saved yet: pygls answers, after its handler's log
    return path, answer, diagnostics


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def test_restart_publishes_the_saved_diagnostics_before_the_server_answers_anything(
        workspace: Path, user_cache: Path) -> None:
    path, answer, diagnostics = first_start(workspace)
    before = tree(workspace)
    with started(workspace) as (client, again):
        early = client.early()
        assert [m.get("id", m.get("method")) for m in early] == [1, PUBLISH]
        assert again["result"] == answer["result"]
        assert early[1]["params"] == {"uri": path.as_uri(), "diagnostics": diagnostics}
        assert client.published(path.as_uri(), 2) == diagnostics  # the server's own check, as usual
        hover = client.request("textDocument/hover", {"textDocument": {"uri": path.as_uri()},
                                                      "position": {"line": 2, "character": 0}})
        assert hover["result"] is not None
        count = client.request("workspace/executeCommand", {"command": "astra.count",
                                                            "arguments": [{"store": "conversation"}]})
        assert count["result"]["count"] == 39  # the torn line is no event
    assert tree(workspace) == before
    assert len(list((user_cache / "diagnostics").glob("*.snap"))) == 1


SCHEMA = {"oneOf": [{"type": "object", "required": ["type", "id"],
                     "properties": {"type": {"const": "UserMessageSent"}, "id": {"type": "string"}}}]}


def change_store(path: Path, change: str) -> None:
    data = path.read_bytes()
    if change == "store appended":
        path.write_bytes(data + message(99).encode() + b"\n")
    else:  # same size and inode, new content and mtime
        with path.open("r+b") as handle:
            handle.write(data[:2] + b"x" + data[3:])


@pytest.mark.parametrize("change", ["store appended", "store edited in place", "setting", "configuration file",
                                    "schema file", "trust", "client capabilities", "settings not sent"])
def test_anything_changed_publishes_nothing_early(workspace: Path, change: str) -> None:
    (workspace / "schema.json").write_text(json.dumps(SCHEMA))
    (workspace / "astra-ls.toml").write_text('[[stores]]\nglob = "conversation*"\nschema = "schema.json"\n')
    settings = {"ignore": ["ASTRA020"]}
    path, _, _ = first_start(workspace, settings=settings if change == "settings not sent" else None)
    options: dict[str, Any] = {"trusted": False}
    capabilities = None
    if change == "settings not sent":  # pulled after start; the early path assumes the defaults then
        options = {"trusted": False}
    elif change.startswith("store"):
        change_store(path, change)
    elif change == "setting":
        options["settings"] = settings
    elif change == "configuration file":
        (workspace / "astra-ls.toml").write_text('[[stores]]\nglob = "conversation*"\nschema = "schema.json"\n'
                                                 'unique_ids = false\n')
    elif change == "schema file":
        (workspace / "schema.json").write_text(json.dumps({**SCHEMA, "title": "changed"}))
    elif change == "trust":
        options["trusted"] = True
    else:
        capabilities = {**CAPABILITIES, "window": {"workDoneProgress": True}}
    pulled = settings if change in ("setting", "settings not sent") else None
    with started(workspace, options, capabilities, settings=pulled) as (client, _):
        assert [m for m in client.early() if m.get("method") == PUBLISH] == []
        client.published(path.as_uri())


def test_a_store_folder_now_linked_from_outside_publishes_nothing_early(workspace: Path, tmp_path: Path) -> None:
    """Same file, same bytes, but `.astra` is now a link out of the workspace: the server refuses to read it."""
    first_start(workspace)
    (workspace / ".astra").rename(tmp_path / "moved")
    (workspace / ".astra").symlink_to(tmp_path / "moved")
    with started(workspace) as (client, _):
        assert [m.get("id", m.get("method")) for m in client.early()] == [1]


def test_rules_running_workspace_code_get_no_snapshot(workspace: Path, user_cache: Path) -> None:
    """A projector from the workspace may read anything at all: nothing to vouch for."""
    (workspace / "early_probe_projector.py").write_text("def project(state, event):\n    return state\n")
    (workspace / "astra-ls.toml").write_text('[[stores]]\nglob = "conversation*"\n'
                                             'projector = "early_probe_projector:project"\n')
    first_start(workspace, options={"trusted": True})
    assert list((user_cache / "diagnostics").glob("*.snap")) == []


def test_settings_sent_with_initialize_are_compared(workspace: Path) -> None:
    """An editor that sends its settings along gets the early diagnostics of those settings."""
    settings = {"ignore": ["ASTRA020"]}
    options = {"trusted": False, "settings": settings}
    _, _, diagnostics = first_start(workspace, options=options, settings=settings)
    assert "ASTRA020" not in json.dumps(diagnostics)
    with started(workspace, options, settings=settings) as (client, _):
        assert [m["params"]["diagnostics"] for m in client.early() if m.get("method") == PUBLISH] == [diagnostics]


@pytest.mark.parametrize("damage", ["cut short", "garbage", "payload byte"])
def test_damaged_snapshot_is_ignored(workspace: Path, user_cache: Path, damage: str) -> None:
    path, _, diagnostics = first_start(workspace)
    [entry] = (user_cache / "diagnostics").glob("*.snap")
    raw = entry.read_bytes()
    entry.write_bytes(raw[: len(raw) // 2] if damage == "cut short" else os.urandom(len(raw))
                      if damage == "garbage" else raw[:-3] + b"X" + raw[-2:])
    with started(workspace) as (client, _):
        assert [m.get("id", m.get("method")) for m in client.early()] == [1]  # answered, nothing published
        assert client.published(path.as_uri()) == diagnostics


def test_damaged_saved_answer_is_ignored_and_replaced(workspace: Path, user_cache: Path) -> None:
    path, answer, _ = first_start(workspace)
    [saved] = (user_cache / "initialize").glob("*.json")
    saved.write_bytes(saved.read_bytes()[:40])
    with started(workspace) as (client, again):
        assert client.early() == []  # pygls answers
        assert again["result"] == answer["result"]
        client.published(path.as_uri())
    assert json.loads(saved.read_bytes())["result"] == answer["result"]


def test_nothing_is_saved_inside_the_workspace_or_with_the_cache_off(
        workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASTRA_LS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    for options in ({"trusted": False, "cacheDir": str(workspace / "cache")},
                    {"trusted": False, "indexCache": False, "cacheDir": str(tmp_path / "storage")}):
        path = write_store(workspace, "conversation", store_lines())
        before = tree(workspace)
        for _ in range(2):
            with started(workspace, options) as (client, _):
                client.published(path.as_uri())
                assert client.early() == []
        assert tree(workspace) == before
    assert not (tmp_path / "storage").exists()


def test_the_early_path_imports_nothing_heavy() -> None:
    probe = ("import sys; from astra_ls.lsp.early_answer import answer_early, install_key; install_key(); "
             "print([m for m in ('numpy', 'pydantic', 'pygls', 'lsprotocol', 'orjson', 'msgspec', 'astra_ls.core') "
             "if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"


def test_the_output_filter_drops_only_the_answer_to_the_private_request(tmp_path: Path) -> None:
    log = {"jsonrpc": "2.0", "method": LOG, "params": {"type": 4, "message": "x"}}
    pygls_answer = {"jsonrpc": "2.0", "id": "astra-ls/early-initialize", "result": {"capabilities": {}}}
    later = {"jsonrpc": "2.0", "id": 2, "result": None}
    data = frame(log) + frame(pygls_answer) + frame(later) + frame(log)
    for step in (1, 7, len(data)):
        out = io.BytesIO()
        sink = OutputFilter(out, Plan("astra-ls/early-initialize", tmp_path / "r.json", {"capabilities": {}}))
        for start in range(0, len(data), step):
            sink.write(data[start:start + step])
        assert out.getvalue() == frame(log) + frame(later) + frame(log)
        assert not (tmp_path / "r.json").exists()  # the saved answer was right: left alone


def test_the_output_filter_saves_the_answer_it_passes_on(tmp_path: Path) -> None:
    answer = {"jsonrpc": "2.0", "id": 1, "result": {"capabilities": {"hoverProvider": True}}}
    out = io.BytesIO()
    OutputFilter(out, Plan(1, tmp_path / "k.json")).write(frame(answer))
    assert out.getvalue() == frame(answer)
    assert json.loads((tmp_path / "k.json").read_bytes())["result"] == answer["result"]
