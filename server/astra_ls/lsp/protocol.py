"""JSON-RPC edge cases pygls gets wrong: every request gets an answer, as LSP requires, and a late
answer to a request the server gave up on is dropped quietly.

pygls logs a request whose params do not fit the method's shape and never responds, and ignores
requests after `shutdown`; a client would wait forever. Here the first gets InvalidParams (-32602),
the second InvalidRequest (-32600), and an unparsable body a Parse error (-32700, id null).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lsprotocol.types import EXIT, ResponseError, TextDocumentContentChangeEvent
from pygls.exceptions import JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol
from pygls.workspace import TextDocument, Workspace

INVALID_REQUEST, INVALID_PARAMS, PARSE_ERROR = -32600, -32602, -32700


@dataclass(frozen=True, slots=True)
class UnfitRequest:
    """A request that could not be structured; answered with InvalidParams instead of handled."""

    id: int | str
    method: str
    reason: str
    jsonrpc: str = "2.0"


# LSP's line breaks are \r\n, \n and \r only; str.splitlines (which pygls uses) also breaks on U+2028,
# U+2029, U+0085 and a few control characters, all legal inside JSON strings.
_LSP_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class LspLinesDocument(TextDocument):
    # Set for documents the server keeps its own buffer of (open stores): changes are applied there
    # once, not also here, where each one would rebuild the whole text.
    backing: Callable[[], str] | None = None

    def apply_change(self, change: TextDocumentContentChangeEvent) -> None:
        if self.backing is None:
            super().apply_change(change)

    @property
    def source(self) -> str:
        return self.backing() if self.backing is not None else super().source

    def back_with(self, backing: Callable[[], str] | None) -> None:
        if backing is not None:
            self._source = None  # the backing holds the text; no second copy
        elif self.backing is not None:
            self._source = self.backing()
        self.backing = backing

    @property
    def lines(self) -> tuple[str, ...]:
        source = self.source
        lines = source.splitlines(True)
        breaks = source.count("\n") + source.count("\r") - source.count("\r\n")
        if len(lines) == breaks + (0 if not lines or lines[-1][-1:] in "\r\n" else 1):
            return tuple(lines)  # only LSP's own line breaks: C-speed splitting gives the same lines
        return tuple(_LSP_LINE.findall(source))


class LspLinesWorkspace(Workspace):
    def _create_text_document(self, doc_uri: str, source: str | None = None, version: int | None = None,
                              language_id: str | None = None) -> TextDocument:
        return LspLinesDocument(doc_uri, source=source, version=version, language_id=language_id,
                                sync_kind=self._sync_kind, position_codec=self._position_codec)


class AstraProtocol(LanguageServerProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writes: set[asyncio.Future[Any]] = set()

    @property
    def _workspace(self) -> Workspace | None:
        return self.__dict__.get("_lsp_workspace")

    @_workspace.setter
    def _workspace(self, value: Workspace | None) -> None:
        # pygls builds its Workspace inside `initialize`; give it documents that split lines as LSP does
        if value is not None and type(value) is Workspace:
            value.__class__ = LspLinesWorkspace
        self.__dict__["_lsp_workspace"] = value

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcInvalidParams as error:
            if "id" in data and isinstance(data.get("method"), str):
                reason = str(error.__cause__ or error).splitlines()[0]
                return UnfitRequest(data["id"], data["method"], reason)
            raise

    def handle_message(self, message: Any) -> None:
        if isinstance(message, UnfitRequest):
            text = f"{message.method}: the params do not have the shape the method takes ({message.reason})"
            self._send_response(message.id, error=ResponseError(INVALID_PARAMS, text))
            return
        is_request = getattr(message, "method", None) is not None and getattr(message, "id", None) is not None
        if self._shutdown and is_request and message.method != EXIT:
            text = f"{message.method}: the server is shutting down and takes no more requests"
            self._send_response(message.id, error=ResponseError(INVALID_REQUEST, text))
            return
        super().handle_message(message)

    def cancel_requests(self) -> None:
        """Cancel every request still being handled but the current one (`shutdown`). pygls does the same
        after the shutdown handler, but iterates its live table of futures while cancelling them, and a
        cancelled future's callback removes itself from it: a RuntimeError instead of an answer."""
        current = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current and not future.done():
                future.cancel()

    def _handle_response(self, msg_id: Any, result: Any | None = None, error: ResponseError | None = None) -> None:
        # The client's answer to a request of ours that we stopped waiting for (a settings reload cancels
        # the running scan, and with it its pending progress request): nothing to deliver, not an error.
        future = self._request_futures.get(msg_id)
        if future is not None and future.cancelled():
            self._request_futures.pop(msg_id, None)
            return
        super()._handle_response(msg_id, result, error)

    def notify_json(self, method: str, params: str) -> None:
        """Send a notification whose params are JSON text already (joined from pieces the caller keeps),
        sparing the per-message conversion of every object in them."""
        if self.writer is None:
            return
        body = f'{{"jsonrpc":"2.0","method":{json.dumps(method)},"params":{params}}}'.encode(self.CHARSET)
        header = f"Content-Length: {len(body)}\r\nContent-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
        written = self.writer.write((header.encode(self.CHARSET) if self._include_headers else b"") + body)
        if inspect.isawaitable(written):  # a websocket transport
            task = asyncio.ensure_future(written)
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    def answer_parse_error(self, error: Exception) -> bool:
        """Answer a body that is not JSON (the reader hands such errors to the server's error handler)."""
        if not isinstance(error, json.JSONDecodeError):
            return False
        # sent as a plain dict: the typed message would drop the null id, which JSON-RPC requires here
        self._send_data({"jsonrpc": "2.0", "id": None,
                         "error": {"code": PARSE_ERROR, "message": f"the message body is not JSON: {error}"}})
        return True


