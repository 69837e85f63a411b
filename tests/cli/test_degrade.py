"""Untrusted workspaces and configuration mistakes, through the `astra-ls` process: every command still
works, and what was not used is said at its line and column (issue 15.5)."""

from __future__ import annotations

import json
from pathlib import Path

from .test_cli import astra

PROJECTOR = "def fold(state, event):\n    return {'seen': (state or {}).get('seen', 0) + 1}\n"
EVENTS = (b'{"id":"a","type":"TaskStarted","timestamp":1700000000000,"goal":"g"}\n'
          b'{"id":"b","type":"StepDone","timestamp":1700000001000}\n')


def untrusted_workspace(root: Path) -> Path:
    (root / ".astra").mkdir(parents=True)
    (root / "myproj.py").write_text(PROJECTOR + "open('IMPORTED', 'w').close()\n")
    (root / "astra-ls.toml").write_text('[[stores]]\nglob = "runs.jsonl"\nprojector = "myproj:fold"\n')
    store = root / ".astra" / "runs.jsonl"
    store.write_bytes(EVENTS)
    return store


def test_check_in_an_untrusted_workspace_reports_the_stores_and_says_what_was_skipped(tmp_path: Path) -> None:
    store = untrusted_workspace(tmp_path)
    result = astra("check", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # no error-level problem: exits per problems, not 2
    config = tmp_path / "astra-ls.toml"
    [line] = [x for x in result.stdout.splitlines() if "ASTRA041" in x]
    assert line.startswith(f"{config}:3:1: ASTRA041 [warning] untrusted workspace: workspace code not imported: "
                           "myproj:fold (projector)")
    assert "--trust" in line
    assert "1 file(s), 2 event(s)" in result.stderr
    assert not (tmp_path / "IMPORTED").exists()

    counted = astra("count", "runs", "--workspace", str(tmp_path), "--format", "json", cwd=tmp_path)
    assert counted.returncode == 0 and json.loads(counted.stdout)["count"] == 2
    assert "ASTRA041" in counted.stderr
    projected = astra("project", str(store), "--format", "json", cwd=tmp_path)
    assert projected.returncode == 0 and json.loads(projected.stdout)["ok"] is True  # the built-in projector
    assert not (tmp_path / "IMPORTED").exists()

    trusted = astra("project", str(store), "--trust", "--format", "json", cwd=tmp_path)
    assert trusted.returncode == 0 and json.loads(trusted.stdout)["state"] == {"seen": 2}
    assert (tmp_path / "IMPORTED").exists()


def test_a_typo_in_the_configuration_is_an_error_at_its_key_with_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / ".astra").mkdir()
    (tmp_path / ".astra" / "feed.jsonl").write_bytes(b'{"id":"a"}\n\n')
    config = tmp_path / "astra-ls.toml"
    config.write_text('ignore = ["ASTRA032"]\n\n[[stores]]\nglob = "feed.jsonl"\n  unique_idz = false\n')
    result = astra("check", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{config}:5:3: ASTRA040 [error] unknown key 'unique_idz' in [[stores]] #1 (did you mean 'unique_ids'?); "
        "it is ignored"]  # and the rest is used: the blank line's ASTRA032 stays ignored

    as_json = json.loads(astra("check", "--format", "json", str(tmp_path)).stdout)
    [entry] = as_json["configuration"]
    assert entry["path"] == str(config)
    assert [(p["line"], p["column"], p["code"]) for p in entry["problems"]] == [(5, 3, "ASTRA040")]


def test_broken_toml_is_reported_where_it_breaks(tmp_path: Path) -> None:
    (tmp_path / ".astra").mkdir()
    (tmp_path / ".astra" / "feed.jsonl").write_bytes(b'{"id":"a"}\n')
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.astra-ls]\nmax_line_bytes = = 3\n')
    result = astra("check", str(tmp_path))
    assert result.returncode == 1
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{tmp_path / 'pyproject.toml'}:4:") and "ASTRA040 [error] not valid TOML" in line
    wrong = astra("count", "feed", "--workspace", str(tmp_path))
    assert wrong.returncode == 0 and "not valid TOML" in wrong.stderr
