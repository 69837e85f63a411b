"""Compaction other readers understand: an entity store compacts by key, so the original factory's reader
(`typeof e.id === 'string'`, events folded by id) sees the same entities before and after; a fold store's
snapshot is a record that reader skips; time travel, queries and `count --all` reach the archived events."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .design_logs import astra, astra_json, ms, write_events
from .editor import start_editor

# The original factory's read() (src/features/_shared/eventSourcedStore.ts) and a fold of its events by id.
FACTORY_READER = r"""
const fs = require('fs');
function read(fp) {
  const out = [];
  for (const line of fs.readFileSync(fp, 'utf-8').split('\n')) {
    const t = line.trim(); if (!t) continue;
    try { const p = JSON.parse(t); if (typeof p.id === 'string') out.push(p); } catch { /* skip */ }
  }
  return out;
}
const entities = {};
for (const e of read(process.argv[1])) entities[e.id] = { ...(entities[e.id] || {}), ...e };
process.stdout.write(JSON.stringify(entities));
"""


def factory_entities(path: Path) -> dict[str, Any]:
    node = shutil.which("node")
    if node is not None:
        done = subprocess.run([node, "-e", FACTORY_READER, str(path)], capture_output=True, text=True, check=True,
                              timeout=60)
        found: dict[str, Any] = json.loads(done.stdout)
        return found
    entities: dict[str, Any] = {}  # the same reader in Python, where Node is not installed
    for line in path.read_text().split("\n"):
        try:
            event = json.loads(line.strip())
        except ValueError:
            continue
        if isinstance(event, dict) and isinstance(event.get("id"), str):
            entities[event["id"]] = {**entities.get(event["id"], {}), **event}
    return entities


def customers() -> list[dict[str, Any]]:
    events = []
    for n in range(30):
        event: dict[str, Any] = {"id": f"cust-{n % 7}", "type": "CustomerCreated" if n < 7 else "CustomerUpdated",
                                 "timestamp": ms("22:00:00") + n * 60_000, "name": f"name {n}"}
        if n % 4 == 0:
            event["plan"] = ["free", "pro"][n % 8 == 0]
        events.append(event)
    return events


def test_entity_store_compacts_by_key_for_every_reader(tmp_path: Path) -> None:
    path = write_events(tmp_path, "customers", customers())
    before_entities = factory_entities(path)
    before = astra_json("project", str(path))["state"]
    count_before = astra_json("count", str(path))
    early = astra_json("project", str(path), "--at-time", str(ms("22:05:00")))["state"]

    done = astra_json("compact", str(path))
    assert done["ok"] and done["compactedEvents"] == 30
    assert factory_entities(path) == before_entities  # not one "snapshot-customers-…" customer
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["type"] == "$snapshot" and "id" not in lines[0] and len(lines) == 1 + 7
    assert all(isinstance(line["id"], str) for line in lines[1:])
    assert astra("check", str(path)).returncode == 0 and "0 problem(s)" in astra("check", str(path)).stderr
    assert astra_json("project", str(path))["state"] == before
    assert astra_json("count", str(path)) == count_before

    # The archive is read back: the state at a time before the compaction, queries and count --all.
    assert astra_json("project", str(path), "--at-time", str(ms("22:05:00")))["state"] == early
    found = astra_json("query", str(path), "--where", "name=name 3")
    assert found["total"] == 1 and found["events"][0]["line"] is None
    assert found["events"][0]["archive"].startswith("archive/customers-") and found["events"][0]["archiveLine"] == 4
    everything = astra_json("count", str(path), "--all")
    assert (everything["count"], everything["archivedEvents"], everything["byType"]) == \
        (30, 30, count_before["byType"])

    # Appended after, and compacted again: a chain of two archives, still the same for every reader.
    assert astra("append", str(path), json.dumps({"id": "cust-1", "type": "CustomerUpdated",
                                                  "timestamp": ms("23:00:00"), "plan": "gold"})).returncode == 0
    entities = factory_entities(path)
    assert entities["cust-1"]["plan"] == "gold"
    assert astra_json("compact", str(path))["ok"]
    assert factory_entities(path) == entities
    assert astra_json("count", str(path), "--all")["count"] == 31
    assert astra_json("project", str(path), "--at-time", str(ms("22:05:00")))["state"] == early
    assert [e["event"]["name"] for e in astra_json("query", str(path), "--where", "id=cust-3")["events"]] == \
        ["name 3", "name 10", "name 17", "name 24"]


def test_fold_store_snapshot_is_skipped_by_other_readers(tmp_path: Path) -> None:
    events = [{"id": f"m{n}", "type": "UserMessageSent", "timestamp": ms("21:00:00") + n * 1000,
               "content": f"hello {n}"} for n in range(10)]
    events.insert(0, {"id": "c0", "type": "ConversationStarted", "timestamp": ms("20:59:59"), "userId": "u",
                      "sessionId": "s", "model": "m"})
    path = write_events(tmp_path, "conversation", events)
    at_five = astra_json("project", str(path), "--at-time", str(ms("21:00:05")))["state"]
    assert astra_json("compact", str(path), "--up-to-line", "8")["ok"]
    assert list(factory_entities(path)) == ["m7", "m8", "m9"]  # the snapshot record has no id
    assert astra_json("project", str(path), "--at-time", str(ms("21:00:05")))["state"] == at_five
    assert astra_json("count", str(path), "--all")["archivedEvents"] == 8
    assert astra_json("query", str(path), "--from", str(ms("21:00:06")), "--to", str(ms("21:00:07")))["total"] == 2


def test_a_missing_or_foreign_archive_is_said_not_followed(tmp_path: Path) -> None:
    path = write_events(tmp_path, "customers", customers())
    archive = Path(astra_json("compact", str(path))["archivePath"])
    archive.unlink()
    answer = astra_json("count", str(path), "--all")
    assert answer["ok"] and answer["count"] == 30 and "archiveUnreadable" in answer
    outside = tmp_path / "outside.jsonl.gz"
    outside.write_bytes(gzip.compress(b'{"id":"x","type":"CustomerCreated","timestamp":1}\n'))
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    header["archive"] = "../outside.jsonl.gz"
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    answer = astra_json("count", str(path), "--all")
    assert answer["count"] == 30 and "outside" not in json.dumps(answer["byType"]) and answer["archiveUnreadable"]


async def test_server_reaches_archived_events(tmp_path: Path) -> None:
    path = write_events(tmp_path, "customers", customers())
    early = astra_json("project", str(path), "--at-time", str(ms("22:05:00")))["state"]
    async with start_editor(tmp_path) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        uri = path.as_uri()
        assert (await editor.command("astra.compact", {"store": uri}))["ok"]
        counted = await editor.command("astra.count", {"store": uri, "all": True})
        assert counted["count"] == 30 and counted["archivedEvents"] == 30
        at = await editor.command("astra.projectAt", {"store": uri, "timestamp": ms("22:05:00")})
        assert at["state"] == early and at["line"] is None and at["archive"].startswith("archive/")
        found = await editor.command("astra.query", {"store": uri, "where": ["name in [\"name 0\", \"name 29\"]"]})
        assert [(e["line"], e["event"]["name"]) for e in found["events"]] == [(None, "name 0"), (None, "name 29")]
