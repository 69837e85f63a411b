"""The language server: construction and `serve()`. Each editor feature lives in its own module."""

from __future__ import annotations

import sys
import traceback
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from astra_ls import __version__
from astra_ls.lsp.checks import Checks
from astra_ls.lsp.client_watch import end_now
from astra_ls.lsp.documents import OpenDocuments
from astra_ls.lsp.lifecycle import Lifecycle
from astra_ls.lsp.protocol import AstraProtocol
from astra_ls.lsp.remote import RemoteStores
from astra_ls.lsp.text_sync import TextSync
from astra_ls.lsp.warmup import CheckpointWarmer
from astra_ls.lsp.watching import StoreWatcher
from astra_ls.lsp.workspace_state import Workspaces


class AstraServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("astra-ls", __version__, protocol_cls=AstraProtocol)
        self.workspaces = Workspaces()
        self.documents = OpenDocuments()
        self.checks = Checks(self)
        self.lifecycle = Lifecycle(self)
        self.watcher = StoreWatcher(self)
        self.text_sync = TextSync(self)
        self.remote = RemoteStores(self)
        self.warmer = CheckpointWarmer(self)

    def log(self, message: str, level: lsp.MessageType = lsp.MessageType.Info) -> None:
        """A line in the client's output panel (never a pop-up)."""
        try:
            self.window_log_message(lsp.LogMessageParams(level, message))
        except Exception as error:  # no client to tell (e.g. while shutting down): stderr is all there is
            # not through `logging`: its records come here, and would come back
            print(f"astra-ls: could not log to the client ({error!r}): {message}", file=sys.stderr)

    def report_server_error(self, error: Exception, source: Any) -> None:
        if isinstance(self.protocol, AstraProtocol) and self.protocol.answer_parse_error(error):
            return
        # A failing handler must not take the server down or pester the user with pop-ups: the request
        # already carries the error; the details go to the output panel.
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__)).strip()
        self.log(f"{getattr(source, '__name__', source)}: {details}", lsp.MessageType.Error)


def build() -> AstraServer:
    from astra_ls.lsp import (
        code_actions,
        code_lens,
        commands,
        completion,
        hover,
        inlay_hints,
        lifecycle,
        navigation,
        remote,
        symbols,
        text_sync,
        watching,
    )


    server = AstraServer()
    for feature in (lifecycle, watching, text_sync, commands, hover, code_actions, completion, code_lens,
                    inlay_hints, symbols, navigation, remote):
        feature.register(server)
    return server


def serve() -> None:
    """LSP over stdio until the client says exit, closes stdin or dies (see client_watch.py); then the
    process ends at once, whatever checks are still running."""
    server = build()
    server.start_io()
    end_now(0 if server.lifecycle.shut_down else 1)
