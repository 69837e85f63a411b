"""When stores are re-checked and where their diagnostics go.

Disk stores are checked through their `FileEventStore` (only appended tails are read); open buffers
through their own analysis. All engine work runs in worker threads (lsp/workers.py) so the message loop
stays free for hovers and keystrokes; every store has its own lock, so one long scan delays only its own
store.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from lsprotocol import types as lsp

from astra_ls.core.problems import Problem
from astra_ls.lsp.client import DiagnosticsClient, ProgressClient
from astra_ls.lsp.diagnostics import DiagnosticCache, DiagnosticReports, counts_payload
from astra_ls.lsp.documents import OpenDocument, OpenDocuments, Pending
from astra_ls.lsp.memory import MemoryGiver
from astra_ls.lsp.progress import begin_progress
from astra_ls.lsp.warmup import CheckpointWarmer
from astra_ls.lsp.workers import Workers
from astra_ls.lsp.workspace_state import Located, Workspaces
from astra_ls.store.follow import Change, FileStamp

DEBOUNCE_S = 0.15
STORE_CHANGED = "astra/storeChanged"


@dataclass(frozen=True, slots=True)
class Checked:
    problems: list[Problem]
    events: int
    limit: int


class Checks:
    def __init__(self, workspaces: Workspaces, documents: OpenDocuments, workers: Workers,
                 warmer: CheckpointWarmer, client: DiagnosticsClient, progress: ProgressClient) -> None:
        self._workspaces = workspaces
        self._documents = documents
        self._workers = workers
        self._warmer = warmer
        self._client = client
        self._progress = progress
        self.memory = MemoryGiver()
        self._reports = DiagnosticReports()
        self.converted = DiagnosticCache()
        self.pull = False  # the client pulls diagnostics of open documents
        self.refresh_support = False
        self._generation: dict[str, int] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._flush_locks: dict[str, asyncio.Lock] = {}
        self.counts: dict[str, tuple[int, int]] = {}  # (events, problems) of each store's latest check
        self._sent: dict[str, tuple[tuple[int, bool], list[Problem]]] = {}  # what each URI last got
        self._stamps: dict[str, FileStamp | None] = {}  # each store file as of its last check here

    def follow_client(self, capabilities: lsp.ClientCapabilities) -> None:
        """Pull or push the diagnostics of open buffers, as the client's capabilities say (at `initialize`)."""
        self.pull = capabilities.text_document is not None and capabilities.text_document.diagnostic is not None
        workspace = capabilities.workspace
        self.refresh_support = bool(workspace and workspace.diagnostics and workspace.diagnostics.refresh_support)

    # --- stores on disk -----------------------------------------------------------------------------

    def _check_disk(self, located: Located) -> tuple[Change, Checked | None]:
        store, stream = located.store, located.stream
        with self._workspaces.lock(located.path):
            change = self._change_since_last_check(located, store.refresh(stream))
            if change in (Change.DELETED, Change.MISSING):
                return change, None
            analysis = store.analysis(stream)
            return change, Checked(store.problems(stream), analysis.event_count(), store.config.max_problems_per_file)

    def _change_since_last_check(self, located: Located, change: Change) -> Change:
        """What changed since this store's last check here. Anything else that reads the store (a request,
        the checkpoint pass) brings the engine up to date too, and the refresh here then sees nothing new."""
        stamp = located.store.stamp(located.stream)
        known, previous = located.uri in self._stamps, self._stamps.get(located.uri)
        self._stamps[located.uri] = stamp
        if change not in (Change.UNCHANGED, Change.MISSING) or not known or previous == stamp:
            return change
        return Change.DELETED if stamp is None else Change.APPENDED

    async def check_disk(self, located: Located, announce: bool = True, changed: bool = False) -> None:
        """Re-check a store file after a change on disk; the open buffer (if any) keeps its diagnostics.

        `changed`: the caller knows the store changed (its own command already brought the engine up to
        date, so the engine sees nothing new) and the change must still be announced."""
        try:
            with self._warmer.standing_aside():  # the checkpoint pass waits: a re-check is awaited
                change, checked = await self._workers.run(lambda: self._check_disk(located))
        except OSError as error:
            self._client.log(f"cannot read {located.path}: {error.strerror or error}", lsp.MessageType.Warning)
            change, checked = Change.DELETED, None
        uri = located.uri
        open_doc = self._documents.get(uri)
        if checked is None:
            if open_doc is None:
                self.counts.pop(uri, None)
                self.publish(uri, [])
            if announce and change is Change.DELETED:
                self._client.notify(STORE_CHANGED, counts_payload(uri, 0, 0))
            return
        if open_doc is None:
            self.counts[uri] = (checked.events, len(checked.problems))
            self.publish_problems(uri, checked.problems, checked.limit)
        if announce and (changed or change is not Change.UNCHANGED):
            self._client.notify(STORE_CHANGED, counts_payload(uri, checked.events, len(checked.problems)))

    async def scan_all(self) -> None:
        """Check every store of every folder, with a progress report while it runs."""
        stores = await self._workers.run(lambda: list(self._workspaces.discover()))
        token = await begin_progress(self._progress, "scan", "Checking event stores", f"{len(stores)} store(s)")
        for index, located in enumerate(stores):
            if token is not None:
                self._progress.work_done_progress.report(token, lsp.WorkDoneProgressReport(
                    message=f"{index + 1}/{len(stores)}: {located.stream}",
                    percentage=int(100 * index / max(1, len(stores)))))
            try:
                await self.check_disk(located, announce=False)
            except Exception as error:  # one unreadable store must not stop the scan of the others
                self._client.log(f"checking {located.path} failed: {error!r}", lsp.MessageType.Error)
        if token is not None:
            self._progress.work_done_progress.end(token, lsp.WorkDoneProgressEnd(
                message=f"checked {len(stores)} store(s)"))

    # --- open buffers -------------------------------------------------------------------------------

    def schedule(self, uri: str, delay: float = DEBOUNCE_S) -> None:
        """Re-check an open buffer after a quiet spell; a burst of keystrokes costs one check."""
        generation = self._generation.get(uri, 0) + 1
        self._generation[uri] = generation
        self._tasks[uri] = asyncio.ensure_future(self._after(uri, generation, delay))

    async def _after(self, uri: str, generation: int, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._generation.get(uri) != generation:
            return
        try:
            await self.check_document(uri)
        except Exception as error:
            self._client.log(f"checking {uri} failed: {error!r}", lsp.MessageType.Error)

    async def settled(self, uri: str) -> None:
        """Wait until the latest scheduled check of `uri` has run."""
        while (task := self._tasks.get(uri)) is not None and not task.done():
            await asyncio.shield(task)

    async def check_document(self, uri: str, refresh: bool = False) -> None:
        """Re-check an open buffer; `refresh` asks a pulling client to pull again (no edit prompted it)."""
        doc = self._documents.get(uri)
        if doc is None:
            return
        lock = self._flush_locks.setdefault(uri, asyncio.Lock())
        async with lock:
            data, pending, whole = doc.take_pending()
            try:
                checked = await self._workers.run(lambda: self._check_buffer(doc, data, pending, whole))
            except BaseException:
                doc.whole = True  # what was pending is lost: the next check starts afresh
                raise
        if self._documents.get(uri) is doc:  # dropped if it was closed meanwhile
            self.counts[uri] = (checked.events, len(checked.problems))
            self.publish_problems(uri, checked.problems, checked.limit, open_doc=True, refresh=refresh)

    def _check_buffer(self, doc: OpenDocument, data: bytes, pending: Pending | None, whole: bool) -> Checked:
        doc.flush(data, pending, whole)
        with doc.lock:
            assert doc.analysis is not None
            config = doc.located.store.config
            analyses = doc.located.store.analyses
            problems = analyses.problems_of(doc.located.stream, doc.analysis, doc.analysis.problems(doc.read), doc.read)
            checked = Checked(problems, doc.analysis.event_count(), config.max_problems_per_file)
        self.memory.after_work_on(len(data))
        return checked

    def report(self, uri: str, previous_result_id: str | None) -> lsp.DocumentDiagnosticReport:
        """What a pulling client gets for an open buffer ("unchanged" when it has the latest already)."""
        return self._reports.report(uri, previous_result_id)

    def forget(self, uri: str) -> None:
        self._generation.pop(uri, None)
        self._tasks.pop(uri, None)
        self._flush_locks.pop(uri, None)
        self._sent.pop(uri, None)
        self.converted.forget(uri)
        self._reports.forget(uri)

    # --- transport ----------------------------------------------------------------------------------

    def publish_problems(self, uri: str, problems: list[Problem], limit: int, open_doc: bool = False,
                         refresh: bool = False) -> None:
        """Publish unless the editor already has exactly these problems (an append of a valid event
        changes none of a million-line store's diagnostics: sending them all again is wasted work)."""
        sent = self._sent.get(uri)
        if sent is not None and sent[0] == (limit, open_doc) and sent[1] == problems:
            return
        converted = self.converted.convert(uri, problems, limit)
        if open_doc and self.pull:
            self._store_report(uri, [c.diagnostic for c in converted], refresh)
        else:
            self._client.publish_converted(uri, converted)
        self._sent[uri] = ((limit, open_doc), problems)

    def publish(self, uri: str, diagnostics: list[lsp.Diagnostic], open_doc: bool = False,
                refresh: bool = False) -> None:
        self._sent.pop(uri, None)
        self.converted.forget(uri)
        if open_doc and self.pull:
            self._store_report(uri, diagnostics, refresh)
            return
        self._client.publish_diagnostics(uri, diagnostics)

    def _store_report(self, uri: str, diagnostics: list[lsp.Diagnostic], refresh: bool) -> None:
        self._reports.store(uri, diagnostics)
        if refresh and self.refresh_support:
            self._client.refresh_diagnostics()
