"""workspace/executeCommand: the shared commands, their answers and their refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from .editor import message, start_editor, write_store


async def test_every_command_happy_path(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1), message(2), message(3), "bad line"])
    uri = path.as_uri()
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 1)
        listed = await editor.command("astra.listStores", {})
        assert [(s["name"], s["events"], s["problems"]) for s in listed["stores"]] == [("conversation", 3, 1)]
        assert (await editor.command("astra.count", {"store": "conversation"}))["count"] == 3

        event = {"id": "m9", "type": "UserMessageSent", "timestamp": 1_700_000_100_000, "content": "new"}
        appended = await editor.command("astra.append", {"store": uri, "event": event, "expectedCount": 3})
        assert appended["ok"] and appended["count"] == 4 and appended["line"] == 5
        assert json.loads(path.read_text().splitlines()[-1])["id"] == "m9"
        await editor.until(lambda: [c for c in editor.store_changes if c["events"] == 4], "astra/storeChanged")

        projected = await editor.command("astra.project", {"store": uri})
        assert projected["ok"] and projected["events"] == 4
        assert [m["content"] for m in projected["state"]["messages"]][-1] == "new"
        at = await editor.command("astra.projectAt", {"store": uri, "line": 2})
        assert at["events"] == 2 and len(at["state"]["messages"]) == 2
        found = await editor.command("astra.query", {"store": uri, "where": {"content": "hello 2"}})
        assert found["total"] == 1 and found["events"][0]["line"] == 2
        schema = await editor.command("astra.schemaFor", {"store": uri})
        assert "UserMessageSent" in [t["name"] for t in schema["types"]]
        timeline = await editor.command("astra.timeline", {"store": uri, "buckets": 4})
        assert timeline["ok"] and len(timeline["buckets"]) == 4

        moved = await editor.command("astra.quarantine", {"store": uri})
        assert moved["ok"] and moved["moved"] == 1
        assert "bad line" in Path(moved["quarantinePath"]).read_text()
        assert "bad line" not in path.read_text()
        await editor.diagnostics(path, lambda d: len(d) == 0, "a clean store after quarantine")
        await editor.until(lambda: [c for c in editor.store_changes if c["problems"] == 0],
                           "astra/storeChanged after quarantine")

        announced = len(editor.store_changes)
        compacted = await editor.command("astra.compact", {"store": uri})
        assert compacted["ok"] and compacted["compactedEvents"] == 4
        await editor.until(lambda: len(editor.store_changes) > announced, "astra/storeChanged after compaction")
        assert (await editor.command("astra.count", {"store": uri}))["count"] == 4


async def test_command_failures_are_clear(workspace: Path, tmp_path: Path) -> None:
    path = write_store(workspace, "conversation", [message(1)])
    uri = path.as_uri()
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        for arguments, words in [((), "exactly one"), (({"store": uri}, {}), "exactly one"),
                                 (("conversation",), "one JSON object"), (({},), "store"),
                                 (({"store": uri, "bogus": 1},), "bogus")]:
            with pytest.raises(JsonRpcException) as raised:
                await editor.command("astra.count", *arguments)
            assert raised.value.code == -32602
            assert words in raised.value.message
        with pytest.raises(JsonRpcException) as raised:
            await editor.command("astra.projectAt", {"store": uri})
        assert "exactly one of line" in raised.value.message

        missing = await editor.command("astra.count", {"store": "nothere"})
        assert missing["ok"] is False and missing["code"] == "STORE_NOT_FOUND"
        escape = await editor.command("astra.count", {"store": "../../etc/passwd.jsonl"})
        assert escape["ok"] is False and escape["code"] == "PATH_REFUSED"
        invalid = await editor.command("astra.append", {"store": uri, "event": {"type": "UserMessageSent"}})
        assert invalid["ok"] is False and invalid["code"] == "INVALID_EVENT"
        assert invalid["details"]["errors"]

        # A buffer with unsaved edits is never written behind the editor's back.
        editor.open(path)
        original = message(1)
        editor.edit(path, (0, 0), (0, len(original)), message(7))
        event = {"id": "m8", "type": "UserMessageSent", "timestamp": 1_700_000_100_000, "content": "x"}
        refused = await editor.command("astra.append", {"store": uri, "event": event})
        assert refused["ok"] is False and refused["code"] == "UNSAVED_CHANGES"
        assert "save or revert" in refused["message"]
        assert len(path.read_text().splitlines()) == 1
        # Undone by hand: the buffer equals the disk again, so the append goes ahead.
        editor.edit(path, (0, 0), (0, len(message(7))), original)
        accepted = await editor.command("astra.append", {"store": uri, "event": event})
        assert accepted["ok"] is True
        # The server is still serving.
        assert (await editor.command("astra.count", {"store": uri}))["count"] == 2


async def test_time_travel_in_a_big_store_matches_a_fresh_replay(workspace: Path) -> None:
    """Time travel through the server's checkpoints, in any order of lines, gives the state a fresh replay
    from line 1 gives."""
    import subprocess
    import sys

    path = write_store(workspace, "conversation", [message(n) for n in range(1, 9001)])
    uri = path.as_uri()
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        for line in (8999, 4500, 7000, 20, 8000):
            answer = await editor.command("astra.projectAt", {"store": uri, "line": line})
            fresh = subprocess.run([sys.executable, "-m", "astra_ls", "project", str(path), "--at-line",
                                    str(line), "--format", "json"], capture_output=True, check=True, timeout=60)
            assert answer["state"] == json.loads(fresh.stdout)["state"], f"state after line {line}"
