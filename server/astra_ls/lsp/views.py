"""One way for read-only features to look at a store: the open buffer if there is one, else the disk.

A view is used in a worker thread only, and holds the store's (or buffer's) lock while it is in use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from astra_ls.config import WorkspaceConfig
from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.core.problems import Problem
from astra_ls.lsp.checks import Checks
from astra_ls.lsp.documents import OpenDocuments
from astra_ls.lsp.workers import Workers
from astra_ls.lsp.workspace_state import Located, Workspaces
from astra_ls.projections.replay import Replayer
from astra_ls.schemas.base import EventSchema

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StoreView:
    uri: str
    located: Located
    analysis: StoreAnalysis
    read: ReadRange
    replayer: Replayer
    unsaved: bool  # an open buffer whose edits are not saved yet

    @property
    def config(self) -> WorkspaceConfig:
        return self.located.store.config

    @property
    def schema(self) -> EventSchema:
        return self.located.store.setup(self.located.stream).schema

    def line_text(self, line: int) -> str:
        start, length = self.analysis.line_span(line)
        return self.read(start, length).decode("utf-8", "replace")

    def problems_on(self, line: int) -> list[Problem]:
        return self.config.apply(self.analysis.problems_on(line, self.read))


@contextmanager
def store_view(documents: OpenDocuments, workspaces: Workspaces, uri: str) -> Iterator[StoreView | None]:
    doc = documents.get(uri)
    if doc is not None:
        with doc.lock:
            if doc.analysis is not None:
                yield StoreView(uri, doc.located, doc.analysis, doc.read, doc.replayer, doc.dirty)
                return
    located = workspaces.locate_uri(uri)
    if located is None or not located.path.is_file():
        yield None
        return
    store = located.store
    with workspaces.lock(located.path):
        analysis = store.analysis(located.stream)
        yield StoreView(uri, located, analysis, store.reader(located.stream), store.replayer(located.stream), False)


class StoreViews:
    """What read-only features (hover, outline, lenses, ...) need: whether a store is open in the editor,
    its latest check awaited, and a look at it in a worker thread."""

    def __init__(self, documents: OpenDocuments, workspaces: Workspaces, checks: Checks, workers: Workers) -> None:
        self._documents = documents
        self._workspaces = workspaces
        self._checks = checks
        self._workers = workers

    def is_open(self, uri: str) -> bool:
        return self._documents.get(uri) is not None

    async def settled(self, uri: str) -> None:
        """An open buffer's latest edits checked (what a feature shows must agree with its diagnostics)."""
        if self.is_open(uri):
            await self._checks.settled(uri)

    async def look(self, uri: str, read: Callable[[StoreView | None], T]) -> T:
        """`read` of the store's view (None: no store has this URI), in a worker thread."""

        def work() -> T:
            with store_view(self._documents, self._workspaces, uri) as view:
                return read(view)

        return await self._workers.run(work)
