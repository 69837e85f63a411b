"""The connection to the client: pygls's server, and what features send through it.

Features never hold this object: each is handed the narrow interface of lsp/client.py it needs, which
this class implements. Which features exist and what each is given is lsp/server.py's business.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from astra_ls import __version__
from astra_ls.lsp.diagnostics import Converted, publish_params_json
from astra_ls.lsp.protocol import AstraProtocol


class AstraServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("astra-ls", __version__, protocol_cls=AstraProtocol)

    def log(self, message: str, level: lsp.MessageType = lsp.MessageType.Info) -> None:
        """A line in the client's output panel (never a pop-up)."""
        try:
            self.window_log_message(lsp.LogMessageParams(level, message))
        except Exception as error:  # no client to tell (e.g. while shutting down): stderr is all there is
            # not through `logging`: its records come here, and would come back
            print(f"astra-ls: could not log to the client ({error!r}): {message}", file=sys.stderr)

    def publish_diagnostics(self, uri: str, diagnostics: list[lsp.Diagnostic]) -> None:
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, diagnostics))

    def publish_converted(self, uri: str, converted: list[Converted]) -> None:
        """Diagnostics serialised once (see diagnostics.DiagnosticCache), sent as the JSON text they are."""
        if isinstance(protocol := self.protocol, AstraProtocol):
            protocol.notify_json(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, publish_params_json(uri, converted))
        else:
            self.publish_diagnostics(uri, [c.diagnostic for c in converted])

    def refresh_diagnostics(self) -> None:
        self.workspace_diagnostic_refresh(None)

    def notify(self, method: str, payload: dict[str, Any]) -> None:
        self.protocol.notify(method, payload)

    def cancel_requests(self) -> None:
        if isinstance(self.protocol, AstraProtocol):
            self.protocol.cancel_requests()

    def keep_text(self, held: Callable[[str], bool]) -> None:
        """The documents (by URI) whose text the server keeps itself, out of pygls's workspace (protocol.py)."""
        if isinstance(self.protocol, AstraProtocol):
            self.protocol.holds_text = held

    @property
    def shut_down(self) -> bool:
        """Whether the client asked for `shutdown` (the exit code says whether it did)."""
        return isinstance(self.protocol, AstraProtocol) and self.protocol.shutting_down

    def report_server_error(self, error: Exception, source: Any) -> None:
        if isinstance(self.protocol, AstraProtocol) and self.protocol.answer_parse_error(error):
            return
        # A failing handler must not take the server down or pester the user with pop-ups: the request
        # already carries the error; the details go to the output panel.
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__)).strip()
        self.log(f"{getattr(source, '__name__', source)}: {details}", lsp.MessageType.Error)
