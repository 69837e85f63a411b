"""`astra-ls diff` and `astra-ls related` as processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from astra_ls.projections.patch import apply_patch


def astra(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "astra_ls", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60, check=False)


def store(tmp_path: Path) -> Path:
    (tmp_path / ".astra").mkdir()
    events = [{"type": "TaskStarted", "id": "e1", "timestamp": 1000, "task": "x"},
              {"type": "PlanCreated", "id": "e2", "timestamp": 2000, "parentUuid": "e1", "steps": ["a"]},
              {"type": "Note", "id": "e3", "timestamp": 3000, "parentUuid": "e2", "path/with~": {"x": 1}}]
    (tmp_path / ".astra" / "runlog.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return tmp_path


def test_diff_prints_a_json_patch_that_turns_one_state_into_the_other(tmp_path: Path) -> None:
    ws = store(tmp_path)
    done = astra("diff", "runlog", "--from", "1", "--to", "3", cwd=ws)
    assert done.returncode == 0, done.stderr
    patch = json.loads(done.stdout)
    full = json.loads(astra("diff", "runlog", "--from", "1", "--to", "3", "--format", "json", cwd=ws).stdout)
    assert full["patch"] == patch
    assert apply_patch(full["before"], patch) == full["after"]
    assert any(op["path"] == "/last/path~1with~0" for op in patch)  # RFC 6901 escapes


def test_diff_by_time_and_as_text(tmp_path: Path) -> None:
    ws = store(tmp_path)
    done = astra("diff", "runlog", "--from", "@1000", "--to", "1970-01-01T00:00:02Z", "--format", "text", cwd=ws)
    assert done.returncode == 0, done.stderr
    assert '+    "PlanCreated": 1,' in done.stdout


def test_diff_with_a_bad_point_says_so(tmp_path: Path) -> None:
    ws = store(tmp_path)
    done = astra("diff", "runlog", "--from", "@soon", "--to", "2", cwd=ws)
    assert done.returncode == 2 and "epoch milliseconds" in done.stderr and "Traceback" not in done.stderr


def test_related_walks_up_and_down(tmp_path: Path) -> None:
    ws = store(tmp_path)
    done = astra("related", "runlog", "--line", "2", cwd=ws)
    assert done.returncode == 0, done.stderr
    assert "runlog:1  TaskStarted (parent)" in done.stdout
    assert "runlog:3  Note (parent)" in done.stdout
