"""A minimal JSON-RPC client speaking to a real `astra-ls serve` process over its stdio.

Deliberately not an LSP library: the torture tests need to send bytes no well-behaved client would.
Server-to-client requests (registerCapability, workspace/configuration, progress creation) are answered
so that the server can run its normal start-up.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .support import ASTRA_LS, child_env

WAIT_S = 60.0  # hang detector for a single answer, not a timing assertion


class ServerGone(Exception):
    pass


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def server_unavailable() -> str | None:
    """Why the language server cannot be built in this checkout, or None when it can."""
    done = subprocess.run([*ASTRA_LS[:1], "-c", "from astra_ls.lsp.server import build; build()"],
                          capture_output=True, text=True, env=child_env(), timeout=120, check=False)
    if done.returncode == 0:
        return None
    last = (done.stderr.strip().splitlines() or ["?"])[-1]
    return f"the language server cannot be built in this checkout: {last}"


class RawServer:
    def __init__(self, root: Path, *, trusted: bool = False, watch_by_client: bool = False,
                 hold: frozenset[str] = frozenset()) -> None:
        self.root = root
        self.hold = hold  # server requests left unanswered until the test answers them
        self.held: list[dict[str, Any]] = []
        self.process = subprocess.Popen([*ASTRA_LS, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=child_env(), cwd=root)
        self._ids = itertools.count(1)
        self._answers: dict[int | str, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.notifications: list[dict[str, Any]] = []
        self.diagnostics: dict[str, list[dict[str, Any]]] = {}
        self.changed = threading.Condition()
        self.stderr_lines: list[bytes] = []
        self.trusted = trusted
        self.watch_by_client = watch_by_client
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    # --- transport ------------------------------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError) as error:
            raise ServerGone(f"server stdin closed: {error}") from None

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(frame(json.dumps({"jsonrpc": "2.0", **message}).encode()))

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                header = stream.readline()
                if not header:
                    self._closed()
                    return
                if header in (b"\r\n", b"\n"):
                    break
                name, _, value = header.decode("ascii", "replace").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length is None:
                continue
            body = stream.read(length)
            if len(body) < length:
                self._closed()
                return
            self._dispatch(json.loads(body))

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr_lines.append(line)

    def _closed(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message and "method" in message:
            self._answer_server_request(message)
        elif "id" in message:
            ident = message["id"]
            with self._lock:
                box = self._answers.get(ident) if isinstance(ident, int | str) or ident is None else None
            if box is not None:
                box.put(message)
        else:
            with self.changed:
                self.notifications.append(message)
                if message.get("method") == "textDocument/publishDiagnostics":
                    params = message["params"]
                    self.diagnostics[params["uri"]] = params["diagnostics"]
                self.changed.notify_all()

    def _answer_server_request(self, message: dict[str, Any]) -> None:
        method = message["method"]
        if method in self.hold:
            with self.changed:
                self.held.append(message)
                self.changed.notify_all()
            return
        result: Any = None
        if method == "workspace/configuration":
            result = [{} for _ in message["params"]["items"]]
        self.send({"id": message["id"], "result": result})

    # --- requests -------------------------------------------------------------------------------------

    def request_raw(self, method: str, params: Any = None, *, with_params: bool = True) -> dict[str, Any]:
        """The full response message (with `result` or `error`)."""
        ident = next(self._ids)
        box: queue.Queue[dict[str, Any]] = queue.Queue()
        with self._lock:
            self._answers[ident] = box
        message: dict[str, Any] = {"id": ident, "method": method}
        if with_params:
            message["params"] = params
        self.send(message)
        return self.wait_answer(ident, box)

    def wait_answer(self, ident: int | str, box: queue.Queue[dict[str, Any]] | None = None) -> dict[str, Any]:
        if box is None:
            with self._lock:
                box = self._answers.setdefault(ident, queue.Queue())
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                return box.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise ServerGone(f"server exited with {self.process.returncode} before answering {ident}") \
                        from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer to request {ident}: the server hangs") from None

    def expect_box(self, ident: int | str) -> None:
        with self._lock:
            self._answers.setdefault(ident, queue.Queue())

    def request(self, method: str, params: Any = None) -> Any:
        answer = self.request_raw(method, params)
        assert "error" not in answer, f"{method} failed: {answer['error']}"
        return answer.get("result")

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"method": method, "params": params})

    def command(self, name: str, argument: dict[str, Any]) -> Any:
        return self.request("workspace/executeCommand", {"command": name, "arguments": [argument]})

    # --- lifecycle ------------------------------------------------------------------------------------

    def initialize(self) -> dict[str, Any]:
        uri = self.root.as_uri()
        capabilities: dict[str, Any] = {
            "workspace": {"configuration": True, "workspaceFolders": True,
                          "didChangeWatchedFiles": {"dynamicRegistration": self.watch_by_client}},
            "textDocument": {"publishDiagnostics": {"relatedInformation": True}},
            "window": {"workDoneProgress": True},
        }
        result: dict[str, Any] = self.request("initialize", {
            "processId": None, "rootUri": uri, "capabilities": capabilities,
            "workspaceFolders": [{"uri": uri, "name": self.root.name}],
            "initializationOptions": {"trusted": self.trusted}})
        self.notify("initialized", {})
        return result

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
        """Block until `condition()` holds (re-tested on every message); a hang detector, not a timing check."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not condition():
                if self.process.poll() is not None:
                    raise ServerGone(f"server exited ({self.process.returncode}) while waiting for {what}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"gave up waiting for {what}")
                self.changed.wait(min(remaining, 0.5))

    def alive(self) -> bool:
        return self.process.poll() is None

    def shutdown(self) -> None:
        if not self.alive():
            return
        try:
            self.request("shutdown")
            self.notify("exit")
            self.process.wait(timeout=30)
        except (ServerGone, TimeoutError, subprocess.TimeoutExpired):
            pass
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
