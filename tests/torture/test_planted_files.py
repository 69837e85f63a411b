"""Files a workspace plants where astra-ls writes: links at temp and lock files, hard links, FIFOs, and
the leftovers of killed rewrites. Everything through the CLI as a process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import Board
from .support import ASTRA_LS, PYTHON, Workspace, child_env, cli

STREAM = "shared"
EVENTS = b"".join(b'{"type":"Tick","id":"e%d"}\n' % n for n in range(50))
BAD = b"not JSON\n"


def run(*args: str | Path, cwd: Path | None = None) -> dict[str, Any]:
    done = cli(*args, "--format", "json", cwd=cwd, timeout=60)
    assert done.stdout, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    target = tmp_path / "outside.txt"
    target.write_bytes(b"precious\n")
    return target


def next_pids(count: int) -> range:
    """Process ids the next children are likely to get (pids are handed out in order)."""
    probe = subprocess.run([PYTHON, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    first = int(probe.stdout) + 1
    return range(first, first + count)


@pytest.mark.scenario("planted: temp file links")
@pytest.mark.parametrize("command", ["compact", "quarantine"])
def test_links_at_temp_names_are_never_written_through(workspace: Workspace, outside: Path, command: str,
                                                        board: Board) -> None:
    """Links planted at the temp names a rewrite could use leave their targets untouched."""
    workspace.write(STREAM, EVENTS + (BAD if command == "quarantine" else b""))
    for pid in next_pids(3000):
        os.symlink(outside, workspace.astra / f".{STREAM}.jsonl.{pid}.tmp")
    answer = run(command, STREAM, "--workspace", workspace.root)
    assert answer["ok"], answer
    assert outside.read_bytes() == b"precious\n"
    store = workspace.path(STREAM)
    assert store.is_file() and not store.is_symlink()
    board.ran()


@pytest.mark.scenario("planted: lock file links")
def test_lock_file_link_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    """A link at the store's lock file is refused; no file appears where it points."""
    workspace.write(STREAM, EVENTS)
    (workspace.astra / ".locks").mkdir()
    target = tmp_path / "created-outside"
    os.symlink(target, workspace.astra / ".locks" / f"{STREAM}.jsonl.lock")
    answer = run("append", STREAM, '{"type":"Tick","id":"x"}', "--workspace", workspace.root)
    assert answer["code"] == "PATH_REFUSED" and "symbolic link" in answer["message"], answer
    assert not target.exists()
    assert workspace.read(STREAM) == EVENTS


@pytest.mark.scenario("planted: lock folder link")
def test_lock_folder_link_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    """`.astra/.locks` linking out of the workspace is refused; nothing is created there."""
    workspace.write(STREAM, EVENTS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, workspace.astra / ".locks")
    for args in (("append", STREAM, '{"type":"Tick","id":"x"}'), ("compact", STREAM), ("quarantine", STREAM)):
        answer = run(*args, "--workspace", workspace.root)
        assert answer["code"] == "PATH_REFUSED" and ".locks" in answer["message"], answer
    assert list(elsewhere.iterdir()) == []
    assert workspace.read(STREAM) == EVENTS


@pytest.mark.scenario("planted: store link inside .astra")
@pytest.mark.parametrize("command", ["compact", "quarantine"])
def test_rewrite_of_a_linked_store_is_refused(workspace: Workspace, command: str) -> None:
    """A store that is a link (even to another store inside `.astra/`) is not replaced by a file."""
    workspace.write(STREAM, EVENTS + BAD)
    alias = workspace.path("alias")
    alias.symlink_to(f"{STREAM}.jsonl")
    answer = run(command, "alias", "--workspace", workspace.root)
    assert not answer["ok"] and "link" in answer["message"], answer
    assert alias.is_symlink()
    assert workspace.read(STREAM) == EVENTS + BAD
    assert not (workspace.astra / "archive").exists() or not list((workspace.astra / "archive").iterdir())


@pytest.mark.scenario("planted: hard link to an outside file")
def test_hard_linked_store_is_refused_for_writes(workspace: Workspace, tmp_path: Path) -> None:
    """A store sharing its file with an outside name is refused by append, compact and quarantine."""
    for content, args in ((EVENTS, ("append", STREAM, '{"type":"Tick","id":"x"}')), (EVENTS, ("compact", STREAM)),
                          (EVENTS + BAD, ("quarantine", STREAM))):
        outside = tmp_path / "outside.jsonl"
        outside.write_bytes(content)
        workspace.path(STREAM).unlink(missing_ok=True)
        os.link(outside, workspace.path(STREAM))
        answer = run(*args, "--workspace", workspace.root)
        assert answer["code"] == "HARD_LINKED" and "hard link" in answer["message"], answer
        assert outside.read_bytes() == content
        assert workspace.path(STREAM).stat().st_nlink == 2
    assert not (workspace.astra / "quarantine").exists() or not list((workspace.astra / "quarantine").iterdir())


@pytest.mark.scenario("planted: FIFO named like a store")
def test_fifo_store_is_refused_not_waited_on(workspace: Workspace) -> None:
    """A FIFO named `x.jsonl` is refused by every command that opens it; none blocks."""
    os.mkfifo(workspace.path("x"))
    for args in (("count", "x"), ("append", "x", '{"type":"Tick","id":"x"}'), ("compact", "x"),
                 ("quarantine", "x"), ("project", "x")):
        answer = run(*args, "--workspace", workspace.root)
        assert answer["code"] == "NOT_A_FILE" and "FIFO" in answer["message"], answer


@pytest.mark.scenario("crash: leftovers of killed rewrites")
def test_killed_rewrites_leave_nothing_behind(workspace: Workspace, board: Board) -> None:
    """Temp files of killed compactions are removed by the next rewrite; the store stays whole."""
    big = b"".join(b'{"type":"Tick","id":"e%d","pad":"%s"}\n' % (n, b"x" * 200) for n in range(60_000))
    workspace.write(STREAM, big)
    killed = 0
    for delay in (0.6, 0.9, 1.2, 1.5, 1.8, 2.4):
        process = subprocess.Popen([*ASTRA_LS, "compact", STREAM, "--workspace", str(workspace.root)],
                                   env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait()
        board.ran()
    # Whatever the kills left, planted as they would be (old and new temp names):
    (workspace.astra / f".{STREAM}.jsonl.4242.tmp").write_bytes(big[:1000])
    (workspace.astra / f".{STREAM}.jsonl.0123456789abcdef.tmp").write_bytes(big[:1000])
    workspace.write("other", EVENTS)
    (workspace.astra / ".other.jsonl.0123456789abcdef.tmp").write_bytes(b"another store's")
    answer = run("compact", STREAM, "--workspace", workspace.root)
    assert answer["ok"], answer
    hidden = sorted(p.name for p in workspace.astra.iterdir() if p.name.startswith(".") and p.is_file())
    assert hidden == [".other.jsonl.0123456789abcdef.tmp"]
    archive_temps = [p for p in (workspace.astra / "archive").iterdir() if p.name.startswith(".")]
    assert archive_temps == []
    board.notes.append(f"{killed} compactions killed")


VERIFY_BREAKER = """
import itertools
CALLS = itertools.count()

def project(state, event):
    state["calls"] = next(CALLS)  # a different state on every replay: compaction cannot verify it
    return state
"""


def test_verify_failed_leaves_no_archive(workspace: Workspace) -> None:
    """A compaction refused with VERIFY_FAILED leaves the store as it was and no archive behind."""
    (workspace.root / "breaker.py").write_text(VERIFY_BREAKER)
    (workspace.root / "astra-ls.toml").write_text('[[stores]]\nglob = "*.jsonl"\nprojector = "breaker:project"\n')
    workspace.write(STREAM, EVENTS)
    answer = run("compact", STREAM, "--workspace", workspace.root, "--trust")
    assert answer["code"] == "VERIFY_FAILED", answer
    assert workspace.read(STREAM) == EVENTS
    archive = workspace.astra / "archive"
    assert not archive.exists() or list(archive.iterdir()) == []
