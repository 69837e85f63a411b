"""Configuration (severities, ignored codes) and schemas: built-in families, JSON Schema, trusted pydantic."""

from __future__ import annotations

import json

from astra_ls.config import load_config
from astra_ls.core.codes import Severity

from .conftest import Workspace

BAD_FEED = b'{"id":"a","timestamp":2}\n{"id":"b","timestamp":1}\n\n'


def test_severities_are_configurable_per_code(workspace: Workspace) -> None:
    workspace.write("feed", BAD_FEED)
    workspace.config('[severity]\nASTRA021 = "error"\n')
    problems = workspace.store().problems("feed")
    assert {(p.code, p.severity) for p in problems} == {("ASTRA021", Severity.ERROR), ("ASTRA032", Severity.HINT)}


def test_codes_can_be_ignored_from_pyproject(workspace: Workspace) -> None:
    workspace.write("feed", BAD_FEED)
    (workspace.root / "pyproject.toml").write_text('[tool.astra-ls]\nignore = ["ASTRA032"]\n')
    assert [p.code for p in workspace.store().problems("feed")] == ["ASTRA021"]


def test_unknown_codes_in_the_configuration_are_a_clear_problem(workspace: Workspace) -> None:
    workspace.config('ignore = ["ASTRA032", "ASTRA999"]\n')
    config = load_config(workspace.root)
    [found] = config.problems
    assert found.problem.code == "ASTRA040" and "'ASTRA999'" in found.problem.message
    assert config.ignore == ["ASTRA032"]  # the rest of the list is still used


def test_builtin_families_by_store_name(workspace: Workspace) -> None:
    store = workspace.store()
    assert [store.setup(name).schema.name for name in ("conversation", "agent-a", "customers", "misc")] == [
        "conversation", "agent", "entity", "generic"]


def test_a_user_json_schema(workspace: Workspace) -> None:
    (workspace.root / "schema.json").write_text(json.dumps({
        "oneOf": [{"type": "object", "required": ["type", "qty"],
                   "properties": {"type": {"const": "Order"}, "qty": {"type": "integer"}}}]}))
    workspace.config('[[stores]]\nglob = "orders.jsonl"\nschema = "schema.json"\n')
    workspace.write("orders", b'{"type":"Order","qty":1}\n{"type":"Order","qty":"2"}\n{"type":"Ordr","qty":1}\n')
    problems = workspace.store().problems("orders")
    assert [(p.line, p.code) for p in problems] == [(1, "ASTRA010"), (2, "ASTRA011")]
    assert "did you mean 'Order'" in problems[1].message


MODEL = '''
from pathlib import Path
from typing import Literal
from pydantic import BaseModel, ConfigDict
Path(__file__).with_name("imported.marker").write_text("imported")
class Ping(BaseModel):
    model_config = ConfigDict(strict=True)
    type: Literal["Ping"]
    n: int
'''


def test_a_pydantic_schema_is_imported_only_when_trusted(workspace: Workspace) -> None:
    (workspace.root / "myschemas_untrusted_probe.py").write_text(MODEL)
    workspace.config('[[stores]]\nglob = "pings.jsonl"\nschema = "myschemas_untrusted_probe:Ping"\n')
    workspace.write("pings", b'{"type":"Ping","n":1}\n{"type":"Ping","n":"x"}\n')
    untrusted = workspace.store()
    refused = untrusted.append("pings", {"type": "Ping", "n": 2}).to_json()
    assert refused["ok"] is False and "trust" in refused["message"]
    assert [p.code for p in untrusted.problems("pings")] == []  # checked with the built-in generic schema
    assert not (workspace.root / "imported.marker").exists()
    problems = workspace.store(trusted=True).problems("pings")
    assert (workspace.root / "imported.marker").exists()
    assert [(p.line, p.code) for p in problems] == [(1, "ASTRA010")]
