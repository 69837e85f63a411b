"""Torture suite plumbing: soak gating, a per-scenario scoreboard, real workspaces.

Every test names its scenario with `@pytest.mark.scenario("...")`; the first line of its docstring says
what it checks, and it reports how many runs (writers, kills, fuzz inputs, ...) it made through the
`board` fixture. With `ASTRA_TORTURE_REPORT=<file>` set, the scoreboard is written there as JSON when
the session ends (scripts/torture.sh prints it as a table).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .support import Workspace

SOAK = os.environ.get("ASTRA_SOAK") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scenario(name): the torture scenario a test belongs to")
    config.stash[_ROWS] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="soak run: set ASTRA_SOAK=1 (or run scripts/torture.sh)")
    for item in items:
        if "soak" in item.keywords and not SOAK:
            item.add_marker(skip)


@dataclass
class Row:
    scenario: str
    test: str
    checked: str
    runs: int = 0
    outcome: str = "not run"
    failure: str = ""


_ROWS = pytest.StashKey[dict[str, Row]]()


@dataclass
class Board:
    """What a test reports about itself: how many runs it made, and optional notes."""

    runs: int = 0
    notes: list[str] = field(default_factory=list)

    def ran(self, count: int = 1) -> None:
        self.runs += count


def _row(item: pytest.Item) -> Row:
    rows = item.config.stash[_ROWS]
    if item.nodeid not in rows:
        marker = item.get_closest_marker("scenario")
        scenario = str(marker.args[0]) if marker else Path(str(item.fspath)).stem.removeprefix("test_")
        doc = (getattr(item, "obj", None).__doc__ or "").strip().splitlines() if hasattr(item, "obj") else []
        rows[item.nodeid] = Row(scenario, item.name, doc[0] if doc else item.name)
    return rows[item.nodeid]


@pytest.fixture
def board(request: pytest.FixtureRequest) -> Iterator[Board]:
    found = Board()
    yield found
    _row(request.node).runs = found.runs


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield
    row = _row(item)
    if report.skipped and row.outcome == "not run":
        row.outcome = "skipped"
        row.failure = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""
    elif report.failed:
        row.outcome = "failed" if report.when == "call" else f"error ({report.when})"
        row.failure = report.longreprtext.strip().splitlines()[-1][:300] if report.longreprtext else ""
    elif report.when == "call" and report.passed:
        row.outcome = "passed"
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("ASTRA_TORTURE_REPORT")
    rows = session.config.stash.get(_ROWS, {})
    if not target or not rows:
        return
    document: list[dict[str, Any]] = [row.__dict__ for row in rows.values()]
    Path(target).write_text(json.dumps(document, indent=1))


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    (root / ".astra").mkdir(parents=True)
    return Workspace(root)
