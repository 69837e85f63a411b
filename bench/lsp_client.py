"""A minimal Language Server Protocol client over stdio, for timing the real server process.

It speaks JSON-RPC 2.0 with Content-Length framing, stamps every incoming message with its arrival
time, answers the few server-to-client requests a server may block on, and lets the benchmark wait
for a specific notification (e.g. the diagnostics of one URI). Nothing else: no editor emulation.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

Message = dict[str, Any]


@dataclass(frozen=True)
class Received:
    at: float  # time.perf_counter() on arrival
    message: Message


class LspError(RuntimeError):
    pass


def file_uri(path: Path) -> str:
    return path.resolve().as_uri()


class LspClient:
    """One server process. Use as a context manager; exit shuts it down (and kills it if stuck)."""

    def __init__(self, argv: Sequence[str], cwd: Path, stderr_path: Path, env: dict[str, str] | None = None):
        self._stderr_path = stderr_path
        self._stderr = stderr_path.open("wb")
        self.started_at = time.perf_counter()
        # Its own process group, so closing also reaps any worker processes the server forked.
        self.proc = subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            start_new_session=True,
        )
        self._ids = itertools.count(1)
        self._received: list[Received] = []
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._closed = False
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # --- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> LspClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def initialize(self, root: Path, timeout_s: float = 60.0) -> Message:
        params = {
            "processId": os.getpid(),
            "rootUri": file_uri(root),
            "workspaceFolders": [{"uri": file_uri(root), "name": root.name}],
            "capabilities": client_capabilities(),
        }
        result = self.request("initialize", params, timeout_s=timeout_s)
        self.notify("initialized", {})
        return result if isinstance(result, dict) else {}

    def close(self, timeout_s: float = 5.0) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self.proc.poll() is None:
                self.request("shutdown", None, timeout_s=timeout_s)
                self.notify("exit", None)
                self.proc.wait(timeout=timeout_s)
        except (LspError, TimeoutError, OSError, subprocess.TimeoutExpired):
            pass
        finally:
            self._kill_group()
            self._stderr.close()

    def _kill_group(self) -> None:
        """Kill whatever is left of the server's process group (a stuck server, orphaned workers)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait()

    # --- sending ---------------------------------------------------------------------------------

    def _send(self, message: Message) -> None:
        body = orjson.dumps(message)
        assert self.proc.stdin is not None
        with self._write_lock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request_async(self, method: str, params: Any) -> int:
        ident = next(self._ids)
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        return ident

    def request(self, method: str, params: Any, timeout_s: float = 60.0) -> Any:
        return self.wait_response(self.request_async(method, params), timeout_s).message.get("result")

    # --- receiving -------------------------------------------------------------------------------

    def wait_response(self, ident: int, timeout_s: float = 60.0) -> Received:
        got = self.wait_for(lambda m: m.get("id") == ident and "method" not in m, timeout_s)
        if "error" in got.message:
            raise LspError(f"request {ident} failed: {got.message['error']}")
        return got

    def wait_for(self, predicate: Callable[[Message], bool], timeout_s: float, since: int = 0) -> Received:
        """First message (from index `since` of the arrival log) matching predicate."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            index = since
            while True:
                while index < len(self._received):
                    item = self._received[index]
                    index += 1
                    if predicate(item.message):
                        return item
                remaining = deadline - time.monotonic()
                if not self._reader.is_alive() and index >= len(self._received):
                    # The server closed its output: nothing more can arrive.
                    raise LspError(f"server exited ({self.proc.poll()}): {self.stderr_tail()}")
                if remaining <= 0:
                    raise TimeoutError(f"no matching message within {timeout_s} s")
                self._cond.wait(min(remaining, 0.5))

    def stderr_tail(self, limit: int = 300) -> str:
        try:
            lines = self._stderr_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no stderr"
        return (lines[-1] if lines else "no stderr")[:limit]

    def mark(self) -> int:
        """Position in the arrival log; pass to wait_for(since=...) to only see later messages."""
        with self._cond:
            return len(self._received)

    def received(self) -> list[Received]:
        with self._cond:
            return list(self._received)

    def _read_loop(self) -> None:
        assert self.proc.stdout is not None
        stream = self.proc.stdout
        while True:
            message = read_message(stream)
            if message is None:
                break
            at = time.perf_counter()
            if "method" in message and "id" in message:
                self._answer_server_request(message)
            with self._cond:
                self._received.append(Received(at, message))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _answer_server_request(self, message: Message) -> None:
        # Servers may block on these; answer like a quiet editor would.
        method = message["method"]
        result: Any = None
        if method == "workspace/configuration":
            result = [None for _ in message.get("params", {}).get("items", [])]
        elif method == "workspace/workspaceFolders":
            result = []
        with contextlib.suppress(OSError, ValueError):
            self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})


def read_message(stream: IO[bytes]) -> Message | None:
    """One framed JSON-RPC message, or None at end of stream."""
    length = -1
    while True:
        header = stream.readline()
        if not header:
            return None
        header = header.strip()
        if not header:
            break
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length < 0:
        raise LspError("message without Content-Length")
    body = stream.read(length)
    if len(body) < length:
        return None
    parsed = orjson.loads(body)
    return parsed if isinstance(parsed, dict) else None


def client_capabilities() -> Message:
    return {
        "workspace": {
            "didChangeWatchedFiles": {"dynamicRegistration": True},
            "workspaceFolders": True,
            "configuration": True,
            "executeCommand": {"dynamicRegistration": False},
        },
        "textDocument": {
            "synchronization": {"dynamicRegistration": False, "didSave": True},
            "hover": {"contentFormat": ["markdown", "plaintext"]},
            "publishDiagnostics": {"relatedInformation": True, "versionSupport": True},
        },
        "window": {"workDoneProgress": True},
    }


def is_diagnostics_for(uri: str, version: int | None = None) -> Callable[[Message], bool]:
    def predicate(message: Message) -> bool:
        if message.get("method") != "textDocument/publishDiagnostics":
            return False
        params = message.get("params") or {}
        if not same_uri(params.get("uri", ""), uri):
            return False
        return version is None or params.get("version") in (None, version)

    return predicate


def same_uri(left: str, right: str) -> bool:
    # Servers may re-encode URIs (e.g. percent-encoding); compare decoded paths.
    from urllib.parse import unquote

    return unquote(left).rstrip("/") == unquote(right).rstrip("/")
