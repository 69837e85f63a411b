"""Event versions through the command line: a store holding three versions of one event type checks
clean, projects, queries and time-travels as the current version, and `astra-ls upcast` rewrites it
losing nothing (the archive holds the original bytes)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from astra_ls.answers import ANSWERS
from astra_ls.config import load_config
from astra_ls.store.file_store import FileEventStore
from astra_ls.upcasting import UpcastingSchema

from .test_cli import astra

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "oneOf": [
        {"type": "object", "additionalProperties": False,
         "required": ["type", "id", "total", "currency", "status", "address", "version"],
         "properties": {"type": {"const": "OrderPlaced"}, "id": {"type": "string"}, "total": {"type": "number"},
                        "currency": {"type": "string"}, "status": {"enum": ["pending", "paid"]},
                        "version": {"const": 3}, "timestamp": {"type": "number"},
                        "address": {"type": "object", "required": ["street"],
                                    "properties": {"street": {"type": "string"}}}}},
        {"type": "object", "required": ["type", "id"],
         "properties": {"type": {"const": "OrderPaid"}, "id": {"type": "string"}, "order": {"type": "string"}}},
    ],
}

CONFIG = """
[[stores]]
glob = "orders*.jsonl"
schema = "orders.schema.json"
projector = "entity"

[[stores.upcast]]
type = "OrderPlaced"
from = 1
rename = { amount = "total" }
default = { currency = "EUR" }
map = { status = { new = "pending" } }

[[stores.upcast]]
type = "OrderPlaced"
from = 2
move = { street = "address.street" }
"""

V1 = b'{"type":"OrderPlaced","id":"o1","timestamp":1,"amount":10,"status":"new","street":"Main St"}\n'
V2 = (b'{"type":"OrderPlaced","id":"o2","timestamp":2,"version":2,"total":20,"currency":"USD","status":"paid",'
      b'"street":"High St"}\n')
V3 = (b'{"type":"OrderPlaced","id":"o3","timestamp":3,"version":3,"total":30,"currency":"GBP","status":"paid",'
      b'"address":{"street":"Low St"}}\n')
PAID = b'{"type":"OrderPaid","id":"p1","timestamp":4,"order":"o1"}\n'

O1 = {"type": "OrderPlaced", "id": "o1", "timestamp": 1, "total": 10, "currency": "EUR", "status": "pending",
      "address": {"street": "Main St"}, "version": 3}


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / ".astra").mkdir()
    (tmp_path / "orders.schema.json").write_text(json.dumps(SCHEMA))
    (tmp_path / "astra-ls.toml").write_text(CONFIG)
    (tmp_path / ".astra" / "orders.jsonl").write_bytes(V1 + V2 + V3 + PAID)
    return tmp_path


def run_json(ws: Path, *args: str) -> dict[str, object]:
    result = astra(*args, "--workspace", str(ws), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def test_three_versions_check_clean_and_read_as_the_current_one(ws: Path) -> None:
    result = astra("check", str(ws))
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr
    state = run_json(ws, "project", "orders")["state"]
    assert isinstance(state, dict)
    entities = state["entities"]
    assert entities["o1"] == O1
    assert entities["o2"]["address"] == {"street": "High St"} and entities["o2"]["currency"] == "USD"
    assert entities["o2"]["version"] == entities["o3"]["version"] == 3
    # time travel and queries see upcast events too
    past = run_json(ws, "project", "orders", "--at-line", "1")["state"]
    assert isinstance(past, dict) and past["entities"] == {"o1": O1}
    found = run_json(ws, "query", "orders", "--where", "address.street=Main St")["events"]
    assert found == [{"line": 1, "event": O1}]


def test_a_bad_old_event_says_it_was_checked_after_upcasting_and_points_at_what_is_written(ws: Path) -> None:
    bad = b'{"type":"OrderPlaced","id":"o4","amount":"ten","status":"new","street":"Main St"}\n'
    newer = b'{"type":"OrderPlaced","id":"o5","version":4,"total":1}\n'
    with (ws / ".astra" / "orders.jsonl").open("ab") as handle:
        handle.write(bad + newer)
    result = astra("check", "--format", "json", str(ws))
    assert result.returncode == 1
    [report] = json.loads(result.stdout)["files"]
    first, second = report["problems"]
    assert first["line"] == 5 and first["code"] == "ASTRA010"
    assert "validated as v3 after upcasting from v1" in first["message"]
    assert first["column"] == bad.index(b'"ten"') + 1  # at `amount` as written, not at the renamed `total`
    assert second["line"] == 6 and "version 4" in second["message"] and "newer" in second["message"]


def test_upcast_rewrites_the_store_and_archives_the_original(ws: Path) -> None:
    store = ws / ".astra" / "orders.jsonl"
    torn = b'{"type":"OrderPlaced","id":"o9", oops\n'  # not an event: kept byte for byte
    store.write_bytes(V1 + V2 + torn + V3 + PAID)
    original = store.read_bytes()
    before = run_json(ws, "project", "orders")["state"]

    answer = run_json(ws, "upcast", "orders")
    ANSWERS["astra.upcast"].model_validate(answer)  # the shape the protocol declares
    assert answer["upcastEvents"] == 2 and answer["events"] == 4
    assert answer["upcastFrom"] == {"OrderPlaced v1": 1, "OrderPlaced v2": 1}
    archive = Path(str(answer["archivePath"]))
    assert archive.parent == ws / ".astra" / "archive"
    assert gzip.decompress(archive.read_bytes()) == original  # nothing lost

    lines = store.read_bytes().splitlines(keepends=True)
    assert len(lines) == 5
    assert json.loads(lines[0]) == O1
    assert json.loads(lines[1])["version"] == 3 and "street" not in json.loads(lines[1])
    assert lines[2:] == [torn, V3, PAID]  # current events and bad lines untouched
    assert run_json(ws, "project", "orders")["state"] == before
    assert run_json(ws, "count", "orders")["count"] == 4
    checked = astra("check", str(ws))
    assert [line.split(": ")[1].split()[0] for line in checked.stdout.splitlines()] == ["ASTRA001"]

    again = run_json(ws, "upcast", "orders")  # already current: nothing to write, nothing archived
    ANSWERS["astra.upcast"].model_validate(again)
    assert again["upcastEvents"] == 0 and again["archivePath"] is None
    assert len(list((ws / ".astra" / "archive").iterdir())) == 1


def test_upcast_refuses_a_store_without_versions(ws: Path) -> None:
    (ws / ".astra" / "feed.jsonl").write_bytes(b'{"id":"a"}\n')
    result = astra("upcast", "feed", "--workspace", str(ws))
    assert result.returncode == 1
    assert "NOT_VERSIONED" in result.stderr and "nothing to upcast" in result.stderr


def test_steps_that_do_not_chain_are_a_configuration_error(ws: Path) -> None:
    # said as a usage error, or as a problem of the configuration file: either way, the check fails
    (ws / "astra-ls.toml").write_text(CONFIG.replace("from = 2", "from = 3"))
    result = astra("check", str(ws))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "skip version(s) 2" in result.stdout + result.stderr
    (ws / "astra-ls.toml").write_text(CONFIG.replace("from = 2", "from = 2\nto = 4"))
    result = astra("check", str(ws))
    assert result.returncode != 0 and "to = from + 1" in result.stdout + result.stderr


PYTHON_STEP = """
def v1_to_v2(event):
    event["total"] = event.pop("amount") * 100
    event["currency"] = "EUR"
    if event.get("status") == "new":
        event["status"] = "pending"
    return event
"""


def test_a_python_step_runs_only_in_a_trusted_workspace(ws: Path) -> None:
    (ws / "order_steps.py").write_text(PYTHON_STEP)
    config = CONFIG.replace('rename = { amount = "total" }\ndefault = { currency = "EUR" }\n'
                            'map = { status = { new = "pending" } }', 'function = "order_steps:v1_to_v2"')
    (ws / "astra-ls.toml").write_text(config)
    untrusted = astra("count", "orders", "--workspace", str(ws))
    assert untrusted.returncode == 1 and "CONFIG_ERROR" in untrusted.stderr and "--trust" in untrusted.stderr
    trusted = astra("project", "orders", "--workspace", str(ws), "--trust", "--format", "json")
    assert trusted.returncode == 0, trusted.stderr
    assert json.loads(trusted.stdout)["state"]["entities"]["o1"]["total"] == 1000


def test_a_store_without_steps_keeps_its_own_schema_and_fast_decoder(ws: Path) -> None:
    store = FileEventStore(ws, load_config(ws))
    assert isinstance(store.setup("orders").schema, UpcastingSchema)
    plain = store.setup("conversation").schema
    assert not isinstance(plain, UpcastingSchema) and plain.fast_decoder() is not None


def test_a_versioned_type_is_never_taken_as_written_by_the_fast_decoder(tmp_path: Path) -> None:
    """Built-in families validate most lines with a fast decoder; the types with steps must not go
    through it: an old event that is valid as written but not once upcast is flagged, others stay fast."""
    (tmp_path / ".astra").mkdir()
    (tmp_path / "astra-ls.toml").write_text(
        '[[stores]]\nglob = "conversation*"\n[[stores.upcast]]\ntype = "UserMessageSent"\nfrom = 1\n'
        'rename = { text = "content" }\nmap = { content = { "hi" = 5 } }\n')
    started = '{"type":"ConversationStarted","id":"c%d","timestamp":%d,"userId":"u","sessionId":"s","model":"m"}'
    lines = [started % (i, i) for i in range(3000)]
    lines.append('{"type":"UserMessageSent","id":"m1","timestamp":5000,"text":"hello"}')  # v1: renamed
    lines.append('{"type":"UserMessageSent","id":"m2","timestamp":5001,"content":"hi"}')  # valid as written
    (tmp_path / ".astra" / "conversation.jsonl").write_text("\n".join(lines) + "\n")
    result = astra("check", "--format", "json", str(tmp_path))
    [report] = json.loads(result.stdout)["files"]
    assert [(p["line"], p["code"]) for p in report["problems"]] == [(3002, "ASTRA010")], report["problems"]
    assert "after upcasting from v1" in report["problems"][0]["message"]
    store = FileEventStore(tmp_path, load_config(tmp_path))
    fast = store.setup("conversation").schema.fast_decoder()
    assert fast is not None and "UserMessageSent" not in {s.__struct_config__.tag for s in fast.structs}
