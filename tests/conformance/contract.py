"""The behaviour every `EventStore` backend owes its callers, as one test case class each backend runs.

Modelled on the `eventsourcing` library's recorder test cases: the class holds the tests, a subclass per
backend says only how to open a store (`open_store`); `open_store` called again gives a second,
independent handle on the same streams, as another process would have. Everything goes through the
`EventStore` protocol: append, expected counts, duplicate appends, byte ranges, following another
writer's appends, locks and refusals.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from astra_ls.store.base import EventStore
from astra_ls.store.follow import Change
from astra_ls.store.results import Appended, Refused, StoreError

MAX_LINE_BYTES = 2048


def note(n: int, **fields: Any) -> dict[str, Any]:
    return {"type": "Noted", "id": f"e-{n}", "timestamp": 1_700_000_000_000 + n, **fields}


def lines_of(store: EventStore, stream: str) -> list[Any]:
    """The stream's events, read back through the analysis's offsets and the store's byte ranges."""
    analysis = store.analysis(stream)
    read = store.reader(stream)
    return [msgspec.json.decode(read(*analysis.line_span(n))) for n in range(analysis.line_count)]


class EventStoreContract:
    """Subclasses define `open_store`; each test gets a workspace of its own in `workspace`."""

    workspace: Path

    def open_store(self) -> EventStore:
        raise NotImplementedError

    @pytest.fixture(autouse=True)
    def _stores(self) -> Any:
        self._opened: list[EventStore] = []
        yield
        for store in self._opened:
            store.close()

    def store(self) -> EventStore:
        opened = self.open_store()
        self._opened.append(opened)
        return opened

    # --- append and read back ---------------------------------------------------------------------

    def test_appends_are_read_back_in_order(self) -> None:
        store = self.store()
        for n in range(3):
            result = store.append("notes", note(n, text=f"note {n}"))
            assert isinstance(result, Appended), result
            assert (result.line, result.count) == (n + 1, n + 1)
        assert lines_of(store, "notes") == [note(n, text=f"note {n}") for n in range(3)]
        assert store.analysis("notes").event_count() == 3
        assert "notes" in store.streams()
        assert store.resolve(store.uri_of("notes")) == "notes"
        assert store.problems("notes") == []

    def test_byte_ranges_are_exact(self) -> None:
        store = self.store()
        events = [note(n, text="é" * n) for n in range(4)]
        for event in events:
            assert store.append("notes", event).ok
        analysis = store.analysis("notes")
        read = store.reader("notes")
        whole = read(0, analysis.size)
        assert whole.count(b"\n") == 4 and len(whole) == analysis.size
        start, length = analysis.line_span(2)
        assert read(start, length) == whole[start:start + length]
        assert msgspec.json.decode(read(start, length)) == events[2]
        assert read(start + 1, 5) == whole[start + 1:start + 6]

    # --- expected counts --------------------------------------------------------------------------

    def test_expected_count_orders_writers(self) -> None:
        first, second = self.store(), self.store()
        assert first.append("notes", note(0), expected_count=0).ok
        late = second.append("notes", note(1), expected_count=0)
        assert isinstance(late, Refused) and late.code == "EXPECTED_COUNT_MISMATCH"
        assert late.details == {"expected": 0, "actual": 1}
        assert second.append("notes", note(1), expected_count=1).ok
        assert [e["id"] for e in lines_of(first, "notes")] == ["e-0", "e-1"]

    # --- duplicates -------------------------------------------------------------------------------

    def test_a_retried_append_is_stored_once(self) -> None:
        """The same event sent again (an append whose answer was lost, retried) is not stored twice."""
        first, second = self.store(), self.store()
        assert first.append("notes", note(0)).ok
        again = second.append("notes", note(0))
        assert isinstance(again, Appended) and again.count == 1 and again.line == 1, again
        assert len(lines_of(first, "notes")) == 1

    def test_another_event_under_a_stored_id_is_refused(self) -> None:
        store = self.store()
        assert store.append("notes", note(0, text="first")).ok
        clash = store.append("notes", note(0, text="second"))
        assert isinstance(clash, Refused) and clash.code == "DUPLICATE_ID", clash
        assert lines_of(store, "notes") == [note(0, text="first")]

    # --- following --------------------------------------------------------------------------------

    def test_another_handles_appends_are_followed(self) -> None:
        writer, reader = self.store(), self.store()
        assert writer.append("notes", note(0)).ok
        assert reader.analysis("notes").event_count() == 1
        stamp = reader.stamp("notes")
        for n in range(1, 4):
            assert writer.append("notes", note(n)).ok
        assert reader.refresh("notes") is Change.APPENDED
        assert reader.stamp("notes") != stamp
        assert reader.analysis("notes").event_count() == 4
        assert reader.refresh("notes") is Change.UNCHANGED
        assert [e["id"] for e in lines_of(reader, "notes")] == ["e-0", "e-1", "e-2", "e-3"]

    # --- locks ------------------------------------------------------------------------------------

    def test_an_append_waits_for_the_streams_lock(self) -> None:
        holder, writer = self.store(), self.store()
        assert holder.append("notes", note(0)).ok
        held = threading.Event()

        def hold() -> None:
            with holder.lock("notes"):
                held.set()
                time.sleep(1.0)

        thread = threading.Thread(target=hold)
        thread.start()
        held.wait()
        started = time.monotonic()
        assert writer.append("notes", note(1)).ok
        waited = time.monotonic() - started
        thread.join()
        assert waited >= 0.5

    # --- refusals ---------------------------------------------------------------------------------

    @pytest.mark.parametrize(("event", "code"), [
        (["not", "an", "object"], "NOT_AN_OBJECT"),
        ({"type": "$snapshot", "id": "s", "timestamp": 1}, "INVALID_EVENT"),
        (note(0, text="x" * MAX_LINE_BYTES), "LINE_TOO_LONG"),
        ({"type": "Noted", "id": "e-0", "timestamp": 1, "big": float("nan")}, "INVALID_EVENT"),
    ])
    def test_unfit_events_are_refused_and_nothing_is_stored(self, event: Any, code: str) -> None:
        store = self.store()
        assert store.append("notes", note(1)).ok
        refused = store.append("notes", event)
        assert isinstance(refused, Refused) and refused.code == code, refused
        assert refused.message
        assert store.analysis("notes").event_count() == 1

    def test_an_event_the_schema_refuses_is_not_stored(self) -> None:
        store = self.store()
        bad = {"type": "StepStarted", "id": "s-1", "timestamp": 1, "stepIndex": "two", "description": "d"}
        refused = store.append("agent-run", bad)
        assert isinstance(refused, Refused) and refused.code == "INVALID_EVENT"
        assert refused.details["errors"]

    @pytest.mark.parametrize("name", ["../outside", "a/../../b", "", "x\0y"])
    def test_names_outside_the_store_are_refused(self, name: str) -> None:
        refused = self.store().append(name, note(0))
        assert isinstance(refused, Refused) and refused.code == "PATH_REFUSED", refused

    def test_a_missing_stream_is_not_found(self) -> None:
        store = self.store()
        assert store.append("notes", note(0)).ok  # the store exists; this stream of it does not
        with pytest.raises(StoreError) as raised:
            store.analysis("absent")
        assert raised.value.refused.code == "STORE_NOT_FOUND"
