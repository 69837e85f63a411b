"""Time travel by time is the original design's `replayTo`: every event whose timestamp is at or before T,
in file order, and an answer that says when the store is not in time order (CLI, server, hover)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from astra_ls.core.facts import canonical_json
from astra_ls.projections.agent import PROJECTOR as AGENT
from astra_ls.projections.replay import Replayer
from astra_ls.projections.time_travel import state_at_time
from astra_ls.store.file_store import FileEventStore

from .design_logs import astra, astra_json, ms, side_chain_agent_log, write_events
from .editor import start_editor


def design_replay_to(events: list[dict[str, Any]], moment: float) -> Any:
    """`replayTo`: filter by timestamp, then fold in order (the projector's plain fold, from scratch)."""
    state = AGENT.initial()
    for event in events:
        if isinstance(event.get("timestamp"), int | float) and event["timestamp"] <= moment:
            state = AGENT.apply(state, event)
    return state


def test_cli_folds_only_events_at_or_before_the_time(tmp_path: Path) -> None:
    events = side_chain_agent_log()
    path = write_events(tmp_path, "agent-run", events)
    answer = astra_json("project", str(path), "--at-time", "2026-03-04T22:54:00Z")
    assert [t["tool"] for t in answer["state"]["tools"]] == ["grep"]  # not the 22:55:34 deploy
    assert answer["state"] == design_replay_to(events, ms("22:54:00"))
    assert (answer["events"], answer["line"], answer["skippedEvents"]) == (5, 6, 1)
    assert answer["outOfOrder"] is True and answer["outOfOrderEvents"] == 1
    text = astra("project", str(path), "--at-time", str(ms("22:54:00")))
    assert text.returncode == 0 and "not in time order" in text.stderr and "1 event(s)" in text.stderr
    # By line, as before: the first N lines, and still the warning that the store is out of order.
    by_line = astra_json("project", str(path), "--at-line", "6")
    assert [t["tool"] for t in by_line["state"]["tools"]] == ["deploy", "grep"] and by_line["outOfOrder"]


def test_in_order_store_says_so(tmp_path: Path) -> None:
    events = sorted(side_chain_agent_log(), key=lambda e: e["timestamp"])
    path = write_events(tmp_path, "agent-run", events)
    answer = astra_json("project", str(path), "--at-time", str(ms("22:54:00")))
    assert answer["outOfOrder"] is False and answer["skippedEvents"] == 0 and answer["events"] == 5
    assert "not in time order" not in astra("project", str(path), "--at-time", str(ms("22:54:00"))).stderr


def test_checkpoints_give_the_design_answer_on_a_big_shuffled_store(tmp_path: Path) -> None:
    """Checkpoints every few events, a store whose times jump back and forth: every moment's answer is
    the design's filter-then-fold."""
    rng = random.Random(7)
    events: list[dict[str, Any]] = [{"type": "TaskReceived", "timestamp": 0, "taskDescription": "t",
                                     "constraints": []}]
    for n in range(1, 400):
        stamp = n * 1000 + rng.choice([0, 0, 0, -30_000, 45_000])
        if n % 3:
            events.append({"type": "ToolInvoked", "timestamp": stamp, "tool": f"t{n}", "input": {}})
        else:
            events.append({"type": "ToolResultReceived", "timestamp": stamp, "tool": f"t{n - 1}", "output": n,
                           "success": True})
    events.insert(50, {"type": "ToolInvoked", "tool": "untimed", "input": {}})
    write_events(tmp_path, "agent-x", events)
    store = FileEventStore(tmp_path)
    analysis, read = store.analysis("agent-x"), store.reader("agent-x")
    replayer = Replayer(AGENT, every=16)
    for moment in [-1, 0, 500, 35_000, 120_500, 200_000, 399_000, 10**9, *rng.sample(range(0, 450_000), 40)]:
        found = state_at_time(replayer, analysis, read, moment)
        assert canonical_json(found.state) == canonical_json(design_replay_to(events, moment)), moment


async def test_server_command_and_hover(tmp_path: Path) -> None:
    events = side_chain_agent_log()
    path = write_events(tmp_path, "agent-run", events)
    async with start_editor(tmp_path) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 1)  # the ASTRA021 of the side chain
        answer = await editor.command("astra.projectAt", {"store": path.as_uri(), "timestamp": "2026-03-04T22:54:00Z"})
        assert [t["tool"] for t in answer["state"]["tools"]] == ["grep"]
        assert answer["outOfOrder"] is True and answer["skippedEvents"] == 1
        hover = await editor.hover(path, 5)
        assert "not in time order" in hover
