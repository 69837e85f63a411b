"""Answer `initialize`, and publish the diagnostics saved for the workspace, before the language-server
library is loaded.

Loading pygls and lsprotocol takes about a second. The InitializeResult pygls sends depends only on
the client's initialize params (its capabilities and options) and on the installed code, so after a
normal start the result pygls actually sent is saved, keyed by both; a later start with the same key
sends it at once. pygls is still given the same request, under a private id, and its answer to that
id is dropped on the way out (`OutputFilter`), so its own state is set up exactly as usual; everything
else goes in and out untouched and in order. Once the answer is out, LSP allows notifications: the
diagnostics saved for the workspace's stores are published again where everything they were computed
from still holds (see `diagnostics_snapshot`). The server, once loaded, checks and publishes as usual.
Light on imports: it runs before the heavy ones.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from astra_ls.hashseed import cache_enabled, cache_root
from astra_ls.lsp.early_start import FirstMessage, client_options
from astra_ls.lsp.prescan import workspace_folders
from astra_ls.store.cache_files import evict, lies_within, write_cache_file
from astra_ls.store.diagnostics_snapshot import (
    SNAPSHOT_FOLDER,
    Context,
    canonical,
    install_key,
    make_context,
    valid_payloads,
)
from astra_ls.store.fingerprint import digest

PRIVATE_ID = "astra-ls/early-initialize"  # the id pygls's own initialize request carries
RESULT_FORMAT = 1
MAX_RESULTS, MAX_RESULTS_BYTES = 32, 16 << 20
# pygls builds only its workspace from these; its result depends on the rest of the params
NOT_IN_KEY = ("processId", "rootUri", "rootPath", "workspaceFolders")
HEADER_END = b"\r\n\r\n"
CONTENT_TYPE = b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"


@dataclass(frozen=True, slots=True)
class Plan:
    """What happens to pygls's answer to initialize: `sent` None means it goes to the client (and is
    saved at `saved_at`); otherwise the client already has `sent` and pygls's answer is dropped."""

    watch_id: int | str
    saved_at: Path
    sent: Any = None


_plan: Plan | None = None


def answer_early(first: FirstMessage, out: BinaryIO) -> bytes:
    """Send the saved answer to this initialize request (and the saved diagnostics) when there is one;
    returns what pygls is to read first: the request as read, or the same request under the private id."""
    global _plan
    try:
        plan, early = _prepare(first)
    except Exception:  # whatever went wrong, pygls answers as it always did
        return first.raw
    _plan = plan
    if not early:
        return first.raw
    out.write(b"".join(early))
    out.flush()
    return framed({"jsonrpc": "2.0", "id": PRIVATE_ID, "method": "initialize", "params": first.params})


def _prepare(first: FirstMessage) -> tuple[Plan | None, list[bytes]]:
    """The output filter's plan and the frames to send now (none: no saved answer)."""
    params, request_id = first.params, first.id
    if params is None or not isinstance(request_id, int | str) or isinstance(request_id, bool):
        return None, []
    folder = cache_folder(params)
    key = initialize_key(params) if folder is not None else None
    if folder is None or key is None:
        return None, []
    saved_at = folder / "initialize" / f"{key}.json"
    result = load_result(saved_at, key)
    if result is None:
        return Plan(request_id, saved_at), []
    early = [framed({"jsonrpc": "2.0", "id": request_id, "result": result})]
    context = snapshot_context(params)
    for payload in valid_payloads(folder / SNAPSHOT_FOLDER, context) if context is not None else ():
        early.append(framed_raw(b'{"jsonrpc":"2.0","method":"textDocument/publishDiagnostics","params":'
                                + payload + b"}"))
    return Plan(PRIVATE_ID, saved_at, result), early


def server_stdout() -> BinaryIO | None:
    """What pygls writes to instead of stdout: a filter, when `answer_early` planned one."""
    return OutputFilter(sys.stdout.buffer, _plan) if _plan is not None else None  # type: ignore[return-value]


def cache_folder(params: dict[str, Any]) -> Path | None:
    """The cache folder for these params; None when caching is off or the folder lies inside a
    workspace folder (which the server never writes to)."""
    options = client_options(params.get("initializationOptions"))
    if not (options.index_cache and cache_enabled()):
        return None
    folder = cache_root(options.cache_dir)
    try:
        return None if lies_within(folder, workspace_folders(params)) else folder
    except (OSError, RuntimeError):
        return None


def initialize_key(params: dict[str, Any]) -> str | None:
    kept = {name: value for name, value in params.items() if name not in NOT_IN_KEY}
    try:
        return digest(canonical([install_key(), kept]))
    except (TypeError, ValueError, OSError):
        return None


def snapshot_context(params: dict[str, Any]) -> Context | None:
    """The context the server's diagnostics will have, as far as the params tell: the settings the client
    sent with them (none sent: the defaults, as the bench client and editors without settings have)."""
    options = params.get("initializationOptions")
    settings = options.get("settings", {}) if isinstance(options, dict) else {}
    if not isinstance(settings, dict):
        return None
    trusted = client_options(options).trusted is True
    return make_context([folder.absolute() for folder in workspace_folders(params)], settings, trusted)


# --- the saved results -------------------------------------------------------------------------------


def load_result(path: Path, key: str) -> Any:
    try:
        saved = json.loads(path.read_bytes())
        if saved.get("format") != RESULT_FORMAT or saved.get("key") != key or not isinstance(saved["result"], dict):
            return None
        os.utime(path)  # recently used: evicted last
        return saved["result"]
    except Exception:  # a damaged or unreadable file is no saved result
        return None


def save_result(path: Path, key: str, result: Any) -> None:
    try:
        write_cache_file(path, [canonical({"format": RESULT_FORMAT, "key": key, "result": result})])
        evict(path.parent, ".json", MAX_RESULTS, MAX_RESULTS_BYTES)
    except (OSError, TypeError, ValueError):  # no saved result: the next start answers the usual way
        pass


def framed(message: dict[str, Any]) -> bytes:
    return framed_raw(json.dumps(message, separators=(",", ":")).encode())


def framed_raw(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n" % len(body) + CONTENT_TYPE + b"\r\n" + body


# --- pygls's output ----------------------------------------------------------------------------------


class OutputFilter:
    """pygls's stdout: messages pass in order; its answer to initialize is saved, or dropped when the
    client already has one. Frames are parsed only until that answer went by."""

    def __init__(self, out: BinaryIO, plan: Plan) -> None:
        self._out = out
        self._plan: Plan | None = plan
        self._pending = b""
        self._lock = threading.Lock()

    def write(self, data: bytes) -> int:
        with self._lock:
            if self._plan is None:
                self._out.write(data)
                return len(data)
            self._pending += data
            while self._plan is not None and (message := self._take()) is not None:
                if not self._answered(message[1]):
                    self._out.write(message[0] + message[1])
            if self._plan is None and self._pending:  # done watching: the rest passes as it is
                self._out.write(self._pending)
                self._pending = b""
            return len(data)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        self._out.close()

    def _take(self) -> tuple[bytes, bytes] | None:
        """The next whole frame (header, body) from the pending bytes; a frame without a length ends
        the watch (it is passed on as it is)."""
        end = self._pending.find(HEADER_END)
        if end < 0:
            return None
        length = None
        for line in self._pending[:end].split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                length = int(value.strip())
        if length is None:
            self._plan = None
            return None
        start = end + len(HEADER_END)
        if len(self._pending) < start + length:
            return None
        frame = self._pending[:start], self._pending[start:start + length]
        self._pending = self._pending[start + length:]
        return frame

    def _answered(self, body: bytes) -> bool:
        """Note pygls's answer to initialize when this is it; True when the client must not get it."""
        plan = self._plan
        assert plan is not None
        with contextlib.suppress(ValueError):
            message = json.loads(body)
            if isinstance(message, dict) and message.get("id") == plan.watch_id and "method" not in message:
                self._plan = None
                with contextlib.suppress(Exception):  # saving is a bonus: the output must go on regardless
                    self._settle(plan, message.get("result"), "error" in message)
                return plan.sent is not None
        return False

    @staticmethod
    def _settle(plan: Plan, result: Any, failed: bool) -> None:
        key = plan.saved_at.stem
        if failed:
            if plan.sent is not None:
                with contextlib.suppress(OSError):
                    plan.saved_at.unlink(missing_ok=True)
        elif result != plan.sent:
            if plan.sent is not None:  # the key missed something the answer depends on: save the true one
                print("astra-ls: the saved answer to initialize differed from the server's; replaced",
                      file=sys.stderr)
            save_result(plan.saved_at, key, result)
