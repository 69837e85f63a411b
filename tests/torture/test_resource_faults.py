"""Resource faults: full disks, file-size limits, read-only mounts, stores deleted, truncated or replaced.

Each gives a clear `{ok: false, code, message}` answer and leaves every file as it was before the attempt.
"""

from __future__ import annotations

import base64
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from astra_ls.commands import execute
from astra_ls.store.file_store import FileEventStore

from .conftest import Board
from .support import ASTRA_LS, PYTHON, Workspace, child_env, lines_of

GOOD = b"".join(b'{"type":"Tick","id":"e%d"}\n' % i for i in range(20))


def limited(max_bytes: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return apply


def run_limited(workspace: Workspace, max_bytes: int, *args: str) -> dict[str, object]:
    done = subprocess.run([*ASTRA_LS, *args, "--workspace", str(workspace.root), "--format", "json"],
                          capture_output=True, text=True, env=child_env(), timeout=120, check=False,
                          preexec_fn=limited(max_bytes))
    assert done.stdout, f"astra-ls {args} gave no answer: {done.stderr[-2000:]}"
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
            and ".locks" not in p.parts}


@pytest.mark.scenario("faults: file-size limit")
@pytest.mark.parametrize("headroom", [0, 1, 7, 20])
def test_append_past_the_file_size_limit_changes_nothing(workspace: Workspace, headroom: int, board: Board) -> None:
    """RLIMIT_FSIZE just above the store's size: append answers DISK_FULL and the store is byte-identical."""
    workspace.write("events", GOOD)
    before = snapshot(workspace.astra)
    answer = run_limited(workspace, len(GOOD) + headroom, "append", "events", '{"type":"Tick","id":"big-one"}')
    assert answer["ok"] is False and answer["code"] == "DISK_FULL", answer
    assert "append" in str(answer["message"])
    assert snapshot(workspace.astra) == before
    board.ran()


@pytest.mark.scenario("faults: file-size limit")
def test_quarantine_past_the_file_size_limit_loses_no_line(workspace: Workspace, board: Board) -> None:
    """A quarantine record that would pass the size limit: refused, store intact, no half record."""
    bad = b"not json " + b"x" * 6000
    workspace.write("events", GOOD + bad + b"\n" + GOOD.replace(b'"e', b'"f'))
    before = snapshot(workspace.astra)
    answer = run_limited(workspace, 4000, "quarantine", "events")
    assert answer["ok"] is False and answer["code"] == "DISK_FULL", answer
    after = snapshot(workspace.astra)
    assert after.get("events.jsonl") == before["events.jsonl"], "the store changed although quarantine failed"
    record = after.get("quarantine/events.jsonl", b"")
    assert all(line.startswith(b"{") and line.endswith(b"}") for line in lines_of(record)), "half-written record"
    assert not [name for name in after if name.endswith(".tmp")], f"temp files left: {sorted(after)}"
    board.ran()


@pytest.mark.scenario("faults: file-size limit")
def test_compaction_past_the_file_size_limit_changes_nothing(workspace: Workspace, board: Board) -> None:
    """Compaction whose archive or snapshot would pass the size limit: refused, no archive, no temp files."""
    noise = base64.b64encode(random.Random(6).randbytes(40_000)).decode()
    workspace.write("events", b"".join(b'{"type":"Tick","id":"n%d","noise":"%s"}\n' % (i, noise[i * 100 :
                                       i * 100 + 100].encode()) for i in range(400)))
    data = workspace.read("events")
    answer = run_limited(workspace, len(data) // 2, "compact", "events")
    assert answer["ok"] is False and answer["code"] == "DISK_FULL", answer
    after = snapshot(workspace.astra)
    assert after == {"events.jsonl": data}, f"compaction left {sorted(after)}"
    board.ran()


def in_mount_namespace(script: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run a shell script as root in a private mount namespace (mounts vanish with it)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed: cannot make a private mount namespace")
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k none /mnt"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount in a private namespace here ({probe.stderr.strip()}): "
                    "root bypasses permission bits, so read-only and disk-full need real mounts")
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-euc", script],
                          capture_output=True, text=True, env=child_env(), timeout=timeout, check=False)


@pytest.mark.scenario("faults: disk full")
def test_append_on_a_full_disk_changes_nothing(tmp_path: Path, board: Board) -> None:
    """A full tmpfs: append answers DISK_FULL, the store keeps its bytes, the CLI exits 1."""
    mount = tmp_path / "small"
    mount.mkdir()
    events = b"".join(b'{"type":"Tick","id":"e%03d"}\n' % i for i in range(140))
    events += b'{"type":"Tick","id":"pad","p":"' + b"p" * (4096 - len(events) - 34) + b'"}\n'
    assert len(events) == 4096  # the store fills its tmpfs page exactly: the append needs a new one
    script = f"""
mount -t tmpfs -o size=256k none {mount}
mkdir -p {mount}/ws/.astra/.locks
printf '%s' '{events.decode()}' > {mount}/ws/.astra/events.jsonl
dd if=/dev/zero of={mount}/filler bs=4k 2>/dev/null || true
set +e
{" ".join(ASTRA_LS)} append events '{{"type":"Tick","id":"late"}}' --workspace {mount}/ws --format json
echo "rc=$?"
cmp {mount}/ws/.astra/events.jsonl /dev/stdin <<'EOF' && echo SAME
{events.decode()}EOF
"""
    done = in_mount_namespace(script)
    answer = json.loads(done.stdout.splitlines()[0])
    assert answer["ok"] is False and answer["code"] == "DISK_FULL", done.stdout + done.stderr
    assert "rc=1" in done.stdout and "SAME" in done.stdout, done.stdout + done.stderr
    board.ran()


@pytest.mark.scenario("faults: read-only mount")
def test_read_only_workspace_refuses_writes_and_still_reads(workspace: Workspace, board: Board) -> None:
    """A read-only bind mount: append/quarantine/compact answer READ_ONLY; count and check still work."""
    workspace.write("events", GOOD + b"junk\n")
    root = workspace.root
    cli = " ".join(ASTRA_LS)
    script = f"""
mount --bind {root} {root}
mount -o remount,bind,ro {root}
set +e
{cli} append events '{{"type":"Tick","id":"x"}}' --workspace {root} --format json
{cli} quarantine events --workspace {root} --format json
{cli} compact events --workspace {root} --format json
{cli} count events --workspace {root} --format json
{cli} check {root} --format json
"""
    before = snapshot(workspace.astra)
    done = in_mount_namespace(script)
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == 5, done.stdout + done.stderr
    for answer in answers[:3]:
        assert answer["ok"] is False and answer["code"] == "READ_ONLY", answer
    assert (answers[3]["ok"], answers[3]["count"], answers[3]["byType"]) == (True, 20, {"Tick": 20})
    assert answers[4]["files"][0]["events"] == 20
    assert snapshot(workspace.astra) == before
    board.ran(5)


# --- stores that change under the reader -----------------------------------------------------------------

ACTIONS = ("delete", "truncate", "regrow", "rename", "append")


def mutate(path: Path, round_: int) -> None:
    """One of: delete, truncate, truncate-and-regrow, replace by rename, append."""
    action = round_ % 5
    if action == 0:
        path.unlink(missing_ok=True)
    elif action == 1 and path.exists():
        with path.open("r+b") as handle:
            handle.truncate(max(0, path.stat().st_size // 3))
    elif action == 2:
        path.write_bytes(GOOD[: len(GOOD) // 2] + GOOD.replace(b"Tick", b"Tock"))
    elif action == 3:
        temp = path.with_name(".replacement")
        temp.write_bytes(GOOD.replace(b'"e', b'"r'))
        os.replace(temp, path)
    else:
        with path.open("ab") as handle:
            handle.write(b'{"type":"Tick","id":"a%d"}\n' % round_)


@pytest.mark.scenario("faults: store changed under the reader")
def test_store_deleted_truncated_or_replaced_while_followed(workspace: Workspace, board: Board) -> None:
    """After each delete/truncate/regrow/rename/append, the followed count equals a fresh read's count."""
    path = workspace.write("events", GOOD * 50)
    followed = FileEventStore(workspace.root)
    for round_ in range(200):
        mutate(path, round_)
        answer = execute(followed, "astra.count", {"store": "events"})
        fresh = execute(FileEventStore(workspace.root), "astra.count", {"store": "events"})
        assert (answer["ok"], answer.get("code"), answer.get("byType")) == \
            (fresh["ok"], fresh.get("code"), fresh.get("byType")), f"round {round_} ({ACTIONS[round_ % 5]})"
        if not path.exists():
            assert answer["ok"] is False and answer["code"] == "STORE_NOT_FOUND", answer
            path.write_bytes(GOOD)
        board.ran()


@pytest.mark.scenario("faults: store changed under the reader")
def test_store_mutated_while_being_scanned(workspace: Workspace, board: Board) -> None:
    """A thread deletes/truncates/replaces the store while others scan it: only ok or clear refusals."""
    big = GOOD * 5000
    path = workspace.write("events", big)
    stop = threading.Event()
    answers: list[dict[str, object]] = []
    errors: list[BaseException] = []

    def mutator() -> None:
        round_ = 0
        while not stop.is_set():
            mutate(path, round_)
            if not path.exists() or round_ % 7 == 0:
                path.write_bytes(big)
            round_ += 1

    def reader() -> None:
        try:
            for _ in range(40):
                store = FileEventStore(workspace.root)
                for command in ("astra.count", "astra.query", "astra.project"):
                    answers.append(execute(store, command, {"store": "events"}))
        except BaseException as error:  # an exception escaping the command layer is the failure sought
            errors.append(error)

    thread = threading.Thread(target=mutator)
    thread.start()
    readers = [threading.Thread(target=reader) for _ in range(2)]
    for r in readers:
        r.start()
    for r in readers:
        r.join(timeout=300)
    stop.set()
    thread.join(timeout=60)
    assert not errors, f"a command raised instead of answering: {errors[0]!r}"
    for answer in answers:
        assert answer["ok"] is True or answer.get("code") in ("STORE_NOT_FOUND", "STORE_CHANGED"), answer
    board.ran(len(answers))
    final = execute(FileEventStore(workspace.root), "astra.count", {"store": "events"})
    assert final["ok"] is True


def test_python_is_the_interpreter() -> None:
    """The helpers run children with this interpreter (the one that has the engine installed)."""
    assert Path(PYTHON).exists()
