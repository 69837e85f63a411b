"""Hover's time travel in the real server equals a fresh replay by the CLI: on a store big enough for the
server to make checkpoints ahead, after another process appends, and in an open buffer after edits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp

from astra_ls.lsp import hover
from astra_ls.lsp.hover import state_block
from astra_ls.lsp.views import StoreView
from astra_ls.lsp.workspace_state import Workspaces
from astra_ls.store.file_store import FileEventStore

from .editor import Editor, start_editor

GENERATOR = Path(__file__).parents[2] / "bench" / "generate.py"
EVENTS = 12_000  # above the size from which the server makes checkpoints ahead of hovers


def generate(path: Path, events: int = EVENTS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(GENERATOR), "--events", str(events), "--out", str(path)], check=True,
                   capture_output=True, timeout=120)
    return path


def fresh_state(path: Path, line: int) -> Any:
    """The state after 0-based `line` by a fresh CLI process: a replay from line 1."""
    done = subprocess.run([sys.executable, "-m", "astra_ls", "project", str(path), "--at-line", str(line + 1),
                           "--format", "json"], capture_output=True, check=True, timeout=60)
    return json.loads(done.stdout)["state"]


def clean_lines(path: Path, count: int) -> list[int]:
    """Lines holding a clean event, spread over the store, in a scattered order."""
    texts = path.read_bytes().split(b"\n")
    step = len(texts) // count
    chosen = []
    for start in range(1, len(texts) - step, step):
        found = next(n for n in range(start, start + step) if texts[n].startswith(b'{"type":"Assistant'))
        chosen.append(found)
    return chosen[1::2][::-1] + chosen[::2]


async def assert_hover_matches(editor: Editor, path: Path, line: int, expected_from: Path,
                               whole: bool = True) -> None:
    """The hover's state equals a fresh replay's; `whole`: so does the full state of the server's
    time-travel command, past what a hover shows (disk stores: the command reads the file)."""
    expected = fresh_state(expected_from, line)
    assert state_block(expected) in await editor.hover(path, line, 0), f"hover at line {line + 1}"
    if whole:
        answer = await editor.command("astra.projectAt", {"store": path.as_uri(), "line": line + 1})
        assert answer["state"] == expected, f"state after line {line + 1}"


async def test_hover_states_equal_a_fresh_replay_before_and_after_appends(workspace: Path) -> None:
    path = generate(workspace / ".astra" / "conversation.jsonl")
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) > 0)
        lines = clean_lines(path, 8)
        for line in lines:
            await assert_hover_matches(editor, path, line, path)
        before = len(path.read_bytes().splitlines())
        writer = FileEventStore(workspace)  # another process's appends, then the editor's watcher notice
        assert writer.append("conversation", {"type": "FeedbackGiven", "id": "fb-x", "timestamp": 4e12,
                                              "messageIndex": 1, "rating": "negative"}).to_json()["ok"]
        assert writer.append("conversation", {"type": "UserMessageSent", "id": "u-x", "timestamp": 4e12 + 1,
                                              "content": "after the append"}).to_json()["ok"]
        editor.watched(path, lsp.FileChangeType.Changed)
        await editor.until(lambda: [c for c in editor.store_changes if c["uri"].endswith("conversation.jsonl")],
                           "the append seen")
        for line in (before + 1, before, *lines[:3]):
            await assert_hover_matches(editor, path, line, path)


async def test_hover_states_in_an_open_buffer_follow_its_edits(workspace: Path, tmp_path: Path) -> None:
    path = generate(workspace / ".astra" / "conversation.jsonl", 6_000)
    texts = path.read_bytes().decode("utf-8", "replace").split("\n")  # as an editor shows it
    path.write_text("\n".join(texts), encoding="utf-8")
    target = next(n for n in range(2_000, 5_000) if '"type":"ConversationStarted"' in texts[n])
    start = texts[target].index('"userId":"') + len('"userId":"')
    end = texts[target].index('"', start)
    edited = [*texts[:target], texts[target][:start] + "EDITED" + texts[target][end:], *texts[target + 1 :]]
    expected = tmp_path / "edited" / ".astra" / "conversation.jsonl"
    expected.parent.mkdir(parents=True)
    expected.write_text("\n".join(edited), encoding="utf-8")
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) > 0)
        editor.open(path)
        for line in (5_000, target, target + 1):
            await assert_hover_matches(editor, path, line, path, whole=False)
        editor.edit(path, (target, start), (target, end), "EDITED")  # a conversation's user, shown first
        for line in (target + 2, 5_000, target - 1, 5_900, target):
            await assert_hover_matches(editor, path, line, expected, whole=False)
        assert '"userId": "EDITED"' in await editor.hover(path, target + 1, 0)


async def test_the_checkpoint_pass_shows_progress_and_then_any_hover_is_near_a_checkpoint(workspace: Path) -> None:
    path = generate(workspace / ".astra" / "conversation.jsonl")
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) > 0)
        progress = editor.client.progress_reports

        def time_travel_items() -> list[list[Any]]:
            return [reports for reports in progress.values()  # a token is listed from its creation, before begin
                    if reports and isinstance(reports[0], lsp.WorkDoneProgressBegin)
                    and reports[0].title == "Preparing time travel"]

        items = await editor.until(
            lambda: [r for r in time_travel_items() if isinstance(r[-1], lsp.WorkDoneProgressEnd)],
            "the end of the checkpoint pass")
        assert len(time_travel_items()) == 1
        reports = items[0]
        assert reports[-1].message == "ready"
        percentages = [r.percentage for r in reports[1:-1]]
        assert percentages == sorted(percentages) and all(0 <= p < 100 for p in percentages)
        # every line now has a checkpoint close before it: the last line's hover shows its state
        await assert_hover_matches(editor, path, len(path.read_bytes().splitlines()) - 1, path, whole=False)


async def test_no_checkpoint_pass_for_small_stores(workspace: Path) -> None:
    path = generate(workspace / ".astra" / "conversation.jsonl", 500)
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) > 0)
        await editor.until(lambda: [r for rs in editor.client.progress_reports.values() for r in rs
                                    if isinstance(r, lsp.WorkDoneProgressEnd)], "the end of the scan's progress")
        await assert_hover_matches(editor, path, 400, path, whole=False)  # the pass would have started by now
        titles = [rs[0].title for rs in editor.client.progress_reports.values() if rs]
        assert titles == ["Checking event stores"]


def test_a_hover_past_its_replay_budget_says_how_far_checkpoints_are(workspace: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Right after a big store is opened, a hover deep into it must not hold the editor for the whole
    replay: it says the state is still being computed, and later hovers go on from what was folded."""
    path = generate(workspace / ".astra" / "conversation.jsonl")
    workspaces = Workspaces()
    workspaces.configure([workspace], {}, False)
    located = workspaces.locate_uri(path.as_uri())
    assert located is not None
    store, stream = located.store, located.stream
    view = StoreView(path.as_uri(), located, store.analysis(stream), store.reader(stream), store.replayer(stream),
                     False)
    line = view.analysis.line_count - 2
    monkeypatch.setattr(hover, "REPLAY_BUDGET_S", 0.0)
    assert "Still being computed: time-travel checkpoints cover 0% of the store" in hover.state_section(view, line)
    monkeypatch.setattr(hover, "REPLAY_BUDGET_S", 60.0)
    assert hover.state_section(view, line) == state_block(fresh_state(path, line))


# States the preview shows uncut but for its length: lists of at most 5 items, objects of at most 20 keys,
# short strings, shallow nesting.
SMALL_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text("ab가🙂", max_size=5),
    lambda inner: st.lists(inner, max_size=hover.MAX_LIST_ITEMS)
    | st.dictionaries(st.text("xyz", min_size=1, max_size=3), inner, max_size=hover.MAX_ITEMS),
    max_leaves=60,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text("km", min_size=1, max_size=4), SMALL_VALUES, max_size=hover.MAX_ITEMS))
def test_the_state_preview_is_the_first_lines_of_the_state(state: dict[str, Any]) -> None:
    lines = json.dumps(state, indent=2, ensure_ascii=False).splitlines()
    assume(_depth(state) <= hover.MAX_DEPTH)
    shown = lines if len(lines) <= hover.MAX_STATE_LINES else [*lines[: hover.MAX_STATE_LINES], "…"]
    assert state_block(state) == "```json\n" + "\n".join(shown) + "\n```"


def _depth(value: Any) -> int:
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return 1 + max((_depth(child) for child in children), default=0) if isinstance(value, dict | list) else 0
