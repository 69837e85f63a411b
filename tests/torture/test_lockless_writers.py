"""Writers that take no lock (plain O_APPEND, like Node's `appendFileSync`) while `compact` and
`quarantine` rewrite the store, through the CLI as processes and the language server's commands.

Each writer is its own process and prints `ACK <id>` after each write returned: every acknowledged
event must be in the store, or folded into a snapshot through its archive, exactly once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from .conftest import SOAK, Board
from .rawlsp import RawServer, server_unavailable
from .support import PYTHON, Workspace, cli, lines_of, logical_events, parse_event, quarantined_raw

STREAM = "shared"
ROUNDS = 40 if SOAK else 8
JUNK = b"not JSON, written without a lock\n"

# A careless writer: open with O_APPEND, write one line, close; acknowledge once the write returned.
PY_WRITER = r"""
import os, sys, time
path, name, stop = sys.argv[1:4]
seq = 0
while not os.path.exists(stop):
    ident = f"{name}-{seq}"
    line = ('{"type":"Tick","id":"%s","writer":"%s","seq":%d}\n' % (ident, name, seq)).encode()
    with open(path, "ab") as handle:
        handle.write(line)
    sys.stdout.write(f"ACK {ident}\n")
    sys.stdout.flush()
    seq += 1
    time.sleep(0.0005)
"""

# The writer the product accompanies: Node's appendFileSync(JSON + "\n").
NODE_WRITER = r"""
const fs = require("fs");
const [path, name, stop] = process.argv.slice(1);  // node -e CODE ARGS: argv[1] is the first ARG
const pause = new Int32Array(new SharedArrayBuffer(4));
for (let seq = 0; !fs.existsSync(stop); seq++) {
  const id = `${name}-${seq}`;
  fs.appendFileSync(path, JSON.stringify({type: "Tick", id, writer: name, seq}) + "\n");
  fs.writeSync(1, `ACK ${id}\n`);
  Atomics.wait(pause, 0, 0, 0.5);
}
"""


class Writers:
    """Lockless writer processes appending to one store until stopped."""

    def __init__(self, workspace: Workspace, with_node: bool = True) -> None:
        self.stop = workspace.root / "stop-writers"
        self.stop.unlink(missing_ok=True)
        path = str(workspace.path(STREAM))
        commands = [[PYTHON, "-c", PY_WRITER, path, "py0", str(self.stop)],
                    [PYTHON, "-c", PY_WRITER, path, "py1", str(self.stop)]]
        node = shutil.which("node")
        if with_node and node:
            commands.append([node, "-e", NODE_WRITER, path, "node0", str(self.stop)])
        # Acknowledgements go to files: a pipe nobody reads until the end would fill and stall the writers.
        self.logs = [workspace.root / f"writer-{index}.acks" for index in range(len(commands))]
        self.processes = []
        for command, log in zip(commands, self.logs, strict=True):
            with log.open("wb") as out:
                self.processes.append(subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE))

    def finish(self) -> list[str]:
        """Stop the writers; the ids they acknowledged."""
        self.stop.touch()
        acked: list[str] = []
        for process, log in zip(self.processes, self.logs, strict=True):
            try:
                _, err = process.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                for other in self.processes:
                    other.kill()
                raise
            assert process.returncode == 0, f"writer failed: {err.decode()[-500:]}"
            acked.extend(line.split(" ", 1)[1] for line in log.read_text().splitlines() if line.startswith("ACK "))
        return acked


@pytest.fixture
def seeded(workspace: Workspace) -> Workspace:
    workspace.write(STREAM, b"".join(b'{"type":"Tick","id":"seed-%d"}\n' % n for n in range(20)))
    return workspace


def assert_each_once(acked: list[str], kept: list[str]) -> None:
    counts = Counter(kept)
    lost = [ident for ident in acked if counts[ident] == 0]
    doubled = [ident for ident in acked if counts[ident] > 1]
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged appends lost, e.g. {lost[:5]}"
    assert not doubled, f"{len(doubled)} acknowledged appends kept twice, e.g. {doubled[:5]}"
    assert len(set(acked)) == len(acked)


def compacted_ids(workspace: Workspace) -> list[str]:
    events = logical_events(workspace.root, workspace.read(STREAM))
    return [str(e["id"]) for e in events if "writer" in e]


def run_rounds(workspace: Workspace, command: str, rounds: int, board: Board) -> tuple[list[str], int]:
    writers = Writers(workspace)
    refusals = 0
    try:
        for _ in range(rounds):
            time.sleep(0.1)
            if command == "quarantine":
                with open(workspace.path(STREAM), "ab") as handle:  # a bad line, also without a lock
                    handle.write(JUNK)
            done = cli(command, STREAM, "--workspace", workspace.root, "--format", "json")
            answer = json.loads(done.stdout)
            if not answer["ok"]:
                assert answer["code"] in ("STORE_CHANGED",), answer  # refused untouched: retried next round
                refusals += 1
            board.ran()
    finally:
        acked = writers.finish()
    return acked, refusals


@pytest.mark.scenario("lockless writers: compact")
def test_compact_keeps_lockless_appends(seeded: Workspace, board: Board) -> None:
    """Every append of lockless writer processes survives `astra-ls compact` runs exactly once."""
    acked, _ = run_rounds(seeded, "compact", ROUNDS, board)
    assert len(acked) > ROUNDS * 10
    assert_each_once(acked, compacted_ids(seeded))
    board.notes.append(f"{ROUNDS} compactions, {len(acked)} lockless appends, 0 lost")
    print(board.notes[-1])


@pytest.mark.scenario("lockless writers: quarantine")
def test_quarantine_keeps_lockless_appends(seeded: Workspace, board: Board) -> None:
    """Every append of lockless writer processes survives `astra-ls quarantine` runs exactly once."""
    acked, refusals = run_rounds(seeded, "quarantine", ROUNDS, board)
    stored = [parse_event(raw) for raw in lines_of(seeded.read(STREAM))]
    moved = quarantined_raw(seeded.root, STREAM)
    kept = [str(e["id"]) for e in stored if e and "writer" in e]
    kept += [str(e["id"]) for e in map(parse_event, moved) if e and "writer" in e]
    assert_each_once(acked, kept)
    assert moved.count(JUNK.rstrip(b"\n")) + lines_of(seeded.read(STREAM)).count(JUNK.rstrip(b"\n")) == ROUNDS
    assert moved.count(JUNK.rstrip(b"\n")) >= ROUNDS - refusals - 1
    board.notes.append(f"{ROUNDS} quarantines, {len(acked)} lockless appends, 0 lost")
    print(board.notes[-1])


@pytest.fixture
def server(seeded: Workspace) -> Iterator[RawServer]:
    reason = server_unavailable()
    if reason:
        pytest.skip(reason)
    running = RawServer(seeded.root)
    running.initialize()
    yield running
    running.shutdown()


@pytest.mark.scenario("lockless writers: server commands")
def test_server_commands_keep_lockless_appends(seeded: Workspace, server: RawServer, board: Board) -> None:
    """astra.compact and astra.quarantine from a client keep every lockless append exactly once."""
    writers = Writers(seeded)
    try:
        for command in ("astra.quarantine", "astra.compact", "astra.quarantine", "astra.compact"):
            time.sleep(0.2)
            if command == "astra.quarantine":
                with open(seeded.path(STREAM), "ab") as handle:
                    handle.write(JUNK)
            answer = server.command(command, {"store": STREAM})
            assert answer["ok"], answer
            board.ran()
    finally:
        acked = writers.finish()
    kept = compacted_ids(seeded)
    kept += [str(e["id"]) for e in map(parse_event, quarantined_raw(seeded.root, STREAM)) if e and "writer" in e]
    assert_each_once(acked, kept)


def test_no_temp_file_left(seeded: Workspace) -> None:
    """A rewrite leaves no temporary file beside the store."""
    cli("compact", STREAM, "--workspace", seeded.root)
    assert sorted(p.name for p in seeded.astra.iterdir() if p.name.startswith(".") and p.is_file()) == []
    assert os.listdir(seeded.astra / "archive")[0].endswith(".jsonl.gz")
