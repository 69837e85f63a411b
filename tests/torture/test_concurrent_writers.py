"""Concurrent writers: engine, CLI and server appends racing on one store while the server watches it."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from .conftest import SOAK, Board
from .rawlsp import RawServer, server_unavailable
from .support import PYTHON, Workspace, child_env, cli, cli_json, lines_of

WORKER = str(Path(__file__).with_name("worker.py"))
STREAM = "shared"
SEED = b"this line is not JSON\n"  # one known problem, so diagnostics have something to agree on


@dataclass(frozen=True)
class Plan:
    engine: tuple[int, ...]  # appends per engine writer process
    cli: tuple[int, ...]  # appends per CLI writer (one process per append)
    server: tuple[int, ...]  # appends per writer sending astra.append to the language server

    @property
    def total(self) -> int:
        return sum(self.engine) + sum(self.cli) + sum(self.server)


FAST = Plan(engine=(200, 200, 200), cli=(6, 6), server=(100, 100, 100))
FULL = Plan(engine=(2000,) * 4, cli=(2000,) * 2, server=(2000,) * 2)


@pytest.fixture
def server(workspace: Workspace) -> Iterator[RawServer]:
    reason = server_unavailable()
    if reason:
        pytest.skip(reason)
    running = RawServer(workspace.root)
    running.initialize()
    yield running
    running.shutdown()


def engine_writer(workspace: Workspace, name: str, count: int, errors: list[str]) -> None:
    done = subprocess.run([PYTHON, WORKER, "append", str(workspace.root), STREAM, name, str(count)],
                          capture_output=True, text=True, env=child_env(), timeout=1800, check=False)
    if done.returncode != 0 or done.stdout.count("ACK ") != count:
        errors.append(f"engine writer {name}: rc={done.returncode} {done.stdout[-300:]} {done.stderr[-1000:]}")


def cli_writer(workspace: Workspace, name: str, count: int, errors: list[str]) -> None:
    for seq in range(count):
        event = orjson.dumps({"type": "Tick", "id": f"w{name}-{seq}", "writer": name, "seq": seq}).decode()
        done = cli("append", STREAM, event, "--workspace", workspace.root, "--format", "json")
        if done.returncode != 0:
            errors.append(f"cli writer {name} append {seq}: {done.stdout} {done.stderr[-500:]}")
            return


def server_writer(server: RawServer, name: str, count: int, errors: list[str]) -> None:
    for seq in range(count):
        event = {"type": "Tick", "id": f"w{name}-{seq}", "writer": name, "seq": seq}
        answer = server.command("astra.append", {"store": STREAM, "event": event})
        if not answer.get("ok"):
            errors.append(f"server writer {name} append {seq}: {answer}")
            return


def race(workspace: Workspace, plan: Plan, server: RawServer | None) -> None:
    errors: list[str] = []
    threads: list[threading.Thread] = []
    for index, count in enumerate(plan.engine):
        threads.append(threading.Thread(target=engine_writer, args=(workspace, f"e{index}", count, errors)))
    for index, count in enumerate(plan.cli):
        threads.append(threading.Thread(target=cli_writer, args=(workspace, f"c{index}", count, errors)))
    for index, count in enumerate(plan.server):
        assert server is not None
        threads.append(threading.Thread(target=server_writer, args=(server, f"s{index}", count, errors)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]


def assert_store_holds(workspace: Workspace, plan: Plan) -> list[dict[str, Any]]:
    """Every line one whole valid event, exactly plan.total of them, each writer's in its own order."""
    raw_lines = lines_of(workspace.read(STREAM))
    assert raw_lines[0] == SEED.strip()
    events = []
    for number, raw in enumerate(raw_lines[1:], start=2):
        event = orjson.loads(raw)  # raises on a glued or torn line
        assert isinstance(event, dict) and set(event) == {"type", "id", "writer", "seq"}, (number, raw[:200])
        events.append(event)
    assert len(events) == plan.total
    assert len({e["id"] for e in events}) == plan.total, "an event was written twice"
    by_writer: dict[str, list[int]] = {}
    for event in events:
        by_writer.setdefault(event["writer"], []).append(event["seq"])
    expected = {f"e{i}": n for i, n in enumerate(plan.engine)} | {f"c{i}": n for i, n in enumerate(plan.cli)} \
        | {f"s{i}": n for i, n in enumerate(plan.server)}
    for writer, count in expected.items():
        if count:
            assert by_writer.get(writer) == list(range(count)), f"writer {writer}'s events out of order or missing"
    return events


def assert_server_agrees(workspace: Workspace, server: RawServer, plan: Plan) -> None:
    uri = workspace.path(STREAM).absolute().as_uri()
    checked = cli_json("check", workspace.path(STREAM))["files"][0]
    fresh_count = cli_json("count", STREAM, "--workspace", workspace.root)
    assert checked["events"] == fresh_count["count"] == plan.total
    expected = sorted((p["line"] - 1, p["code"]) for p in checked["problems"])

    def settled() -> bool:
        published = server.diagnostics.get(uri)
        if published is None:
            return False
        return sorted((d["range"]["start"]["line"], d["code"]) for d in published) == expected

    server.wait_until(settled, "the server's diagnostics to match a fresh astra-ls check")
    assert server.command("astra.count", {"store": STREAM}) == fresh_count


def run_plan(workspace: Workspace, server: RawServer | None, plan: Plan, board: Board) -> None:
    workspace.write(STREAM, SEED)
    race(workspace, plan, server)
    assert_store_holds(workspace, plan)
    if server is not None:
        assert_server_agrees(workspace, server, plan)
    board.ran(len(plan.engine) + len(plan.cli) + len(plan.server))


@pytest.mark.scenario("concurrent writers")
def test_engine_cli_and_server_writers_race_while_the_server_watches(workspace: Workspace, server: RawServer,
                                                                    board: Board) -> None:
    """8 writers (engine, CLI, server) append at once: 912 whole events, ordered, server agrees with check."""
    run_plan(workspace, server, FAST, board)


@pytest.mark.soak
@pytest.mark.scenario("concurrent writers")
def test_8_writers_x_2000_appends_soak(workspace: Workspace, server: RawServer, board: Board) -> None:
    """8 writers x 2,000 appends (4 engine, 2 CLI, 2 server): 16,000 events, server agrees with check."""
    assert SOAK
    run_plan(workspace, server, FULL, board)
    assert FULL.total == 16_000
