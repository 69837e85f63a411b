"""`astra-ls tail --remote NAME STREAM --follow`: events another machine appends to JetStream appear."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from astra_ls.cli.main import main
from cli.test_tail import Follower  # tests/ is on the import path (see tests/cli/__init__.py)

MakeWorkspace = Callable[..., tuple[Path, str]]


def test_tail_follows_a_remote_stream(make_workspace: MakeWorkspace, tmp_path: Path, single: Any,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    root, remote = make_workspace(tmp_path / "ws", single.urls)
    common = ["--workspace", str(root), "--remote", remote, "--trust"]
    for n in range(3):
        assert main(["append", "notes", json.dumps({"type": "Noted", "id": f"e-{n}"}), *common]) == 0
    follower = Follower("notes", "-f", "-n", "2", "--format", "jsonl", "--problems", *common, cwd=root)
    try:
        assert [json.loads(line)["id"] for line in follower.lines(2)] == ["e-1", "e-2"]
        assert main(["append", "notes", json.dumps({"type": "Noted", "id": "e-3"}), *common]) == 0
        assert json.loads(follower.lines(1)[0])["id"] == "e-3"
        assert follower.interrupt() == 0
    finally:
        follower.close()
    capsys.readouterr()
