"""The one JSON-RPC client of the repository's tests and benchmarks: a real server process over stdio.

It speaks JSON-RPC 2.0 with Content-Length framing, stamps every incoming message with its arrival
time, answers the few server-to-client requests a server may block on (or holds the ones named in
`hold` for the caller to answer), sends raw bytes when asked (hostile clients), and lets the caller wait
for a message or a condition. Nothing else: no editor emulation. The benchmark imports it from here; the
tests too (pytest puts bench/ on the path), e.g. tests/torture/rawlsp.py builds its client on it.
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


class ServerGone(LspError):
    """The server exited or closed its output before what was waited for arrived."""


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def file_uri(path: Path) -> str:
    return path.resolve().as_uri()


class LspClient:
    """One server process. Use as a context manager; exit shuts it down (and kills it if stuck).

    `stderr_path`: where the server's stderr goes (else its lines are kept in `stderr_lines`);
    `own_group`: start it in a process group of its own, killed whole on close (POSIX: workers too);
    `hold`: server-to-client request methods left unanswered, collected in `held`."""

    def __init__(self, argv: Sequence[str], cwd: Path, stderr_path: Path | None = None,
                 env: dict[str, str] | None = None, *, own_group: bool = True,
                 hold: frozenset[str] = frozenset()) -> None:
        self._stderr_path = stderr_path
        self._stderr = stderr_path.open("wb") if stderr_path is not None else None
        self.stderr_lines: list[bytes] = []
        self.hold = hold
        self.held: list[Message] = []
        self.started_at = time.perf_counter()
        self.own_group = own_group and hasattr(os, "killpg")
        self.proc = subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr if self._stderr is not None else subprocess.PIPE, start_new_session=self.own_group,
        )
        self._ids = itertools.count(1)
        self._received: list[Received] = []
        self.changed = self._cond = threading.Condition()  # notified on every message and at the end
        self._write_lock = threading.Lock()
        self._closed = False
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        if self._stderr is None:
            threading.Thread(target=self._drain_stderr, daemon=True).start()

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.proc

    def alive(self) -> bool:
        return self.proc.poll() is None

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
            self.kill()

    def kill(self) -> None:
        """Kill whatever is left of the server (its process group, when it has one: orphaned workers)."""
        self._closed = True
        if self.own_group:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr, self._stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    # --- sending ---------------------------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        """Bytes as they are: a well-framed message or anything a hostile client would send."""
        assert self.proc.stdin is not None
        try:
            with self._write_lock:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as error:
            raise ServerGone(f"server stdin closed: {error}") from None

    def send(self, message: Message) -> None:
        self.send_bytes(frame(orjson.dumps({"jsonrpc": "2.0", **message})))

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"method": method, "params": params})

    def request_async(self, method: str, params: Any = None, *, with_params: bool = True) -> int:
        ident = next(self._ids)
        message: Message = {"id": ident, "method": method}
        if with_params:
            message["params"] = params
        self.send(message)
        return ident

    def request(self, method: str, params: Any = None, timeout_s: float = 60.0) -> Any:
        return self.wait_response(self.request_async(method, params), timeout_s).message.get("result")

    def request_raw(self, method: str, params: Any = None, timeout_s: float = 60.0, *,
                    with_params: bool = True) -> Message:
        """The whole response message, `error` included."""
        ident = self.request_async(method, params, with_params=with_params)
        return self.wait_answer(ident, timeout_s)

    # --- receiving -------------------------------------------------------------------------------

    def wait_response(self, ident: int, timeout_s: float = 60.0) -> Received:
        got = self.wait_for(lambda m: "id" in m and m["id"] == ident and "method" not in m, timeout_s)
        if "error" in got.message:
            raise LspError(f"request {ident} failed: {got.message['error']}")
        return got

    def wait_answer(self, ident: int | str | None, timeout_s: float = 60.0) -> Message:
        """The response to `ident` (also an error response, also to an id the client did not choose)."""
        return self.wait_for(lambda m: "id" in m and m["id"] == ident and "method" not in m, timeout_s).message

    def wait_until(self, condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
        """Block until `condition()` holds, re-tested on every message; a hang detector, not a timing check."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not condition():
                if not self._reader.is_alive():
                    raise ServerGone(f"server exited ({self.proc.poll()}) while waiting for {what}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"gave up waiting for {what}")
                self._cond.wait(min(remaining, 0.5))

    def notifications(self, method: str | None = None) -> list[Message]:
        with self._cond:
            return [r.message for r in self._received if "id" not in r.message
                    and (method is None or r.message.get("method") == method)]

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
                    raise ServerGone(f"server exited ({self.proc.poll()}): {self.stderr_tail()}")
                if remaining <= 0:
                    raise TimeoutError(f"no matching message within {timeout_s} s")
                self._cond.wait(min(remaining, 0.5))

    def stderr_tail(self, limit: int = 300) -> str:
        if self._stderr_path is None:
            lines = b"".join(self.stderr_lines).decode(errors="replace").strip().splitlines()
        else:
            try:
                lines = self._stderr_path.read_text(errors="replace").strip().splitlines()
            except OSError:
                return "no stderr"
        return (lines[-1] if lines else "no stderr")[:limit]

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

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
            try:
                message = read_message(stream)
            except (LspError, ValueError, OSError):
                break
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
        if message["method"] in self.hold:
            with self._cond:
                self.held.append(message)
            return
        with contextlib.suppress(OSError, ValueError, LspError):
            self.send({"id": message["id"], "result": self.answer_to(message)})

    def answer_to(self, request: Message) -> Any:
        """What a quiet editor answers to a server-to-client request (servers may block on them)."""
        method = request["method"]
        if method == "workspace/configuration":
            return [None for _ in request.get("params", {}).get("items", [])]
        if method == "workspace/workspaceFolders":
            return []
        return None


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
