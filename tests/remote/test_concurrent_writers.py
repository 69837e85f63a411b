"""Several `astra-ls append --remote` processes at once, sharing one local mirror: an append that JetStream
stored is answered ok, and lands exactly once; only UNREACHABLE may leave an append's fate unknown.

The mirror is shared by every process on the machine (it lives in the user cache folder), so one
process's sync runs while another is between publishing and reading its answer back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from astra_ls.config import load_config
from astra_ls.remote.jetstream import Message, publish
from astra_ls.remote.mirror import Mirror
from astra_ls.remote.store import RemoteStore, find_remote
from astra_ls.store.locking import stream_lock

MakeWorkspace = Callable[..., tuple[Path, str]]

WRITER = """
import json, subprocess, sys
root, remote, writer, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for n in range(count):
    event = json.dumps({"type": "Noted", "id": f"{writer}-{n}", "timestamp": 1_700_000_000_000 + n})
    done = subprocess.run([sys.executable, "-m", "astra_ls", "append", "notes", event, "--workspace", root,
                           "--remote", remote, "--trust", "--format", "json"], capture_output=True, text=True)
    print(json.dumps({"id": f"{writer}-{n}", "exit": done.returncode, "out": done.stdout, "err": done.stderr[-2000:]}),
          flush=True)
"""


def cli(*args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "astra_ls", *args, "--format", "json"], capture_output=True,
                          text=True, timeout=120)
    return json.loads(done.stdout)


def run_writers(root: Path, remote: str, writers: int, appends: int, round_: int) -> list[dict[str, Any]]:
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), remote, f"r{round_}w{w}", str(appends)],
                              stdout=subprocess.PIPE, text=True) for w in range(writers)]
    answers = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        answers += [json.loads(line) for line in out.splitlines()]
    return answers


def stored_ids(root: Path, remote: str) -> Counter[str]:
    """The ids the server holds, read by a fresh process with a mirror of its own."""
    env = {**os.environ, "ASTRA_LS_CACHE_DIR": str(root / "fresh-cache")}
    done = subprocess.run([sys.executable, "-m", "astra_ls", "query", "notes", "--workspace", str(root),
                           "--remote", remote, "--trust", "--format", "json", "--limit", "1000000"],
                          capture_output=True, text=True, env=env, timeout=120)
    answer = json.loads(done.stdout)
    assert answer["ok"], answer
    return Counter(e["event"]["id"] for e in answer["events"])


ROUNDS = int(os.environ.get("ASTRA_REMOTE_ROUNDS", "2"))  # rounds of 4 writers x 8 appends each
NODES = [1, 3] if os.environ.get("ASTRA_SOAK") == "1" else [1]


@pytest.mark.parametrize("nodes", NODES)
def test_concurrent_cli_writers_get_every_stored_append_acknowledged(make_workspace: MakeWorkspace, tmp_path: Path,
                                                                      request: pytest.FixtureRequest,
                                                                      nodes: int) -> None:
    servers = request.getfixturevalue("single" if nodes == 1 else "cluster")
    root, remote = make_workspace(tmp_path / "ws", servers.urls, replicas=nodes, timeout=5.0, retry_seconds=20.0)
    acknowledged: list[str] = []
    refused = []
    for round_ in range(ROUNDS):
        for answer in run_writers(root, remote, writers=4, appends=8, round_=round_):
            out = json.loads(answer["out"]) if answer["out"].strip() else {}
            if answer["exit"] == 0 and out.get("ok"):
                acknowledged.append(answer["id"])
            else:
                refused.append(answer)
    stored = stored_ids(root, remote)
    print(f"{nodes} node(s): {ROUNDS} rounds, {len(acknowledged)} appends acknowledged, {len(refused)} refused, "
          f"{len(stored)} stored")
    assert refused == []
    assert sorted(stored) == sorted(acknowledged)
    assert set(stored.values()) == {1}


def _wait_for_lock_waiter(lock: Path, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """Until `proc` waits for the lock (Linux's /proc/locks lists blocked flock requests with '->')."""
    inode = lock.stat().st_ino
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if "->" in fields and fields[-3].endswith(f":{inode}") and fields[5] == str(proc.pid):
                return
        time.sleep(0.02)
    raise AssertionError("the append never waited for the stream lock")


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's /proc/locks to see a lock waiter")
def test_a_sync_that_waited_for_the_lock_keeps_the_mirror_another_process_grew(
        make_workspace: MakeWorkspace, tmp_path: Path, single: Any) -> None:
    """Another process grows the shared mirror while an append waits for the stream lock: the append must
    not take the mirror's newer end for a purged stream and throw the mirror away."""
    root, remote = make_workspace(tmp_path / "ws", single.urls)
    first = cli("append", "notes", json.dumps({"type": "Noted", "id": "e-0", "timestamp": 1}),
                "--workspace", str(root), "--remote", remote, "--trust")
    assert first["ok"], first
    config = load_config(root)
    store = RemoteStore(find_remote(config, remote), root, config, trusted=True)
    try:
        path = store.path_of("notes")
        inode = path.stat().st_ino
        with stream_lock(path):
            lock = path.parent / ".locks" / f"{path.name}.lock"
            proc = subprocess.Popen([sys.executable, "-m", "astra_ls", "append", "notes",
                                     json.dumps({"type": "Noted", "id": "e-2", "timestamp": 3}), "--workspace",
                                     str(root), "--remote", remote, "--trust", "--format", "json"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            _wait_for_lock_waiter(lock, proc)
            # what another writer does meanwhile: publish, and sync the shared mirror (under the lock)
            js = store.link.jetstream()
            subject = store.remote.subject_of("notes")
            payload = json.dumps({"type": "Noted", "id": "e-1", "timestamp": 2}).encode()
            published = store.link.run(publish(js, store.remote, subject, payload, "m-e-1", None))
            mirror = Mirror(path)
            mirror.load()
            mirror.add([Message(published.seq, payload, "m-e-1")])
        out, err = proc.communicate(timeout=120)
        answer = json.loads(out)
        assert answer["ok"] and answer["count"] == 3 and answer["line"] == 3, (answer, err)
        assert path.stat().st_ino == inode, "the mirror was thrown away and rebuilt"
    finally:
        store.close()


@pytest.mark.parametrize("how", ["purge", "re-create"])
def test_a_purged_or_re_created_stream_rebuilds_the_mirror(make_workspace: MakeWorkspace, tmp_path: Path,
                                                           single: Any, how: str) -> None:
    root, remote = make_workspace(tmp_path / "ws", single.urls)
    common = ["--workspace", str(root), "--remote", remote, "--trust"]
    for n in range(3):
        assert cli("append", "notes", json.dumps({"type": "Noted", "id": f"e-{n}", "timestamp": n}), *common)["ok"]
    config = load_config(root)
    store = RemoteStore(find_remote(config, remote), root, config, trusted=True)
    try:
        js = store.link.jetstream()
        if how == "purge":
            store.link.run(js.purge_stream(store.remote.js_stream, subject=store.remote.subject_of("notes")))
        else:
            store.link.run(js.delete_stream(store.remote.js_stream))
    finally:
        store.close()
    answer = cli("append", "notes", json.dumps({"type": "Noted", "id": "after", "timestamp": 9}), *common)
    assert answer["ok"] and answer["count"] == 1 and answer["line"] == 1, answer
    assert cli("query", "notes", *common)["events"] == [{"line": 1, "event": {"type": "Noted", "id": "after",
                                                                             "timestamp": 9}}]
