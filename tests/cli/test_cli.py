"""The `astra-ls` command line, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def astra(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "astra_ls", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60, check=False)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / ".astra").mkdir()
    return tmp_path


def write(ws: Path, stream: str, data: bytes) -> Path:
    path = ws / ".astra" / f"{stream}.jsonl"
    path.write_bytes(data)
    return path


def test_check_reports_path_line_and_utf16_column(ws: Path) -> None:
    path = write(ws, "feed", '{"id":"a"}\n{"k":"한🙂", "v": }\n'.encode())
    result = astra("check", str(path))
    assert result.returncode == 1
    column = len('{"k":"한🙂", "v": '.encode("utf-16-le")) // 2 + 1
    assert result.stdout.splitlines() == [
        f"{path}:2:{column}: ASTRA001 [error] malformed JSON: unexpected character, expected a JSON value "
        f"(at column {column})"]
    assert "1 file(s)" in result.stderr


def test_check_exit_0_when_only_warnings(ws: Path) -> None:
    write(ws, "feed", b'{"id":"a","timestamp":2}\n{"id":"b","timestamp":1}\n')
    result = astra("check", str(ws))
    assert result.returncode == 0
    assert "ASTRA021 [warning]" in result.stdout


def test_check_json_format(ws: Path) -> None:
    path = write(ws, "feed", b'{"id":"a"}\n{"id":"a"}\n[1]\n')
    result = astra("check", "--format", "json", str(path))
    assert result.returncode == 1
    document = json.loads(result.stdout)
    [report] = document["files"]
    assert (report["path"], report["events"]) == (str(path), 2)
    first = report["problems"][0]
    assert set(first) == {"line", "column", "endLine", "endColumn", "severity", "code", "message", "related"}
    assert [(p["line"], p["code"]) for p in report["problems"]] == [(2, "ASTRA020"), (3, "ASTRA002")]
    assert report["problems"][0]["related"][0]["line"] == 1


def test_check_a_workspace_directory_and_the_sample(ws: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "examples" / "workspace"
    result = astra("check", "--format", "json", str(sample))
    assert result.returncode == 1
    assert len(json.loads(result.stdout)["files"]) == 4


@pytest.mark.parametrize("args", [["check", "/no/such/file.jsonl"], ["frobnicate"], ["count"],
                                  ["project", "feed", "--at-line", "x"], ["append", "feed", "{not json"]])
def test_bad_arguments_exit_2_without_a_traceback(ws: Path, args: list[str]) -> None:
    result = astra(*args, "--workspace", str(ws)) if args[0] in ("append", "project") else astra(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.strip()


def test_unreadable_file_is_a_clear_error(ws: Path) -> None:
    folder = ws / ".astra" / "dir.jsonl"
    folder.mkdir()
    result = astra("check", str(ws / ".astra" / "dir.jsonl" / "missing.jsonl"))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_append_count_project_query(ws: Path) -> None:
    event = {"type": "UserMessageSent", "timestamp": 1, "content": "안녕"}
    appended = astra("append", "conversation", json.dumps(event), "--workspace", str(ws), "--format", "json")
    assert appended.returncode == 0
    assert json.loads(appended.stdout)["line"] == 1
    counted = json.loads(astra("count", "conversation", "--workspace", str(ws), "--format", "json").stdout)
    assert (counted["ok"], counted["count"], counted["byType"]) == (True, 1, {"UserMessageSent": 1})
    projected = json.loads(astra("project", "conversation", "--workspace", str(ws), "--format", "json").stdout)
    assert projected["state"]["messages"][0]["content"] == "안녕"
    at_line = json.loads(astra("project", "conversation", "--at-line", "1", "--workspace", str(ws),
                               "--format", "json").stdout)
    assert at_line["line"] == 1
    found = json.loads(astra("query", "conversation", "--type", "UserMessageSent", "--where", "content=안녕",
                             "--workspace", str(ws), "--format", "json").stdout)
    assert found["total"] == 1


def test_append_refusal_exits_1_with_the_reason(ws: Path) -> None:
    result = astra("append", "conversation", '{"type":"UserMessageSent","timestamp":1,"content":5}',
                   "--workspace", str(ws))
    assert result.returncode == 1
    assert "INVALID_EVENT" in result.stderr and "content" in result.stderr
    escape = astra("append", "../x", "{}", "--workspace", str(ws), "--format", "json")
    assert escape.returncode in (1, 2) and "Traceback" not in escape.stderr
    assert not (ws / "x.jsonl").exists()


def test_quarantine_and_compact(ws: Path) -> None:
    write(ws, "feed", b'{"id":"a","timestamp":1}\n{"id":\n{"id":"b","timestamp":2}\n')
    moved = json.loads(astra("quarantine", "feed", "--workspace", str(ws), "--format", "json").stdout)
    assert moved["moved"] == 1 and moved["remaining"] == 2
    compacted = astra("compact", "feed", "--workspace", str(ws), "--format", "json")
    assert compacted.returncode == 0 and json.loads(compacted.stdout)["compactedEvents"] == 2
    counted = json.loads(astra("count", "feed", "--workspace", str(ws), "--format", "json").stdout)
    assert counted["count"] == 2
    assert astra("check", str(ws)).returncode == 0


def test_a_plain_check_loads_neither_the_commands_nor_the_cache_writer(ws: Path) -> None:
    """Every module imported is resident memory of a check: the other commands' layer and the index cache's
    writer thread pool are loaded only by what uses them."""
    path = write(ws, "feed", b'{"id":"a"}\n{"id":"a"}\n')
    script = ("import sys; from astra_ls.cli.main import main; code = main(['check', sys.argv[1]]); "
              "print(sorted({'astra_ls.commands', 'concurrent.futures'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert "ASTRA020" in result.stdout
    assert result.stdout.splitlines()[-1] == "[]"


def test_remote_without_the_nats_client_names_the_extra(ws: Path, tmp_path: Path) -> None:
    """nats-py is the `remote` extra: a machine without it gets a sentence, not a traceback."""
    (ws / "astra-ls.toml").write_text('[[remote]]\nname = "prod"\nservers = ["nats://127.0.0.1:4222"]\n')
    hide = tmp_path / "hide-nats"
    hide.mkdir()
    # Makes `import nats` fail as on a machine where the extra was never installed.
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['nats'] = None\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hide), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "astra_ls", "count", "conversation", "--remote", "prod"],
                            capture_output=True, text=True, cwd=ws, env=env, timeout=60, check=False)
    assert result.returncode == 2
    assert 'pip install "astra-ls[remote]"' in result.stderr
    assert "Traceback" not in result.stderr
