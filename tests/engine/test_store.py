"""The file store: validated, locked, durable appends; confinement to `.astra/`; concurrency and crashes."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from astra_ls.store.file_store import FileEventStore
from astra_ls.store.follow import PENDING_MAX_BYTES
from astra_ls.store.paths import PathRefused

from .conftest import Workspace, snapshot

EVENT = {"type": "UserMessageSent", "timestamp": 1, "content": "안녕 🙂"}


def test_append_writes_one_canonical_line_and_answers_where(workspace: Workspace) -> None:
    result = workspace.store().append("conversation", EVENT)
    assert result.to_json() == {"ok": True, "path": str(workspace.path("conversation")), "line": 1, "count": 1,
                                "duplicate": False}
    expected = json.dumps(EVENT, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    assert workspace.read("conversation") == expected


def test_append_counts_and_lines_follow_the_store(workspace: Workspace) -> None:
    workspace.write("conversation", [EVENT, {**EVENT, "timestamp": 2}])
    result = workspace.store().append("conversation", {**EVENT, "timestamp": 3})
    assert (result.ok, result.to_json()["line"], result.to_json()["count"]) == (True, 3, 3)


def test_an_invalid_event_is_refused_with_details_and_nothing_is_written(workspace: Workspace) -> None:
    workspace.write("conversation", [EVENT])
    before = workspace.read("conversation")
    answer = workspace.store().append("conversation", {**EVENT, "content": 5}).to_json()
    assert answer["ok"] is False and answer["code"] == "INVALID_EVENT"
    assert "content" in answer["message"]
    assert answer["details"]["errors"][0]["path"] == "content"
    assert workspace.read("conversation") == before


@pytest.mark.parametrize("event", [[1, 2], "text", None])
def test_a_non_object_is_refused(workspace: Workspace, event: object) -> None:
    answer = workspace.store().append("feed", event).to_json()
    assert (answer["ok"], answer["code"]) == (False, "NOT_AN_OBJECT")
    assert not workspace.path("feed").exists()


def test_snapshot_records_cannot_be_appended(workspace: Workspace) -> None:
    answer = workspace.store().append("feed", {"type": "$snapshot", "state": {}, "events": 0, "byType": {}})
    assert answer.to_json()["code"] == "INVALID_EVENT"


def test_append_after_a_torn_last_line_starts_a_line_of_its_own(workspace: Workspace) -> None:
    workspace.write("feed", b'{"id":"a"}\n{"id":"b","tim')
    result = workspace.store().append("feed", {"id": "c"})
    assert result.ok and result.to_json()["line"] == 3
    assert workspace.lines("feed") == [b'{"id":"a"}', b'{"id":"b","tim', b'{"id":"c"}']


def test_an_event_over_the_line_limit_is_refused_and_nothing_is_written(workspace: Workspace) -> None:
    workspace.config("max_line_bytes = 100\n")
    workspace.write("conversation", [EVENT])
    before = workspace.read("conversation")
    answer = workspace.store().append("conversation", {**EVENT, "content": "가" * 40}).to_json()
    assert (answer["ok"], answer["code"]) == (False, "LINE_TOO_LONG")
    assert answer["details"]["limit"] == 100 and answer["details"]["bytes"] > 100
    assert "max_line_bytes" in answer["message"]
    assert workspace.read("conversation") == before
    assert workspace.store().append("conversation", {**EVENT, "content": "가" * 10}).ok


# A writer's own appends, another writer's and raw bytes from a third program, in any order: the
# writer's counts and its analysis always equal a fresh look at the file.
WRITES = st.lists(st.one_of(
    st.tuples(st.sampled_from(["own", "other"]), st.sampled_from(["a", "b", "c"]), st.integers(0, 3),
              st.integers(0, 3)),
    st.tuples(st.just("raw"), st.sampled_from([b'{"id":"torn"', b"not json\n", b'{"id":"r","timestamp":1}\n'])),
    st.just(("read",)),
), max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(WRITES)
def test_own_appends_analysed_in_batches_match_a_fresh_analysis(workspace: Workspace, writes: list[tuple]) -> None:
    workspace.write("s", b"")
    own, other = workspace.store(), workspace.store()
    for write in writes:
        if write[0] == "raw":
            with workspace.path("s").open("ab") as handle:
                handle.write(write[1])
        elif write[0] == "read":
            _assert_fresh(workspace, own)
        else:
            kind, ident, stamp, pad = write
            result = (own if kind == "own" else other).append("s", {"id": ident, "timestamp": stamp, "pad": "x" * pad})
            fresh = workspace.store().analysis("s")
            answer = result.to_json()
            if answer["ok"] and not answer["duplicate"]:
                assert answer == {"ok": True, "path": str(workspace.path("s")), "line": fresh.line_count,
                                  "count": fresh.event_count(), "duplicate": False}
            else:  # the id was taken (ids are unique here): the same event again, or another one refused
                assert answer["ok"] or answer["code"] == "DUPLICATE_ID"
                assert answer.get("count", fresh.event_count()) == fresh.event_count()
    _assert_fresh(workspace, own)
    appended = [json.loads(x)["id"] for x in workspace.read("s").split(b"\n") if x.startswith(b'{"id":"')
                and x.endswith(b"}") and x[7:8] in b"abc"]
    assert len(appended) == len(set(appended)), "an append wrote an id that was taken"
    workspace.path("s").unlink()


def _assert_fresh(workspace: Workspace, store: FileEventStore) -> None:
    data = workspace.read("s")
    assert snapshot(store.analysis("s"), data) == snapshot(workspace.store().analysis("s"), data)


def test_a_long_run_of_own_appends_is_analysed_as_it_goes(workspace: Workspace) -> None:
    """Own appends wait to be analysed only up to a bound: a writer that never reads holds no more."""
    store = workspace.store()
    pad = "x" * 1000
    for n in range(2 * PENDING_MAX_BYTES // 1000 + 5):
        assert store.append("s", {"id": f"e{n}", "timestamp": n, "pad": pad}).ok
    assert 0 < store.followed("s").unanalysed_bytes < PENDING_MAX_BYTES
    data = workspace.read("s")
    assert snapshot(store.analysis("s"), data) == snapshot(workspace.store().analysis("s"), data)


def test_expected_count_is_optimistic_concurrency(workspace: Workspace) -> None:
    workspace.write("feed", [{"id": "a"}, {"id": "b"}])
    store = workspace.store()
    refused = store.append("feed", {"id": "c"}, expected_count=1).to_json()
    assert refused["code"] == "EXPECTED_COUNT_MISMATCH"
    assert refused["details"] == {"expected": 1, "actual": 2}
    assert store.append("feed", {"id": "c"}, expected_count=2).ok
    assert len(workspace.lines("feed")) == 3


def test_a_missing_workspace_is_an_ordinary_failure(tmp_path: Path) -> None:
    answer = FileEventStore(tmp_path / "nowhere").append("feed", {"id": "a"}).to_json()
    assert answer["ok"] is False and answer["code"] == "STORE_NOT_FOUND"
    assert not (tmp_path / "nowhere").exists()


def test_a_read_only_store_is_an_ordinary_failure(workspace: Workspace) -> None:
    path = workspace.write("feed", [{"id": "a"}])
    path.chmod(0o444)
    if os.access(path, os.W_OK):
        pytest.skip("running as root: file permissions do not stop writes here")
    answer = workspace.store().append("feed", {"id": "b"}).to_json()
    assert (answer["ok"], answer["code"]) == (False, "READ_ONLY")


def test_a_store_that_is_a_directory_is_an_ordinary_failure(workspace: Workspace) -> None:
    workspace.path("feed").mkdir()
    answer = workspace.store().append("feed", {"id": "a"}).to_json()
    assert answer["ok"] is False and answer["code"] == "NOT_A_FILE"


def test_count_in_total_and_by_type(workspace: Workspace) -> None:
    workspace.write("feed", [{"type": "A"}, {"type": "B"}, {"type": "A"}, {"no": "type"}])
    analysis = workspace.store().analysis("feed")
    assert analysis.event_count() == 4
    assert analysis.counts_by_type() == {"A": 2, "(untyped)": 1, "B": 1}


ESCAPES = ["../outside", "..", "a/../../outside", "/etc/passwd", "/tmp/x.jsonl", "%2e%2e%2foutside",
           "..%2Foutside", "a\\..\\..\\outside", "C:\\Windows\\x", "sub/../../x.jsonl", ".hidden", ""]


@pytest.mark.parametrize("name", ESCAPES)
def test_stream_names_that_leave_astra_are_refused_and_nothing_is_written(workspace: Workspace, name: str) -> None:
    before = sorted(p for p in workspace.root.parent.rglob("*"))
    answer = workspace.store().append(name, {"id": "a"}).to_json()
    assert answer["ok"] is False
    assert answer["code"] in ("PATH_REFUSED", "STORE_NOT_FOUND")
    assert sorted(p for p in workspace.root.parent.rglob("*")) == before


def test_a_symlink_out_of_astra_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(b"")
    workspace.path("linked").symlink_to(outside)
    answer = workspace.store().append("linked", {"id": "a"}).to_json()
    assert answer["code"] == "PATH_REFUSED"
    assert outside.read_bytes() == b""
    with pytest.raises(PathRefused):
        workspace.store().path_of("linked")


def test_a_store_swapped_for_a_link_after_its_first_append_is_refused(workspace: Workspace,
                                                                    tmp_path: Path) -> None:
    """The checked path of a stream is reused between appends; a link put in its place meanwhile is
    still never written through."""
    store = workspace.store()
    assert store.append("swapped", {"id": "a"}).ok
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(b"")
    workspace.path("swapped").unlink()
    workspace.path("swapped").symlink_to(outside)
    answer = store.append("swapped", {"id": "b"}).to_json()
    assert answer["code"] == "PATH_REFUSED", answer
    assert outside.read_bytes() == b""


def test_an_astra_folder_swapped_for_a_link_after_an_append_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "ws3"
    (root / ".astra").mkdir(parents=True)
    store = FileEventStore(root)
    assert store.append("feed", {"id": "a"}).ok
    (root / ".astra").rename(root / "old-astra")
    (root / ".astra").symlink_to(elsewhere)
    answer = store.append("feed", {"id": "b"}).to_json()
    assert answer["code"] == "PATH_REFUSED", answer
    assert list(elsewhere.iterdir()) == []


def test_an_astra_folder_linked_out_of_the_workspace_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "ws2"
    root.mkdir()
    (root / ".astra").symlink_to(elsewhere)
    answer = FileEventStore(root).append("feed", {"id": "a"}).to_json()
    assert answer["code"] == "PATH_REFUSED"
    assert list(elsewhere.iterdir()) == []


def test_file_uris_and_paths_inside_astra_are_accepted(workspace: Workspace) -> None:
    store = workspace.store()
    path = workspace.write("feed", [{"id": "a"}])
    assert store.resolve(path.as_uri()) == "feed"
    assert store.resolve(".astra/feed.jsonl") == "feed"
    with pytest.raises(PathRefused):
        store.resolve((workspace.root / "feed.jsonl").as_uri())


def _appender(root: str, worker: int, count: int) -> None:
    store = FileEventStore(Path(root))
    for n in range(count):
        result = store.append("shared", {"id": f"w{worker}-{n}", "worker": worker, "n": n, "pad": "x" * (n % 50)})
        assert result.ok, result


def test_several_processes_appending_lose_nothing(workspace: Workspace) -> None:
    workers, each = 4, 60
    context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")  # portable mode: no fork
    processes = [context.Process(target=_appender, args=(str(workspace.root), w, each)) for w in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        assert process.exitcode == 0
    lines = workspace.lines("shared")
    events = [json.loads(line) for line in lines]
    assert len(events) == workers * each
    assert {(e["worker"], e["n"]) for e in events} == {(w, n) for w in range(workers) for n in range(each)}
    assert workspace.store().analysis("shared").event_count() == workers * each
    assert workspace.store().problems("shared") == []


def _endless_writer(root: str, ready: int) -> None:
    store = FileEventStore(Path(root))
    os.write(ready, b"x")
    n = 0
    while True:
        store.append("crash", {"id": f"e{os.getpid()}-{n}", "payload": "y" * 4000})
        n += 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="hands a pipe to a forked child (no fork: portable mode)")
def test_a_writer_killed_mid_append_leaves_a_readable_store(workspace: Workspace) -> None:
    context = multiprocessing.get_context("fork")
    for round_ in range(50):
        read_end, write_end = os.pipe()
        process = context.Process(target=_endless_writer, args=(str(workspace.root), write_end))
        process.start()
        os.read(read_end, 1)
        path = workspace.path("crash")
        while not path.exists() or path.stat().st_size < 4000 * (round_ % 3 + 1):
            pass
        os.kill(process.pid, signal.SIGKILL)
        process.join()
        os.close(read_end)
        os.close(write_end)
        if round_ % 10 == 9:  # simulate a torn write the kernel could leave after a power cut
            with path.open("ab") as handle:
                handle.write(b'{"id":"torn","payl')
        store = workspace.store()
        analysis = store.analysis("crash")
        lines = workspace.lines("crash")
        bad = [line for line in range(analysis.line_count) if not analysis.is_event(line)]
        earlier = [line for line in bad if line < analysis.line_count - 1]
        assert all(lines[line] == b'{"id":"torn","payl' for line in earlier)  # old torn lines stay closed off
        result = store.append("crash", {"id": f"after-{round_}"})
        assert result.ok
        assert workspace.lines("crash")[-1] == b'{"id":"after-%d"}' % round_
    final = workspace.store().analysis("crash")
    torn = [line for line in range(final.line_count) if not final.is_event(line)]
    assert len(torn) <= 5  # only the simulated torn writes, each closed off by the next append
