"""Real answers of the CLI's --format json (the same dicts the server's commands answer) have exactly the
shapes astra_ls/answers.py declares, from which the extension's types and docs/protocol.md are generated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from astra_ls.answers import ANSWERS, Failure
from astra_ls.cli.main import main
from astra_ls.commands import execute
from astra_ls.store.file_store import FileEventStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workspace"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    main([*argv, "--format", "json"])
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(EXAMPLES, root)
    return root


def test_every_commands_answer_has_its_declared_shape(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stores = sorted(p.stem for p in (workspace / ".astra").glob("*.jsonl"))
    assert stores
    common = ["--workspace", str(workspace)]
    event = json.dumps({"type": "Noted", "id": "answers-1", "timestamp": 1_800_000_000_000})
    answers = {
        "astra.append": run(capsys, "append", "answers", event, *common),
        "astra.count": run(capsys, "count", stores[0], *common),
        "astra.project": run(capsys, "project", stores[0], *common),
        "astra.projectAt": run(capsys, "project", stores[0], "--at-line", "2", *common),
        "astra.query": run(capsys, "query", stores[0], *common),
        "astra.quarantine": run(capsys, "quarantine", stores[0], *common),
        "astra.compact": run(capsys, "compact", "answers", *common),
        "astra.diff": run(capsys, "diff", "conversation", "--from", "1", "--to", "3", *common),
        "astra.related": run(capsys, "related", "conversation", "--line", "2", *common),
    }
    for command, answer in answers.items():
        assert answer["ok"], (command, answer)
        ANSWERS[command].model_validate(answer)
    refused = run(capsys, "append", "answers", "[1]", *common)
    Failure.model_validate(refused)


def test_answers_the_cli_has_no_command_for_have_their_declared_shapes(workspace: Path) -> None:
    """astra.listStores, astra.schemaFor and astra.timeline, through the command layer the server runs."""
    store = FileEventStore(workspace)
    for command, argument in [("astra.listStores", {}), ("astra.schemaFor", {"store": "conversation"}),
                              ("astra.timeline", {"store": "conversation", "buckets": 5}),
                              ("astra.showEvent", {"store": "conversation", "line": 1})]:
        answer = execute(store, command, argument)
        assert answer["ok"], (command, answer)
        ANSWERS[command].model_validate(answer)
