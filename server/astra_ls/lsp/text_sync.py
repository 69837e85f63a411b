"""Open, edited, saved and closed store buffers, and pulled diagnostics for them."""

from __future__ import annotations

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from astra_ls.config import ConfigError
from astra_ls.lsp.buffer import TextBuffer
from astra_ls.lsp.checks import Checks
from astra_ls.lsp.client import DiagnosticsClient
from astra_ls.lsp.documents import OpenDocument, OpenDocuments
from astra_ls.lsp.workers import Workers
from astra_ls.lsp.workspace_state import Workspaces
from astra_ls.projections.replay import Replayer
from astra_ls.store.follow import read_range


class TextSync:
    def __init__(self, documents: OpenDocuments, workspaces: Workspaces, checks: Checks, workers: Workers,
                 client: DiagnosticsClient) -> None:
        self._documents = documents
        self._workspaces = workspaces
        self._checks = checks
        self._workers = workers
        self._client = client

    def _new_document(self, uri: str, version: int, buffer: TextBuffer) -> OpenDocument | None:
        located = self._workspaces.locate_uri(uri)
        if located is None:
            return None
        try:
            setup = located.store.setup(located.stream)
        except ConfigError as error:
            self._client.log(f"{uri}: {error}", lsp.MessageType.Error)
            return None
        return OpenDocument(uri, located, setup.rules, Replayer(setup.projector), version, False, buffer)

    def opened(self, params: lsp.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        doc = self._new_document(item.uri, item.version, TextBuffer(item.text))
        if doc is None:
            return
        self._documents.open(doc)
        self._checks.schedule(doc.uri, delay=0)
        self._workers.submit(self._compare_with_disk, doc, doc.buffer.data, item.version)
        if self._checks.pull:
            # Pulled and pushed diagnostics would both show: drop what was pushed while it was closed.
            self._client.publish_diagnostics(doc.uri, [])

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
        doc = self._documents.get(params.text_document.uri)
        if doc is None:
            return
        doc.note_changes(list(params.content_changes))
        doc.version = params.text_document.version
        doc.dirty = True
        self._checks.schedule(doc.uri)

    async def saved(self, params: lsp.DidSaveTextDocumentParams) -> None:
        doc = self._documents.get(params.text_document.uri)
        if doc is None:
            return
        doc.dirty = False
        await self._checks.check_disk(doc.located)

    async def closed(self, params: lsp.DidCloseTextDocumentParams) -> None:
        doc = self._documents.close(params.text_document.uri)
        if doc is None:
            return
        self._checks.forget(doc.uri)
        # Closed, the store is the disk's again: re-check it from there.
        await self._checks.check_disk(doc.located, announce=False)

    def rebind_all(self) -> None:
        for doc in self._documents.all():
            self.rebind(doc.uri)

    def rebind(self, uri: str) -> None:
        """After a settings change: the buffer is re-checked with the store's new rules."""
        old = self._documents.close(uri)
        if old is None:
            return
        doc = self._new_document(uri, old.version, old.buffer)
        if doc is None:
            return
        doc.dirty = old.dirty
        self._documents.open(doc)
        self._checks.schedule(uri, delay=0)

    async def pull(self, params: lsp.DocumentDiagnosticParams) -> lsp.DocumentDiagnosticReport:
        uri = params.text_document.uri
        if self._documents.get(uri) is not None:
            await self._checks.settled(uri)
        return self._checks.report(uri, params.previous_result_id)

    def holds(self, uri: str) -> bool:
        """Whether `uri` is an open store buffer (kept here, not in pygls's workspace)."""
        return self._documents.get(uri) is not None

    def register(self, server: LanguageServer) -> None:
        # closures, not bound methods: pygls marks each handler with attributes
        @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
        def opened(params: lsp.DidOpenTextDocumentParams) -> None:
            self.opened(params)

        @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
        def changed(params: lsp.DidChangeTextDocumentParams) -> None:
            self.changed(params)

        @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
        async def saved(params: lsp.DidSaveTextDocumentParams) -> None:
            await self.saved(params)

        @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
        async def closed(params: lsp.DidCloseTextDocumentParams) -> None:
            await self.closed(params)

        @server.feature(lsp.TEXT_DOCUMENT_DIAGNOSTIC,
                        lsp.DiagnosticOptions(inter_file_dependencies=False, workspace_diagnostics=False,
                                              identifier="astra"))
        async def pull(params: lsp.DocumentDiagnosticParams) -> lsp.DocumentDiagnosticReport:
            return await self.pull(params)
