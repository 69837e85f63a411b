"""An untrusted workspace contacts no server: remote stores its `astra-ls.toml` declares are refused with a
reason naming trust, through the CLI and the language server, and a listening socket sees no connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from .conftest import Board
from .rawlsp import RawServer, server_unavailable
from .support import Workspace, cli


class Listener:
    """A TCP socket on localhost that counts connections (and closes each at once)."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


@pytest.fixture
def declaring(workspace: Workspace, listener: Listener) -> Workspace:
    """A workspace whose astra-ls.toml declares a remote store at the listener, with a credentials file."""
    (workspace.root / "secret.creds").write_text("not a real credentials file\n")
    (workspace.root / "astra-ls.toml").write_text(
        '[[remote]]\nname = "prod"\n'
        f'servers = ["nats://127.0.0.1:{listener.port}"]\n'
        'credentials = "secret.creds"\ntimeout = 1.0\nretry_seconds = 0.0\n')
    workspace.write("local", b'{"type":"Tick","id":"1"}\n')
    return workspace


REMOTE_RUNS = [("count", "notes"), ("append", "notes", '{"type":"Tick","id":"2"}'), ("project", "notes"),
               ("query", "notes"), ("check",), ("push",), ("pull",)]


@pytest.mark.scenario("confinement: untrusted workspace contacts no server")
def test_cli_refuses_remote_stores_of_an_untrusted_workspace(declaring: Workspace, listener: Listener,
                                                             board: Board) -> None:
    """CLI without --trust: every command on --remote answers UNTRUSTED with how to trust; no connection."""
    for args in REMOTE_RUNS:
        done = cli(*args, "--remote", "prod", "--workspace", declaring.root, cwd=declaring.root, timeout=60)
        assert done.returncode != 0, f"astra-ls {args} succeeded: {done.stdout}"
        assert "UNTRUSTED" in done.stderr and "--trust" in done.stderr, (args, done.stderr)
        assert listener.connections == 0, f"astra-ls {' '.join(args)} connected to the declared server"
        board.ran()
    # control: with --trust the same command does try the declared server (so the listener can see one);
    # without the credentials file, which nats-py could not use here anyway
    config = declaring.root / "astra-ls.toml"
    config.write_text(config.read_text().replace('credentials = "secret.creds"\n', ""))
    done = cli("count", "notes", "--remote", "prod", "--workspace", declaring.root, "--trust", timeout=60)
    assert done.returncode != 0 and "UNTRUSTED" not in done.stderr, done.stderr
    assert listener.connections >= 1


@pytest.mark.scenario("confinement: untrusted workspace contacts no server")
def test_server_contacts_no_remote_store_of_an_untrusted_workspace(declaring: Workspace, listener: Listener,
                                                                   board: Board) -> None:
    """Untrusted session: local stores are checked and listed, the remote one is skipped with the reason,
    commands on its astra-remote URI answer UNTRUSTED; the listening socket never sees a connection."""
    reason = server_unavailable()
    if reason:
        pytest.skip(reason)
    server = RawServer(declaring.root, trusted=False)
    try:
        server.initialize()
        local = declaring.path("local").absolute().as_uri()
        server.wait_until(lambda: local in server.diagnostics, "the local store's diagnostics")
        listed = server.command("astra.listStores", {})
        assert listed["ok"] is True and [s["name"] for s in listed["stores"]] == ["local"], listed
        (skipped,) = listed["skipped"]
        assert skipped["path"] == "astra-remote://prod/" and "trust" in skipped["reason"], skipped
        for command, extra in (("astra.count", {}), ("astra.append", {"event": {"type": "Tick", "id": "3"}}),
                               ("astra.project", {}), ("astra.query", {})):
            answer = server.command(command, {"store": "astra-remote://prod/notes", **extra})
            assert answer["ok"] is False and answer["code"] == "UNTRUSTED", (command, answer)
            assert "trust" in answer["message"], answer
            board.ran()
        answer = server.request_raw("astra/remoteDocument", {"uri": "astra-remote://prod/notes"})
        assert answer.get("result", {}).get("code") == "UNTRUSTED", answer
        assert listener.connections == 0, "the server connected to a server an untrusted workspace declared"
    finally:
        server.shutdown()
    assert listener.connections == 0
