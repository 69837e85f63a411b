"""Crashes: writers killed with SIGKILL mid-append, mid-quarantine, mid-compaction lose nothing acknowledged."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from astra_ls.core.codes import CODES, Severity
from astra_ls.store.file_store import FileEventStore

from .conftest import Board
from .support import PYTHON, Workspace, child_env, lines_of, logical_events, parse_event, quarantined_raw

WORKER = str(Path(__file__).with_name("worker.py"))
STREAM = "crashy"


class Ledger:
    """What killed writers were told was done."""

    def __init__(self) -> None:
        self.acked: list[str] = []
        self.junk: list[str] = []

    def absorb(self, output: str) -> None:
        for line in output.splitlines():
            kind, _, value = line.partition(" ")
            if kind == "ACK":
                self.acked.append(value)
            elif kind == "JUNK":
                self.junk.append(value)


def kill_at_random(workspace: Workspace, writer: int, rng: random.Random, ledger: Ledger) -> None:
    process = subprocess.Popen([PYTHON, WORKER, "chaos", str(workspace.root), STREAM, str(writer),
                                str(rng.randrange(2**32))], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=child_env())
    assert process.stdout is not None
    ready = process.stdout.readline()
    assert ready.strip() == "READY", f"worker did not start: {ready!r}"
    time.sleep(rng.uniform(0.0, 0.35))
    process.send_signal(signal.SIGKILL)
    output, errors = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, f"worker died on its own ({process.returncode}): {errors[-2000:]}"
    ledger.absorb(output)


def assert_nothing_lost(workspace: Workspace, ledger: Ledger) -> None:
    data = workspace.read(STREAM) if workspace.path(STREAM).exists() else b""
    events = logical_events(workspace.root, data)
    ids = Counter(str(e.get("id")) for e in events)
    duplicated = [i for i, n in ids.items() if n > 1]
    assert not duplicated, f"events duplicated across store and archives: {duplicated[:5]}"
    missing = [i for i in ledger.acked if ids[i] != 1]
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {missing[:5]}"

    quarantined = {raw.decode("utf-8", "replace") for raw in quarantined_raw(workspace.root, STREAM)}
    in_store = {raw.decode("utf-8", "replace") for raw in lines_of(data)}
    lost_junk = [j for j in ledger.junk if j not in quarantined and j not in in_store]
    assert not lost_junk, f"foreign lines lost (neither in the store nor in quarantine): {lost_junk[:5]}"

    torn = [n for n, raw in enumerate(lines_of(data))
            if parse_event(raw) is None and not raw.startswith(b"junk-")]
    assert len(torn) <= 1, f"{len(torn)} torn lines at {torn}: at most one may exist"
    if torn:
        store = FileEventStore(workspace.root)
        flagged = {p.line for p in store.problems(STREAM) if p.severity is Severity.ERROR
                   and CODES[p.code].malformed}
        assert torn[0] in flagged, f"torn line {torn[0] + 1} is not flagged as malformed"


def crash_many(workspace: Workspace, board: Board, kills: int, seed: int) -> None:
    rng = random.Random(seed)
    ledger = Ledger()
    for kill in range(kills):
        kill_at_random(workspace, kill, rng, ledger)
        board.ran()
        assert_nothing_lost(workspace, ledger)
    assert ledger.acked, "no writer ever acknowledged an append: the kills came too early to test anything"
    archives = list((workspace.astra / "archive").glob("*.jsonl.gz"))
    assert archives, "no compaction ever finished: the test never exercised compaction"


@pytest.mark.scenario("crash: SIGKILL writers")
def test_killed_writers_lose_nothing_acknowledged(workspace: Workspace, board: Board) -> None:
    """8 writers killed at random during append/quarantine/compaction: every acked event kept once."""
    crash_many(workspace, board, kills=8, seed=6)


@pytest.mark.soak
@pytest.mark.scenario("crash: SIGKILL writers")
def test_killed_writers_soak(workspace: Workspace, board: Board) -> None:
    """200 writers killed at random during append/quarantine/compaction: every acked event kept once."""
    crash_many(workspace, board, kills=200, seed=2006)
