"""Open, edited, saved and closed store buffers, and pulled diagnostics for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from astra_ls.config import ConfigError
from astra_ls.lsp.buffer import TextBuffer
from astra_ls.lsp.documents import OpenDocument
from astra_ls.lsp.protocol import AstraProtocol
from astra_ls.projections.replay import Replayer
from astra_ls.store.follow import read_range

if TYPE_CHECKING:
    from astra_ls.lsp.server import AstraServer


class TextSync:
    def __init__(self, server: AstraServer) -> None:
        self.server = server

    def _new_document(self, uri: str, version: int, buffer: TextBuffer) -> OpenDocument | None:
        located = self.server.workspaces.locate_uri(uri)
        if located is None:
            return None
        try:
            setup = located.store.setup(located.stream)
        except ConfigError as error:
            self.server.log(f"{uri}: {error}", lsp.MessageType.Error)
            return None
        return OpenDocument(uri, located, setup.rules, Replayer(setup.projector), version, False, buffer)

    def opened(self, params: lsp.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        doc = self._new_document(item.uri, item.version, TextBuffer(item.text))
        if doc is None:
            return
        self.server.documents.open(doc)
        self.server.checks.schedule(doc.uri, delay=0)
        self.server.checks.pool.submit(self._compare_with_disk, doc, doc.buffer.data, item.version)
        if self.server.checks.pull:
            # Pulled and pushed diagnostics would both show: drop what was pushed while it was closed.
            self.server.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(doc.uri, []))

    @staticmethod
    def _compare_with_disk(doc: OpenDocument, data: bytes, version: int) -> None:
        """An editor may open a buffer that already differs from the disk (a restored session)."""
        try:
            differs = read_range(doc.located.path, 0, len(data) + 1) != data
        except OSError:
            differs = True
        if doc.version == version:  # an edit meanwhile has made it dirty anyway
            doc.dirty = doc.dirty or differs

    def changed(self, params: lsp.DidChangeTextDocumentParams) -> None:
        doc = self.server.documents.get(params.text_document.uri)
        if doc is None:
            return
        doc.note_changes(list(params.content_changes))
        doc.version = params.text_document.version
        doc.dirty = True
        self.server.checks.schedule(doc.uri)

    async def saved(self, params: lsp.DidSaveTextDocumentParams) -> None:
        doc = self.server.documents.get(params.text_document.uri)
        if doc is None:
            return
        doc.dirty = False
        await self.server.checks.check_disk(doc.located)

    async def closed(self, params: lsp.DidCloseTextDocumentParams) -> None:
        doc = self.server.documents.close(params.text_document.uri)
        if doc is None:
            return
        self.server.checks.forget(doc.uri)
        # Closed, the store is the disk's again: re-check it from there.
        await self.server.checks.check_disk(doc.located, announce=False)

    def rebind(self, uri: str) -> None:
        """After a settings change: the buffer is re-checked with the store's new rules."""
        old = self.server.documents.close(uri)
        if old is None:
            return
        doc = self._new_document(uri, old.version, old.buffer)
        if doc is None:
            return
        doc.dirty = old.dirty
        self.server.documents.open(doc)
        self.server.checks.schedule(uri, delay=0)

    async def pull(self, params: lsp.DocumentDiagnosticParams) -> lsp.DocumentDiagnosticReport:
        uri = params.text_document.uri
        if self.server.documents.get(uri) is not None:
            await self.server.checks.settled(uri)
        return self.server.checks.reports.report(uri, params.previous_result_id)


def register(server: AstraServer) -> None:
    sync = server.text_sync
    if isinstance(server.protocol, AstraProtocol):  # store buffers are the server's, not pygls's workspace's
        server.protocol.holds_text = lambda uri: server.documents.get(uri) is not None

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def opened(params: lsp.DidOpenTextDocumentParams) -> None:
        sync.opened(params)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def changed(params: lsp.DidChangeTextDocumentParams) -> None:
        sync.changed(params)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    async def saved(params: lsp.DidSaveTextDocumentParams) -> None:
        await sync.saved(params)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    async def closed(params: lsp.DidCloseTextDocumentParams) -> None:
        await sync.closed(params)

    @server.feature(lsp.TEXT_DOCUMENT_DIAGNOSTIC,
                    lsp.DiagnosticOptions(inter_file_dependencies=False, workspace_diagnostics=False,
                                          identifier="astra"))
    async def pull(params: lsp.DocumentDiagnosticParams) -> lsp.DocumentDiagnosticReport:
        return await sync.pull(params)
