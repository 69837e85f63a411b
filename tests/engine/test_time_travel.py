"""Time travel through checkpoints gives exactly what a full replay gives, on real store files."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from astra_ls.commands import execute
from astra_ls.core.facts import canonical_json
from astra_ls.projections.base import Projector
from astra_ls.projections.replay import Replayer
from astra_ls.store.file_store import FileEventStore

from .conftest import Workspace

GENERATOR = Path(__file__).parents[2] / "bench" / "generate.py"


def generate(workspace: Workspace, stream: str, events: int, seed: int = 1) -> Path:
    """A realistic conversation log (damaged lines included), written by the benchmark's generator."""
    path = workspace.path(stream)
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(GENERATOR), "--events", str(events), "--out", str(path), "--seed",
                    str(seed)], check=True, capture_output=True, timeout=120)
    return path


def in_place(projector: Projector) -> Projector:
    """The same projector without copy-on-write folding: the plain fold a replay from line 1 uses."""
    return Projector(projector.name, projector.initial, projector.apply)


def full_replay(store: FileEventStore, stream: str, line: int) -> bytes:
    replayer = Replayer(in_place(store.setup(stream).projector), every=10**9)
    return canonical_json(replayer.state_after(store.analysis(stream), store.reader(stream), line))


def through(store: FileEventStore, stream: str, line: int) -> Any:
    return store.replayer(stream).state_after(store.analysis(stream), store.reader(stream), line)


def agent_events(count: int) -> list[dict[str, Any]]:
    """Tool calls whose results arrive many events later, so they change calls a checkpoint holds."""
    events: list[dict[str, Any]] = [{"type": "TaskReceived", "timestamp": 0, "taskDescription": "t",
                                     "constraints": ["c"]},
                                    {"type": "PlanCreated", "timestamp": 1, "steps": ["a", "b"]}]
    for n in range(2, count):
        kind = ("ToolInvoked", "ToolResultReceived", "StepStarted", "ReplanningTriggered")[n % 4]
        events.append({"type": kind, "timestamp": n, "tool": f"t{n % 7}", "input": {"n": n}, "output": n,
                       "success": n % 3 == 0, "stepIndex": n % 5, "description": "d", "reason": "r",
                       "newSteps": [f"s{n}"]})
    return events


@pytest.fixture
def conversation(workspace: Workspace) -> FileEventStore:
    generate(workspace, "conversation", 30_000)
    return workspace.store()


def test_time_travel_in_any_order_matches_a_full_replay(conversation: FileEventStore) -> None:
    store = conversation
    store.analyses.replayers["conversation"] = Replayer(store.setup("conversation").projector, every=97,
                                                        budget=256 * 1024)
    last = store.analysis("conversation").line_count - 1
    lines = [last, 0, 15_000, 14_999, 29_000, 3, *random.Random(5).sample(range(last), 30), last, -1]
    for line in lines:
        assert canonical_json(through(store, "conversation", line)) == full_replay(store, "conversation", line), \
            f"state after line {line}"


@pytest.mark.parametrize("stream", ["conversation", "agent-run", "customers", "misc"])
def test_folding_on_from_a_checkpoint_never_changes_it(workspace: Workspace, stream: str) -> None:
    """Checkpoints share their parts with each other and with the states handed out: folding on from one
    must copy what it changes, in every built-in projector. With a checkpoint after every event, the
    state after line L is folded on from the checkpoint at L - 1, which must still be what it was."""
    if stream == "conversation":
        generate(workspace, stream, 6_000)
    elif stream == "agent-run":
        workspace.write(stream, agent_events(3_000))
    else:
        workspace.write(stream, [{"id": f"e{n % 50}", "type": f"T{n % 3}", "timestamp": n, "n": n}
                                 for n in range(3_000)])
    store = workspace.store()
    store.analyses.replayers[stream] = Replayer(store.setup(stream).projector, every=1)
    texts = workspace.lines(stream)
    lines = [n for n, text in enumerate(texts) if b"AssistantTokenGenerated" not in text]
    handed = {line: through(store, stream, line) for line in (1_000, 1_001)}
    seen = {line: canonical_json(state) for line, state in handed.items()}
    changing = [n for n in lines if b"FeedbackGiven" in texts[n] or b"ToolCallCompleted" in texts[n]]
    for line in sorted({*random.Random(11).sample(lines[2:], 30), *changing[:15]}):
        assert canonical_json(through(store, stream, line)) == full_replay(store, stream, line), f"line {line}"
        assert canonical_json(through(store, stream, line - 1)) == full_replay(store, stream, line - 1), \
            f"the checkpoint before line {line}"
    for line, state in handed.items():
        assert canonical_json(state) == seen[line] == full_replay(store, stream, line), f"state after line {line}"


def test_a_replay_told_to_stop_gives_up_and_the_next_goes_on_from_where_it_stopped(
        conversation: FileEventStore) -> None:
    """What a hover with a time budget relies on: no state when stopped, checkpoints kept up to there."""
    store = conversation
    replayer = store.analyses.replayers["conversation"] = Replayer(store.setup("conversation").projector, every=100)
    analysis, read = store.analysis("conversation"), store.reader("conversation")
    asked = 0

    def after_a_while() -> bool:
        nonlocal asked
        asked += 1
        return asked > 40  # asked every few events: well short of the line wanted

    assert replayer.state_unless(analysis, read, 25_000, after_a_while) is None
    reached = replayer.covered()
    assert 0 < reached < 25_000
    assert replayer.state_unless(analysis, read, reached + 50, lambda: True) is not None  # within one spacing
    assert canonical_json(replayer.state_unless(analysis, read, 25_000, lambda: False)) == \
        full_replay(store, "conversation", 25_000)


def test_checkpoints_stay_dense_while_the_state_grows(conversation: FileEventStore) -> None:
    """A conversation's state grows with the log; a checkpoint must cost what changed since the previous
    one, not the whole state, or the memory budget thins checkpoints out and hovers replay far."""
    replayer = Replayer(conversation.setup("conversation").projector, every=128, budget=2 * 1024 * 1024)
    analysis = conversation.analysis("conversation")
    replayer.state_after(analysis, conversation.reader("conversation"), analysis.line_count - 1)
    assert replayer.every == 128


def test_users_projectors_fold_in_place_with_serialised_checkpoints(conversation: FileEventStore) -> None:
    store = conversation
    store.analyses.replayers["conversation"] = Replayer(in_place(store.setup("conversation").projector), every=200)
    handed = through(store, "conversation", 10_000)
    seen = canonical_json(handed)
    for line in (25_000, 10_001, 9_000, 20_000):
        assert canonical_json(through(store, "conversation", line)) == full_replay(store, "conversation", line)
    assert canonical_json(handed) == seen


def test_time_travel_after_appends_matches_a_full_replay(conversation: FileEventStore, workspace: Workspace) -> None:
    store = conversation
    before = store.analysis("conversation").line_count
    for line in (before - 1, before - 500, 12_000):
        through(store, "conversation", line)
    feedback = {"type": "FeedbackGiven", "id": "fb-new", "timestamp": 4_000_000_000_000, "messageIndex": 0,
                "rating": "negative", "comment": "changes the first message"}
    assert store.append("conversation", feedback).to_json()["ok"]
    other = workspace.store()  # another process appends; this store sees the file grow
    for n in range(3):
        other.append("conversation", {"type": "UserMessageSent", "id": f"u-new-{n}",
                                      "timestamp": 4_000_000_000_001 + n, "content": f"again {n}"})
    after = store.analysis("conversation").line_count
    assert after == before + 4
    for line in (after - 1, after - 3, before - 1, before - 500, 12_000):
        assert canonical_json(through(store, "conversation", line)) == full_replay(store, "conversation", line)
    assert through(store, "conversation", after - 1)["messages"][0]["rating"] == "negative"


def test_time_travel_across_a_compaction_snapshot(conversation: FileEventStore, workspace: Workspace) -> None:
    store = conversation
    path = workspace.path("conversation")
    damaged = {problem.line for problem in store.problems("conversation")}
    path.write_bytes(b"".join(text for n, text in enumerate(path.read_bytes().splitlines(keepends=True))
                              if n not in damaged))  # compaction refuses damaged lines
    store = workspace.store()
    assert store.problems("conversation") == []
    last = store.analysis("conversation").line_count - 1
    cut = 20_000
    warmed = [cut, cut + 1, last, 25_000]
    expected = {line: canonical_json(through(store, "conversation", line)) for line in [*warmed, cut + 997]}
    answer = execute(store, "astra.compact", {"store": "conversation", "upToLine": cut + 1})
    assert answer["ok"], answer
    for line, state in sorted(expected.items(), reverse=True):  # lines 0..cut became one snapshot record
        assert canonical_json(through(store, "conversation", line - cut)) == state, f"state after line {line}"
        assert full_replay(store, "conversation", line - cut) == state


def test_a_pass_ahead_stops_when_asked_and_goes_on_where_it_stopped(conversation: FileEventStore) -> None:
    store = conversation
    analysis, read = store.analysis("conversation"), store.reader("conversation")
    replayer = store.analyses.replayers["conversation"] = Replayer(store.setup("conversation").projector, every=256)
    asked = 0

    def stop() -> bool:  # gives way once in every step, a few hundred events in
        nonlocal asked
        asked += 1
        return asked % 7 == 0

    steps = 0
    while replayer.extend(analysis, read, 4 * replayer.every, stop):
        steps += 1
    assert replayer.covered() == analysis.line_count - 1 and steps > analysis.line_count // (4 * 256)
    for line in random.Random(2).sample(range(analysis.line_count), 15):
        assert canonical_json(through(store, "conversation", line)) == full_replay(store, "conversation", line)
