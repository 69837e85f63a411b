"""The language server put together: each feature is built with what it declares it needs, then
registers its own handlers; `serve()` runs it over stdio.

Nothing here is looked up at run time: the collaborators are created once, in dependency order, and
handed over through the features' constructors (typed), so what a feature may touch is its signature.
"""

from __future__ import annotations

from typing import Protocol

from pygls.lsp.server import LanguageServer

from astra_ls.lsp.checks import Checks
from astra_ls.lsp.client_watch import end_now
from astra_ls.lsp.code_actions import CodeActions
from astra_ls.lsp.code_lens import CodeLenses
from astra_ls.lsp.commands import Commands
from astra_ls.lsp.completion import Completions
from astra_ls.lsp.config_diagnostics import ConfigDiagnostics
from astra_ls.lsp.connection import AstraServer
from astra_ls.lsp.documents import OpenDocuments
from astra_ls.lsp.hover import Hovers
from astra_ls.lsp.inlay_hints import InlayHints
from astra_ls.lsp.lifecycle import Lifecycle
from astra_ls.lsp.navigation import Navigation
from astra_ls.lsp.remote import RemoteStores
from astra_ls.lsp.symbols import Symbols
from astra_ls.lsp.text_sync import TextSync
from astra_ls.lsp.views import StoreViews
from astra_ls.lsp.warmup import CheckpointWarmer
from astra_ls.lsp.watching import StoreWatcher
from astra_ls.lsp.workers import Workers
from astra_ls.lsp.workspace_state import Workspaces


class Feature(Protocol):
    """An editor feature: it owns its state, and registers the handlers that answer for it."""

    def register(self, server: LanguageServer) -> None: ...


def build() -> AstraServer:
    server = AstraServer()  # the connection: every feature's narrow way to the client (lsp/client.py)
    workspaces = Workspaces()
    documents = OpenDocuments()
    workers = Workers()
    warmer = CheckpointWarmer(workspaces, server, server)
    checks = Checks(workspaces, documents, workers, warmer, server, server)
    remote = RemoteStores(workspaces, checks, workers, server)
    text_sync = TextSync(documents, workspaces, checks, workers, server)
    # A changed configuration file reloads everything, and a reload re-registers the watchers: the
    # watcher is handed the lifecycle's reload, which is built after it.
    watcher = StoreWatcher(workspaces, checks, workers, server, reload=lambda: lifecycle.reload())
    lifecycle = Lifecycle(server, workspaces, workers, checks, remote, text_sync, watcher, warmer,
                          ConfigDiagnostics(workspaces, workers, server))
    views = StoreViews(documents, workspaces, checks, workers)
    server.keep_text(text_sync.holds)  # store buffers are the server's, not pygls's workspace's
    features: list[Feature] = [
        lifecycle, watcher, text_sync, Commands(workspaces, documents, checks, workers, remote),
        Hovers(views, warmer), CodeActions(views), Completions(views), CodeLenses(views, workspaces, checks.counts),
        InlayHints(views), Symbols(views), Navigation(views), remote,
    ]
    for feature in features:
        feature.register(server)
    return server


def serve() -> None:
    """LSP over stdio until the client says exit, closes stdin or dies (see client_watch.py); then the
    process ends at once, whatever checks are still running."""
    server = build()
    server.start_io()
    end_now(0 if server.shut_down else 1)
