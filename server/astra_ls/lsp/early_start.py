"""The client's `initialize` request, read before the language-server library is loaded.

Loading the LSP library takes about a second; knowing the workspace folders first lets the stores be
scanned meanwhile (see `prescan`). Light on imports: it runs before the heavy ones. The bytes read
are handed back to the server unchanged, ahead of the rest of stdin.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

MAX_HEADER_LINES = 16
MAX_BODY_BYTES = 16 * 1024 * 1024

_server_stdin: BinaryIO | None = None  # what the server reads instead of sys.stdin, once `begin` ran


@dataclass(frozen=True, slots=True)
class FirstMessage:
    raw: bytes  # exactly the bytes read from the stream
    params: dict[str, Any] | None  # the params of an `initialize` request, else None
    id: int | str | None = None  # the id of that request


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """What the client's `initializationOptions` say (read by the server and by the scan made ahead)."""

    trusted: bool | None  # None: something other than true or false (treated as untrusted)
    cache_dir: str | None  # `cacheDir`: where the editor keeps this extension's files
    index_cache: bool  # `indexCache: false` turns the index cache off
    settings: dict[str, Any]  # the `astra` settings, as the client would answer a pull of them; {} if none


def client_options(options: Any) -> ClientOptions:
    fields = options if isinstance(options, dict) else {}
    folder, settings = fields.get("cacheDir"), fields.get("settings")
    return ClientOptions(_trusted(options), folder if isinstance(folder, str) and folder else None,
                         fields.get("indexCache", True) is not False, settings if isinstance(settings, dict) else {})


def _trusted(options: Any) -> bool | None:
    """The client's word on workspace trust; None when it said something that is not a yes or no."""
    if options is None:
        return False
    if not isinstance(options, dict):
        return None
    value = options.get("trusted", False)
    return value if isinstance(value, bool) else None


def begin() -> None:
    """Read the client's first message and start scanning the folders it names (when it is
    `initialize`); the server then reads that message again from `server_stdin`."""
    global _server_stdin
    stdin = sys.stdin.buffer
    if stdin.isatty():
        return
    first = read_first_message(stdin)
    prefix = first.raw
    if first.params is not None:
        from astra_ls.lsp.early_answer import answer_early

        prefix = answer_early(first, sys.stdout.buffer)  # before the engine's imports: they take a while
        from astra_ls.lsp.prescan import start_prescan

        start_prescan(first.params)
    _server_stdin = cast(BinaryIO, PrefixedStream(prefix, stdin))  # the server's reader needs readline and read


def server_stdin() -> BinaryIO | None:
    return _server_stdin


def read_first_message(stream: BinaryIO) -> FirstMessage:
    """One framed message; anything unexpected (no Content-Length, a body that is not an initialize
    request) is kept as read and left for the server to judge."""
    raw, length = b"", None
    for _ in range(MAX_HEADER_LINES):
        line = stream.readline()
        raw += line
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = int(value.strip())
    else:
        return FirstMessage(raw, None)
    if length is None or not raw.endswith(b"\n") or length > MAX_BODY_BYTES:
        return FirstMessage(raw, None)
    body = stream.read(length)
    message = _initialize_request(body)
    if message is None:
        return FirstMessage(raw + body, None)
    return FirstMessage(raw + body, message["params"], message.get("id"))


def _initialize_request(body: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("method") != "initialize":
        return None
    return message if isinstance(message.get("params"), dict) else None


class PrefixedStream:
    """`stream` with `prefix` put back in front: what the server's reader reads (readline and read)."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def readline(self) -> bytes:
        if not self._prefix:
            return self._stream.readline()
        cut = self._prefix.find(b"\n") + 1
        if cut:
            line, self._prefix = self._prefix[:cut], self._prefix[cut:]
            return line
        line, self._prefix = self._prefix, b""
        return line + self._stream.readline()

    def read(self, size: int = -1) -> bytes:
        if not self._prefix:
            return self._stream.read(size)
        if size < 0:
            data, self._prefix = self._prefix, b""
            return data + self._stream.read()
        data, self._prefix = self._prefix[:size], self._prefix[size:]
        return data + (self._stream.read(size - len(data)) if len(data) < size else b"")
