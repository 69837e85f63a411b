"""One way for read-only features to look at a store: the open buffer if there is one, else the disk.

Used from worker threads only; the view holds the store's (or buffer's) lock while it is in use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from astra_ls.config import WorkspaceConfig
from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.core.problems import Problem
from astra_ls.lsp.workspace_state import Located
from astra_ls.projections.replay import Replayer
from astra_ls.schemas.base import EventSchema

if TYPE_CHECKING:
    from astra_ls.lsp.server import AstraServer


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
def store_view(server: AstraServer, uri: str) -> Iterator[StoreView | None]:
    doc = server.documents.get(uri)
    if doc is not None:
        with doc.lock:
            if doc.analysis is not None:
                yield StoreView(uri, doc.located, doc.analysis, doc.read, doc.replayer, doc.dirty)
                return
    located = server.workspaces.locate_uri(uri)
    if located is None or not located.path.is_file():
        yield None
        return
    store = located.store
    with server.workspaces.lock(located.path):
        analysis = store.analysis(located.stream)
        yield StoreView(uri, located, analysis, store.reader(located.stream), store.replayer(located.stream), False)
