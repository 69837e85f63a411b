"""A remote store on one real nats-server: the CLI's append/count/check/project/query, push and pull."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from astra_ls.cli.main import main
from astra_ls.config import load_config
from astra_ls.remote.jetstream import WrongLastSequence, publish
from astra_ls.remote.store import RemoteStore, find_remote

MakeWorkspace = Callable[..., tuple[Path, str]]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main([*argv, "--format", "json", "--trust"])  # a workspace declaring a remote store is trusted
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def event(n: int, **fields: Any) -> str:
    return json.dumps({"type": "Noted", "id": f"e-{n}", "timestamp": 1_700_000_000_000 + n, **fields})


def test_append_count_project_query_on_a_remote_store(make_workspace: MakeWorkspace, tmp_path: Path,
        single: Any,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root, remote = make_workspace(tmp_path / "ws", single.urls)
    common = ["--workspace", str(root), "--remote", remote]
    for n in range(3):
        code, answer = cli(capsys, "append", "notes", event(n, text=f"note {n}"), *common)
        assert code == 0, answer
        assert answer["count"] == n + 1 and answer["line"] == n + 1 and answer["duplicate"] is False
        assert answer["path"] == f"astra-remote://{remote}/notes"
    code, answer = cli(capsys, "count", "notes", *common)
    assert answer["count"] == 3 and answer["byType"] == {"Noted": 3}
    code, answer = cli(capsys, "project", "notes", "--at-line", "2", *common)
    assert code == 0 and answer["line"] == 2 and answer["events"] == 2
    code, answer = cli(capsys, "query", "notes", "--where", "text=note 1", *common)
    assert [e["event"]["id"] for e in answer["events"]] == ["e-1"]


def test_the_mirror_lives_in_the_user_cache_folder(make_workspace: MakeWorkspace, tmp_path: Path, single: Any,
                                                   user_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """$ASTRA_LS_CACHE_DIR (set for every test) names the one cache folder, remote mirrors included."""
    root, remote = make_workspace(tmp_path / "ws", single.urls)
    code, answer = cli(capsys, "append", "notes", event(0), "--workspace", str(root), "--remote", remote)
    assert code == 0, answer
    mirrors = list((user_cache / "remote").iterdir())
    assert len(mirrors) == 1 and any(mirrors[0].iterdir())
    assert not list(root.rglob("*.jsonl"))  # nothing of the mirror in the workspace


def test_expected_count_is_enforced_by_jetstream(make_workspace: MakeWorkspace, tmp_path: Path,
        single: Any,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root, remote = make_workspace(tmp_path / "ws", single.urls)
    common = ["--workspace", str(root), "--remote", remote]
    assert cli(capsys, "append", "notes", event(0), "--expected-count", "0", *common)[0] == 0
    code, answer = cli(capsys, "append", "notes", event(1), "--expected-count", "0", *common)
    assert code == 1 and answer["code"] == "EXPECTED_COUNT_MISMATCH"
    assert answer["details"] == {"expected": 0, "actual": 1}
    assert cli(capsys, "append", "notes", event(1), "--expected-count", "1", *common)[0] == 0


def test_a_writer_that_raced_us_is_caught_by_the_server(make_workspace: MakeWorkspace, tmp_path: Path,
        single: Any) -> None:
    """Two stores (two machines) read the same count; only the first expected-count append lands."""
    root, remote = make_workspace(tmp_path / "ws", single.urls)
    config = load_config(root)
    first = RemoteStore(find_remote(config, remote), root, config, trusted=True)
    second = RemoteStore(find_remote(config, remote), root, config, trusted=True)
    try:
        assert first.append("notes", json.loads(event(0))).ok
        assert first.analysis("notes").event_count() == 1
        assert second.analysis("notes").event_count() == 1
        stale = second.mirror("notes").last_seq  # what `second` saw before `first` appended again
        assert first.append("notes", json.loads(event(1)), expected_count=1).ok
        subject = second.remote.subject_of("notes")
        with pytest.raises(WrongLastSequence):
            second.link.run(publish(second.link.jetstream(), second.remote, subject, b'{"late":1}', "m-late", stale))
        refused = second.append("notes", json.loads(event(2)), expected_count=1)
        assert not refused.ok and refused.code == "EXPECTED_COUNT_MISMATCH"
        assert second.analysis("notes").event_count() == 2
    finally:
        first.close()
        second.close()


def test_a_retried_append_is_not_duplicated(make_workspace: MakeWorkspace, tmp_path: Path,
        single: Any) -> None:
    root, remote = make_workspace(tmp_path / "ws", single.urls)
    config = load_config(root)
    store = RemoteStore(find_remote(config, remote), root, config, trusted=True)
    try:
        first = store.append("notes", json.loads(event(7)))
        again = store.append("notes", json.loads(event(7)))
        assert first.ok and again.ok
        assert again.to_json()["duplicate"] is True and again.to_json()["sequence"] == first.to_json()["sequence"]
        assert store.analysis("notes").event_count() == 1
    finally:
        store.close()


def test_check_reports_the_engines_problems_for_remote_events(make_workspace: MakeWorkspace, tmp_path: Path,
        single: Any,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    root, remote = make_workspace(tmp_path / "ws", single.urls)
    local = root / ".astra"
    local.mkdir()
    lines = [event(0), event(1), event(1), "{not json", event(0)[:-1] + ', "timestamp": 5}']
    (local / "notes.jsonl").write_text("\n".join(lines) + "\n")
    code, local_report = cli(capsys, "check", str(local / "notes.jsonl"))
    code, answer = cli(capsys, "push", "notes", "--workspace", str(root), "--remote", remote)
    assert code == 0 and answer["streams"][0]["pushed"] == 5
    code, report = cli(capsys, "check", "--workspace", str(root), "--remote", remote)
    assert code == 1
    (remote_file,) = report["files"]
    assert remote_file["path"] == f"astra-remote://{remote}/notes"
    assert remote_file["problems"] == local_report["files"][0]["problems"]
    assert len({p["code"] for p in remote_file["problems"]}) >= 3  # syntax, duplicate id, order


def test_push_and_pull_are_idempotent_and_resumable(make_workspace: MakeWorkspace, tmp_path: Path,
        single: Any,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    root, remote = make_workspace(tmp_path / "ws", single.urls)
    common = ["--workspace", str(root), "--remote", remote]
    store_file = root / ".astra" / "notes.jsonl"
    store_file.parent.mkdir()
    store_file.write_text("".join(event(n) + "\n" for n in range(10)))
    assert cli(capsys, "push", "notes", *common)[1]["streams"][0]["pushed"] == 10
    assert cli(capsys, "push", "notes", *common)[1]["streams"][0]["pushed"] == 0
    with store_file.open("a") as handle:  # the local stream goes on; the next push sends only the tail
        handle.write("".join(event(n) + "\n" for n in range(10, 15)))
    assert cli(capsys, "push", *common)[1]["streams"][0]["pushed"] == 5
    assert cli(capsys, "count", "notes", *common)[1]["count"] == 15

    other, _ = make_workspace(tmp_path / "other", single.urls)
    (other / "astra-ls.toml").write_text((root / "astra-ls.toml").read_text())
    pulled = other / ".astra" / "notes.jsonl"
    code, answer = cli(capsys, "pull", "notes", "--workspace", str(other), "--remote", remote)
    assert code == 0 and answer["streams"][0]["pulled"] == 15
    assert pulled.read_bytes() == store_file.read_bytes()
    assert cli(capsys, "pull", "--workspace", str(other), "--remote", remote)[1]["streams"][0]["pulled"] == 0
    assert cli(capsys, "append", "notes", event(99), *common)[0] == 0
    assert cli(capsys, "pull", "--workspace", str(other), "--remote", remote)[1]["streams"][0]["pulled"] == 1
    assert pulled.read_text().splitlines()[-1] == event(99).replace(" ", "")


def test_push_refuses_a_remote_stream_that_is_something_else(make_workspace: MakeWorkspace, tmp_path: Path,
        single: Any,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    root, remote = make_workspace(tmp_path / "ws", single.urls)
    common = ["--workspace", str(root), "--remote", remote]
    assert cli(capsys, "append", "notes", event(1), *common)[0] == 0
    (root / ".astra").mkdir()
    (root / ".astra" / "notes.jsonl").write_text(event(2) + "\n" + event(3) + "\n")
    code, answer = cli(capsys, "push", "notes", *common)
    assert code == 1 and answer["code"] == "DIVERGED"
    assert cli(capsys, "count", "notes", *common)[1]["count"] == 1


def test_remote_stores_are_append_only(make_workspace: MakeWorkspace, tmp_path: Path,
        single: Any, capsys: pytest.CaptureFixture[str]) -> None:
    root, remote = make_workspace(tmp_path / "ws", single.urls)
    common = ["--workspace", str(root), "--remote", remote]
    assert cli(capsys, "append", "notes", event(1), *common)[0] == 0
    code, answer = cli(capsys, "quarantine", "notes", *common)
    assert code == 1 and answer["code"] == "READ_ONLY"


def test_an_unreachable_server_is_a_clear_error(make_workspace: MakeWorkspace, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    root, remote = make_workspace(tmp_path / "ws", ["nats://127.0.0.1:1"], timeout=1.0, retry_seconds=0)
    code, answer = cli(capsys, "count", "notes", "--workspace", str(root), "--remote", remote)
    assert code == 1 and answer["code"] == "UNREACHABLE"
    assert "nats://127.0.0.1:1" in answer["message"]
