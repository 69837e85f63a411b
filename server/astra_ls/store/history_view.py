"""A compacted store's full history (archives, then the live file), analysed as one store for the commands
that look into the past: time travel by time, queries and `count --all`."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.core.blocks import iter_blocks
from astra_ls.projections.replay import Replayer
from astra_ls.store.archive_history import History, compaction_header, read_history
from astra_ls.store.base import EventStore
from astra_ls.store.file_store import FileEventStore


@dataclass(frozen=True, slots=True)
class HistoryView:
    history: History
    analysis: StoreAnalysis
    read: ReadRange
    replayer: Replayer

    def place(self, line: int) -> dict[str, Any]:
        """Where a history line is: `line` in the live file (1-based), or null with `archive`/`archiveLine`."""
        if line < 0:
            return {"line": 0}
        source, at = self.history.origin(line)
        if source is None:
            return {"line": at + 1}
        return {"line": None, "archive": source, "archiveLine": at + 1}

    def note(self) -> dict[str, Any]:
        """What the answer must say about archives that could not be read."""
        return {} if self.history.unreadable is None else {"archiveUnreadable": self.history.unreadable}


def history_of(store: EventStore, name: str) -> HistoryView | None:
    """The history of a local store whose first line is a compaction header naming its archive; None
    otherwise (the live file, or the remote stream, is then the whole history)."""
    if not isinstance(store, FileEventStore):
        return None
    analysis = store.analysis(name)
    first = analysis.snapshots.get(0)
    if first is None or not isinstance(first.get("archive"), str):
        return None
    read = store.reader(name)
    start, length = analysis.line_span(0)
    if compaction_header(read(start, length)) is None:
        return None
    history = read_history(store.root, read(0, analysis.size))
    data = history.data
    setup = store.setup(name)
    past = StoreAnalysis(setup.rules)
    past.feed(iter_blocks(io.BytesIO(data), 0, setup.rules.line.max_line_bytes), incremental=False)
    past.finish_full_scan()
    return HistoryView(history, past, lambda offset, size: data[offset : offset + size], Replayer(setup.projector))
