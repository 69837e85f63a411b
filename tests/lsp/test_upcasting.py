"""A versioned store in the editor: diagnostics of the upcast events, and `astra.upcast` re-checked."""

from __future__ import annotations

import json
from pathlib import Path

from cli.test_upcasting import CONFIG, PAID, SCHEMA, V1, V2, V3  # tests/ is on the import path

from .editor import plain, start_editor


async def test_the_server_checks_upcast_events_and_runs_astra_upcast(workspace: Path) -> None:
    (workspace / "orders.schema.json").write_text(json.dumps(SCHEMA))
    (workspace / "astra-ls.toml").write_text(CONFIG)
    (workspace / ".astra").mkdir()
    store = workspace / ".astra" / "orders.jsonl"
    bad = b'{"type":"OrderPlaced","id":"o4","amount":"ten","status":"new","street":"Main St"}\n'
    store.write_bytes(V1 + V2 + V3 + PAID + bad)
    async with start_editor(workspace) as editor:
        [problem] = await editor.diagnostics(store, lambda d: len(d) == 1)
        assert problem.range.start.line == 4
        assert problem.range.start.character == bad.index(b'"ten"')
        assert "validated as v3 after upcasting from v1" in problem.message
        answer = plain(await editor.command("astra.upcast", {"store": "orders"}))
        assert answer["ok"] is True and answer["upcastEvents"] == 2
        assert json.loads(store.read_bytes().splitlines()[0])["version"] == 3
        state = plain(await editor.command("astra.project", {"store": "orders"}))
        assert state["state"]["entities"]["o1"]["address"] == {"street": "Main St"}
        [again] = await editor.diagnostics(store, lambda d: len(d) == 1)
        assert again.range.start.line == 4  # the line kept as it was is still the one flagged
