"""A three-node JetStream cluster (replicas=3) losing nodes, the leader included, during appends.

Whatever happens, every acknowledged event is in the stream exactly once: retries are de-duplicated by
Nats-Msg-Id, and an acknowledgement means a majority of the replicas stored the event.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from astra_ls.config import load_config
from astra_ls.remote.store import RemoteStore, find_remote

MakeWorkspace = Callable[..., tuple[Path, str]]


def open_store(root: Path, remote: str) -> RemoteStore:
    config = load_config(root)
    return RemoteStore(find_remote(config, remote), root, config, trusted=True)


def stream_leader(store: RemoteStore) -> str:
    async def ask() -> str:
        info = await store.link.jetstream().stream_info(store.remote.js_stream)
        assert info.cluster is not None and info.cluster.leader
        return info.cluster.leader

    leader: str = store.link.run(ask())
    return leader


class Appender(threading.Thread):
    """Appends numbered events one after another, remembering which ones were acknowledged."""

    def __init__(self, store: RemoteStore, total: int, expected_counts: bool) -> None:
        super().__init__(daemon=True)
        self.store, self.total, self.expected_counts = store, total, expected_counts
        self.acked: list[str] = []
        self.refused: list[Any] = []
        self.progress = threading.Semaphore(0)

    def run(self) -> None:
        for n in range(self.total):
            event = {"type": "Tick", "id": f"t-{n}", "timestamp": 1_700_000_000_000 + n}
            expected = len(self.acked) if self.expected_counts else None
            result = self.store.append("ticks", event, expected)
            if result.ok:
                self.acked.append(event["id"])
            else:
                self.refused.append(result)
            self.progress.release()


def ids_in(store: RemoteStore) -> Counter[str]:
    store.analysis("ticks")
    data = store.path_of("ticks").read_bytes()
    return Counter(msgspec.json.decode(line)["id"] for line in data.splitlines())


@pytest.mark.parametrize("victim", ["leader", "follower"])
def test_every_acknowledged_event_survives_a_killed_node_once(make_workspace: MakeWorkspace, tmp_path: Path,
        cluster: Any, victim: str) -> None:
    root, remote = make_workspace(tmp_path / "ws", cluster.urls, replicas=3, retry_seconds=30.0, timeout=2.0)
    store = open_store(root, remote)
    try:
        assert store.append("ticks", {"type": "Tick", "id": "t-start", "timestamp": 1_699_999_999_999}).ok
        leader = stream_leader(store)
        names = [node.name for node in cluster.nodes]
        killed = leader if victim == "leader" else next(n for n in names if n != leader)
        appender = Appender(store, 60, expected_counts=True)
        appender.acked.append("t-start")
        appender.start()
        for _ in range(15):
            appender.progress.acquire()
        cluster.node_named(killed).kill()
        appender.join(90)
        assert not appender.is_alive()
        # Two of three replicas stay up: after retries, every append succeeds.
        assert [r.message for r in appender.refused] == []
        # Bring the node back: it catches up from the others, and nothing is counted twice.
        cluster.node_named(killed).start(cluster.binary)
        found = ids_in(store)
        assert set(appender.acked) <= set(found)
        assert [i for i, n in found.items() if n > 1] == []
        assert store.analysis("ticks").event_count() == len(appender.acked)
    finally:
        store.close()


def test_appends_without_expected_count_are_never_duplicated_across_a_leader_kill(
        make_workspace: MakeWorkspace, tmp_path: Path, cluster: Any) -> None:
    root, remote = make_workspace(tmp_path / "ws", cluster.urls, replicas=3, retry_seconds=30.0, timeout=2.0)
    store = open_store(root, remote)
    reader = open_store(root, remote)
    try:
        assert store.append("ticks", {"type": "Tick", "id": "t-start", "timestamp": 1_699_999_999_999}).ok
        appender = Appender(store, 60, expected_counts=False)
        appender.acked.append("t-start")
        appender.start()
        for _ in range(10):
            appender.progress.acquire()
        cluster.node_named(stream_leader(store)).kill()
        appender.join(90)
        found = ids_in(reader)  # a second client: what other machines see
        assert set(appender.acked) <= set(found)
        assert [i for i, n in found.items() if n > 1] == []
    finally:
        store.close()
        reader.close()
