"""JSON-RPC edge cases pygls leaves open, and store documents kept out of pygls's workspace.

Every request gets an answer, as LSP requires: pygls logs a request whose params do not fit the method's
shape and never responds, and ignores requests after `shutdown`; a client would wait forever. Here the
first gets InvalidParams (-32602), the second InvalidRequest (-32600), and an unparsable body a Parse
error (-32700, id null). A late answer to a request the server gave up on is dropped quietly.

Store documents are buffered by the server itself (lsp/buffer.py): pygls's workspace would keep a second
copy, rebuild its whole text on every incremental edit and split lines on more characters than LSP does
(str.splitlines breaks on U+2028, legal inside JSON strings). So the document notifications leave such
documents out of the workspace and hand the notification straight to the server's handler.

Only pygls's public surface is used: `protocol_cls`, the overridable `structure_message`/`handle_message`
/`set_writer`, the built-in `lsp_*` handlers with their (handler, args, kwargs) yield, `writer` and `fm`.
tests/lsp/test_pygls_contract.py checks each assumption against the installed pygls (pinned in
pyproject.toml).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

if TYPE_CHECKING:
    from pygls.io_ import AsyncWriter, Writer

INVALID_REQUEST, INVALID_PARAMS, PARSE_ERROR = -32600, -32602, -32700

# What a built-in handler yields for pygls to run the server's own handler: (handler, args, kwargs).
HandlerCall = Generator[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any] | None], Any, None]


@dataclass(frozen=True, slots=True)
class UnfitRequest:
    """A request that could not be structured; answered with InvalidParams instead of handled."""

    id: int | str
    method: str
    reason: str
    jsonrpc: str = "2.0"


class AstraProtocol(LanguageServerProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writes: set[asyncio.Future[Any]] = set()
        self._framed = True  # Content-Length headers (stdio, TCP); a websocket sends bare bodies
        self.shutting_down = False
        # Whether the server keeps `uri`'s text itself (set by the text-sync feature).
        self.holds_text: Callable[[str], bool] = lambda uri: False

    # --- writing --------------------------------------------------------------------------------------

    def set_writer(self, writer: AsyncWriter | Writer, include_headers: bool = True) -> None:
        super().set_writer(writer, include_headers)
        self._framed = include_headers

    def send_json(self, body: str) -> None:
        """Send one JSON-RPC message given as JSON text, framed as the transport wants."""
        if self.writer is None:
            return
        data = body.encode(self.CHARSET)
        if self._framed:
            header = f"Content-Length: {len(data)}\r\nContent-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
            data = header.encode(self.CHARSET) + data
        written = self.writer.write(data)
        if inspect.isawaitable(written):  # a websocket transport
            task = asyncio.ensure_future(written)
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    def notify_json(self, method: str, params: str) -> None:
        """Send a notification whose params are JSON text already (joined from pieces the caller keeps),
        sparing the per-message conversion of every object in them."""
        self.send_json(f'{{"jsonrpc":"2.0","method":{json.dumps(method)},"params":{params}}}')

    def send_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        self.send_json(json.dumps({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}))

    # --- reading --------------------------------------------------------------------------------------

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
            self.send_error(message.id, INVALID_PARAMS, text)
            return
        method = getattr(message, "method", None)
        is_request = method is not None and getattr(message, "id", None) is not None
        if self.shutting_down and is_request and method != lsp.EXIT:
            self.send_error(message.id, INVALID_REQUEST,
                            f"{method}: the server is shutting down and takes no more requests")
            return
        try:
            super().handle_message(message)
        except (asyncio.InvalidStateError, concurrent.futures.InvalidStateError):
            # The client's answer to a request of ours that we stopped waiting for (a settings reload
            # cancels the running scan, and with it its pending progress request): nothing to deliver.
            if method is not None:
                raise

    def cancel_requests(self) -> None:
        """Cancel every request still being handled but the current one (`shutdown`). pygls does the same
        after the shutdown handler, but iterates its live table of futures while cancelling them, and a
        cancelled future's callback removes itself from it: a RuntimeError instead of an answer."""
        current = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current and not future.done():
                future.cancel()

    def answer_parse_error(self, error: Exception) -> bool:
        """Answer a body that is not JSON (the reader hands such errors to the server's error handler)."""
        if not isinstance(error, json.JSONDecodeError):
            return False
        self.send_error(None, PARSE_ERROR, f"the message body is not JSON: {error}")  # JSON-RPC wants id null
        return True

    @lsp_method(lsp.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        self.shutting_down = True
        yield from super().lsp_shutdown(*args)

    # --- store documents stay out of pygls's workspace ------------------------------------------------

    def _server_handler(self, method: str, params: Any) -> HandlerCall:
        handler = self.fm.features.get(method)
        if handler is not None:
            yield handler, (params,), None

    @lsp_method(lsp.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: lsp.DidOpenTextDocumentParams) -> HandlerCall:
        yield from self._server_handler(lsp.TEXT_DOCUMENT_DID_OPEN, params)
        if not self.holds_text(params.text_document.uri):
            self.workspace.put_text_document(params.text_document)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: lsp.DidChangeTextDocumentParams) -> HandlerCall:
        if unquote(params.text_document.uri) in self.workspace.text_documents:
            for change in params.content_changes:
                self.workspace.update_text_document(params.text_document, change)
        yield from self._server_handler(lsp.TEXT_DOCUMENT_DID_CHANGE, params)
