"""`astra-ls tail` as a process, following a store that other processes append to (without our lock),
truncate and replace; Ctrl-C ends it with exit code 0."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from .test_cli import astra

WAIT_S = 30.0

# A writer like Node's appendFileSync: no lock; every 7th event is written in two halves with a pause, so
# the follower sees half a line.
WRITER = """
import sys, time
path, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    line = ('{"type":"Tick","id":"w-%d","n":%d}\\n' % (i, i)).encode()
    with open(path, "ab") as f:
        if i % 7 == 3:
            f.write(line[:9]); f.flush(); time.sleep(0.03); f.write(line[9:])
        else:
            f.write(line)
    time.sleep(0.002)
"""


def event(i: int, kind: str = "Tick") -> bytes:
    return json.dumps({"type": kind, "id": f"e-{i}", "n": i}, separators=(",", ":")).encode() + b"\n"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    (tmp_path / ".astra").mkdir()
    path = tmp_path / ".astra" / "feed.jsonl"
    path.write_bytes(b"".join(event(i, "Tock" if i % 2 else "Tick") for i in range(20)))
    return path


class Follower:
    """A running `astra-ls tail -f` with its stdout and stderr read line by line in the background."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "astra_ls", "tail", *args], cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.errors: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        for stream, into in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, into), daemon=True).start()

    @staticmethod
    def _pump(stream: IO[str], into: queue.Queue[str]) -> None:
        for line in stream:
            into.put(line.rstrip("\n"))

    def lines(self, count: int) -> list[str]:
        found = []
        deadline = time.monotonic() + WAIT_S
        while len(found) < count:
            try:
                found.append(self.out.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"only {len(found)} of {count} lines: {found[-3:]}; "
                                     f"stderr: {self.errors}") from None
        return found

    def notice(self, word: str) -> str:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                line = self.err.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no notice with {word!r}; stderr: {self.errors}") from None
            self.errors.append(line)
            if word in line:
                return line

    def quiet(self, seconds: float = 0.5) -> list[str]:
        time.sleep(seconds)
        extra = []
        while not self.out.empty():
            extra.append(self.out.get())
        return extra

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=WAIT_S)
        while not self.err.empty():
            self.errors.append(self.err.get())
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_tail_shows_the_last_events_filtered(store: Path) -> None:
    result = astra("tail", str(store), "-n", "2", "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["n"] for line in result.stdout.splitlines()] == [18, 19]
    result = astra("tail", "feed", "--workspace", str(store.parent.parent), "-n", "all", "--type", "Tock")
    assert [line.split(" ", 2)[:2] for line in result.stdout.splitlines()][:2] == [["2:", "Tock"], ["4:", "Tock"]]
    assert len(result.stdout.splitlines()) == 10
    result = astra("tail", str(store), "--where", "n=7", "--format", "jsonl")
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["e-7"]
    assert astra("tail", str(store), "-n", "-1").returncode == 2
    assert astra("tail", str(store), "--interval", "0").returncode == 2


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT is sent as a console event on Windows")
def test_follow_a_writer_without_lock_then_truncation_replacement_and_ctrl_c(store: Path) -> None:
    follower = Follower(str(store), "--follow", "-n", "1", "--format", "jsonl", "--interval", "0.05",
                        cwd=store.parent.parent)
    try:
        assert json.loads(follower.lines(1)[0])["n"] == 19
        writer = subprocess.run([sys.executable, "-c", WRITER, str(store), "300"], timeout=120, check=True)
        assert writer.returncode == 0
        got = [json.loads(line) for line in follower.lines(300)]
        assert [e["id"] for e in got] == [f"w-{i}" for i in range(300)]  # all, in order, none torn
        assert follower.quiet() == []

        # truncation: said on stderr, then what is written next is shown
        with store.open("r+b") as handle:
            handle.truncate(0)
        follower.notice("truncated")
        with store.open("ab") as handle:
            handle.write(event(1000) + event(1001))
        assert [json.loads(line)["n"] for line in follower.lines(2)] == [1000, 1001]

        # replacement (as compaction or an editor's save-by-rename does): the new file from its start
        replacement = store.with_name("feed.jsonl.new")
        replacement.write_bytes(event(2000) + event(2001) + event(2002))
        os.replace(replacement, store)
        follower.notice("replaced")
        assert [json.loads(line)["n"] for line in follower.lines(3)] == [2000, 2001, 2002]
        with store.open("ab") as handle:
            handle.write(event(2003))
        assert json.loads(follower.lines(1)[0])["n"] == 2003

        assert follower.interrupt() == 0
        assert not any("Traceback" in line or "KeyboardInterrupt" in line for line in follower.errors)
    finally:
        follower.close()


def test_follow_reads_only_what_was_appended(store: Path) -> None:
    """After the first pass the file is read from the offset reached: bytes changed in place before it
    (far from the end) are not read again."""
    follower = Follower(str(store), "-f", "-n", "1", "--format", "jsonl", "--interval", "0.05",
                        cwd=store.parent.parent)
    try:
        assert json.loads(follower.lines(1)[0])["n"] == 19  # the first pass is done
        with store.open("r+b") as handle:  # same size, same file: only line 1's bytes differ
            handle.write(event(9)[:-1].replace(b"e-9", b"e-X") + b"\n")
        with store.open("ab") as handle:
            handle.write(event(500))
        assert json.loads(follower.lines(1)[0])["id"] == "e-500"
        assert follower.quiet() == []
    finally:
        follower.close()


def test_follow_reports_new_problems_of_complete_lines(store: Path) -> None:
    follower = Follower(str(store), "-f", "-n", "1", "--problems", "--interval", "0.05", cwd=store.parent.parent)
    try:
        assert follower.lines(1)[0].startswith("20: Tock ")  # the first pass is done
        with store.open("ab") as handle:
            handle.write(b'{"type":"Tick","id":"e-3","n":3}\n{"type":"Tick",')  # a duplicate, half a line
            handle.flush()
            assert follower.lines(2) == [
                '21: Tick {"type":"Tick","id":"e-3","n":3}',
                f'{store}:21:21: ASTRA020 [error] duplicate id "e-3": already used by the event on line 4']
            assert follower.quiet() == []  # the half line is not a problem while it may be completed
            handle.write(b'"id":"e-99" oops\n')
        [problem] = follower.lines(1)
        assert problem.startswith(f"{store}:22:") and "ASTRA001" in problem
        assert follower.quiet() == []
    finally:
        follower.close()


def test_problems_are_news_again_after_a_rewrite(store: Path) -> None:
    store.write_bytes(event(1) + event(1))  # a duplicate id on line 2
    follower = Follower(str(store), "-f", "-n", "all", "--problems", "--interval", "1", cwd=store.parent.parent)
    try:
        shown = follower.lines(3)
        assert shown[2].startswith(f"{store}:2:") and "ASTRA020" in shown[2]
        # rewritten in place between two looks, the same duplicate on line 2: news again all the same
        store.write_bytes(event(1, "Tock") + event(1, "Tock") + event(2, "Tock"))
        follower.notice("rewritten")
        again = follower.lines(4)
        assert [line.split(" ", 2)[1] for line in again[:3]] == ["Tock"] * 3
        assert again[3] == shown[2]
        assert follower.quiet() == []
    finally:
        follower.close()


def test_tail_of_a_missing_store_says_so(tmp_path: Path) -> None:
    (tmp_path / ".astra").mkdir()
    result = astra("tail", "nothing", "--workspace", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.strip()
