"""Crashes: the language server SIGKILLed mid-scan and started again recovers exactly the same diagnostics.

The workspace holds one big store (tens of MB, so the start-up scan is still running when the kill lands)
with bad lines planted at known places, and small stores with problems before and after it in scan order.
Each run kills a real `astra-ls serve` at a different moment of its first scan, starts a new one on the
same files, and compares what it finally publishes with `astra-ls check --format json` of those files and
with what a server that was never interrupted publishes.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import Board
from .rawlsp import RawServer, server_unavailable
from .support import PYTHON, Workspace, child_env, cli_json

BIG = "big"
TYPES = (b"OrderPlaced", b"OrderPaid", b"ItemShipped", b"CustomerRenamed")
SEVERITY = {"error": 1, "warning": 2, "information": 3, "info": 3, "hint": 4}

# A diagnostic reduced to what must match across servers and the CLI, in LSP's 0-based positions:
# (code, severity, start line, start col, end line, end col, message, ((related line, start, end, message), ...))
Finding = tuple[str, int, int, int, int, int, str, tuple[tuple[int, int, int, str], ...]]


def event(n: int) -> bytes:
    """A realistic event: type, id, time (ascending with n) and a small payload."""
    return (b'{"type":"%s","id":"evt-%08d","timestamp":%d,"payload":{"customer":"c-%d","amount":%d.%02d,'
            b'"note":"%s"}}' % (TYPES[n % 4], n, 1735689600000 + 7 * n, n % 9973, n % 500, n % 100,
                                b"n" * (20 + n % 40)))


@dataclass(frozen=True)
class Planted:
    line: int  # 0-based
    code: str


def big_store(megabytes: int) -> tuple[bytes, list[Planted]]:
    """About `megabytes` MB of events with bad lines planted early, in the middle, and at the very end."""
    count = megabytes * 1024 * 1024 // len(event(0))
    lines = [event(n) for n in range(count)]
    planted = [Planted(7, "ASTRA001"), Planted(count // 2, "ASTRA001"), Planted(count // 2 + 3, "ASTRA020"),
               Planted(count - 40, "ASTRA021"), Planted(count - 20, "ASTRA032"), Planted(count, "ASTRA001")]
    lines[7] = lines[7][:-9]  # cut short: malformed
    lines[count // 2] = lines[count // 2].replace(b'"payload":', b'"payload"', 1)
    lines[count // 2 + 3] = event(11).replace(b"1735689600077", b"%d" % (1735689600000 + 7 * (count // 2 + 3)))
    lines[count - 40] = lines[count - 40].replace(b"%d" % (1735689600000 + 7 * (count - 40)), b"1735689600000")
    lines[count - 20] = b""
    torn = event(count)[:50]  # a torn final write: no closing brace, no newline
    return b"\n".join(lines) + b"\n" + torn, planted


def small_stores() -> dict[str, bytes]:
    """Stores scanned before and after the big one, each with its own kinds of problems."""
    return {
        "audit": b'{"type":"Login","id":"a1","timestamp":1}\n'
                 b"not json at all\n"
                 b'{"type":"Login","id":"a1","timestamp":2}\n'
                 b'{"type":"Login","id":"a3","timestamp":3}\r\n'
                 b"\n"
                 b'{"type":"Logout","id":"a4","timestamp":4}\n'
                 b'{"type":"Logout","who":"\xf0\x9f\x99\x82 caf\xc3\xa9","id":"a5","timestamp":0}\n',
        "zz-orders": b'{"type":"OrderPlaced","id":"o1","timestamp":10}\n'
                     b'[1,2,3]\n'
                     b'{"type":"OrderPlaced","id":"o2","timestamp":11,"x":"\xff"}\n'
                     b'{"type":"OrderPlaced","id":"o3","timestamp":12,}\n'
                     b'{"type":"OrderPlaced","id":"o4","timestamp":13}',
    }


def make_workspace(workspace: Workspace, megabytes: int) -> list[Planted]:
    data, planted = big_store(megabytes)
    workspace.write(BIG, data)
    for stream, content in small_stores().items():
        workspace.write(stream, content)
    return planted


def from_cli(workspace: Workspace) -> dict[str, list[Finding]]:
    """`astra-ls check --format json` of the workspace, in LSP coordinates, keyed by file URI."""
    report = cli_json("check", cwd=workspace.root)
    found: dict[str, list[Finding]] = {}
    for entry in report["files"]:
        findings = []
        for p in entry["problems"]:
            related = tuple((r["line"] - 1, r["column"] - 1, r["endColumn"] - 1, r["message"])
                            for r in p["related"])
            findings.append((p["code"], SEVERITY[p["severity"]], p["line"] - 1, p["column"] - 1,
                             p["endLine"] - 1, p["endColumn"] - 1, p["message"], related))
        found[Path(entry["path"]).as_uri()] = sorted(findings)
    return found


def from_server(server: RawServer) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    for uri, diagnostics in server.diagnostics.items():
        findings = []
        for d in diagnostics:
            r = d["range"]
            related = tuple((i["location"]["range"]["start"]["line"], i["location"]["range"]["start"]["character"],
                             i["location"]["range"]["end"]["character"], i["message"])
                            for i in d.get("relatedInformation") or ())
            findings.append((d["code"], d["severity"], r["start"]["line"], r["start"]["character"],
                             r["end"]["line"], r["end"]["character"], d["message"], related))
        found[uri] = sorted(findings)
    return found


def progress(server: RawServer, kind: str, message_end: str = "") -> bool:
    """Whether the server has sent a `$/progress` of this kind (begin/report/end) whose message ends so."""
    for note in server.notifications():
        value = note.get("params", {}).get("value", {}) if note.get("method") == "$/progress" else {}
        if value.get("kind") == kind and str(value.get("message", "")).endswith(message_end):
            return True
    return False


def scan_finished(server: RawServer, uris: list[str]) -> Callable[[], bool]:
    return lambda: progress(server, "end") and all(uri in server.diagnostics for uri in uris)


def full_run(workspace: Workspace, uris: list[str]) -> dict[str, list[Finding]]:
    """What a server that is left alone publishes once its start-up scan is over."""
    server = RawServer(workspace.root)
    try:
        server.initialize()
        server.wait_until(scan_finished(server, uris), "the start-up scan to finish")
        return from_server(server)
    finally:
        server.shutdown()


# The moments a run kills the first server at: each is a condition on what the server has sent so far.
Moment = Callable[[RawServer], bool]
MOMENTS: dict[str, Moment] = {
    "scan progress begins": lambda s: progress(s, "begin"),
    "first store's diagnostics arrive": lambda s: bool(s.diagnostics),
    "big store's turn is announced": lambda s: progress(s, "report", f": {BIG}"),
}


def children_of(pid: int) -> set[int]:
    """The live children of a process (its forked scan workers), as Linux lists them."""
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            found.update(int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split())
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_during_scan(workspace: Workspace, moment: Moment, what: str, delay: float) -> bool:
    """Start a server, SIGKILL it `delay` seconds after `moment` is reached; True if its scan was unfinished.

    Scan workers it had forked must end on their own once their parent is gone (none may linger)."""
    server = RawServer(workspace.root)
    workers: set[int] = set()
    try:
        server.initialize()
        server.wait_until(lambda: moment(server), what)
        time.sleep(delay)  # a pause chosen at random to vary the moment, not a measurement
        with server.changed:
            unfinished = not progress(server, "end")
            workers = children_of(server.process.pid)
            server.process.send_signal(signal.SIGKILL)
        assert server.process.wait(timeout=30) == -signal.SIGKILL, \
            f"the server died on its own before the kill: {b''.join(server.stderr_lines)[-2000:]!r}"
        deadline = time.monotonic() + 60  # a hang detector: a worker only has its own share to finish
        while any(running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        lingering = [w for w in workers if running(w)]
        assert not lingering, f"scan workers {lingering} outlived the killed server by a minute"
        return unfinished
    finally:
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)  # only ever the killed server's own children
        server.kill()


def restart_many(workspace: Workspace, board: Board, megabytes: int,
                 moments: list[tuple[str, Moment, float]]) -> None:
    reason = server_unavailable()
    if reason:
        pytest.skip(reason)
    planted = make_workspace(workspace, megabytes)
    expected = from_cli(workspace)
    uris = sorted(expected)
    assert len(uris) == 3, f"the CLI checked {uris}"
    big_uri = workspace.path(BIG).as_uri()
    found_big = {(f[0], f[2]) for f in expected[big_uri]}
    assert {(p.code, p.line) for p in planted} <= found_big, f"planted problems not all found: {found_big}"
    assert all(expected[uri] for uri in uris), "every store has problems to recover"

    untouched = full_run(workspace, uris)
    assert untouched == expected, "an uninterrupted server disagrees with `astra-ls check`"

    interrupted = 0
    for what, moment, delay in moments:
        interrupted += kill_during_scan(workspace, moment, what, delay)
        recovered = full_run(workspace, uris)
        for uri in uris:
            assert recovered[uri] == expected[uri], f"after a kill when {what}: {uri} differs from the CLI"
        assert recovered == untouched
        board.ran()
    assert interrupted, "every kill came after the scan had finished: no run tested a mid-scan kill"


@pytest.mark.scenario("crash: server killed mid-scan")
def test_a_server_killed_mid_scan_recovers_the_same_diagnostics(workspace: Workspace, board: Board) -> None:
    """Server SIGKILLed at 3 moments of its first (parallel) scan of a 66 MB store: a new one says what the CLI says."""
    restart_many(workspace, board, 66, [(what, moment, 0.0) for what, moment in MOMENTS.items()])


@pytest.mark.soak
@pytest.mark.scenario("crash: server killed mid-scan")
def test_a_server_killed_mid_scan_soak(workspace: Workspace, board: Board) -> None:
    """Server SIGKILLed 15 times at random moments of its first (parallel) scan of a 72 MB store: no drift."""
    rng = random.Random(606)
    moments = [(what, moment, rng.uniform(0.0, 1.5)) for what, moment in
               [rng.choice(list(MOMENTS.items())) for _ in range(15)]]
    restart_many(workspace, board, 72, moments)


SCAN_WHILE_STDIN_IS_READ = """
import os, sys, threading
from pathlib import Path
from astra_ls.core.analysis import AnalysisRules, StoreAnalysis
from astra_ls.core.linecheck import LineRules
from astra_ls.core.parallel import scan_parallel
from astra_ls.schemas.families import builtin_schema

read_end, write_end = os.pipe()
sys.stdin = open(read_end, "r")
reading = threading.Thread(target=sys.stdin.buffer.readline, daemon=True)  # a server's message reader
reading.start()
path = Path(sys.argv[1])
analysis = scan_parallel(path, AnalysisRules(LineRules(builtin_schema("generic"))), path.stat().st_size,
                         StoreAnalysis)
assert analysis is not None, "the store was not scanned in parallel"
print(analysis.line_count)
os.write(write_end, b"a message at last\\n")  # let the reader go, so the interpreter can shut down
reading.join()
"""


@pytest.mark.scenario("crash: server killed mid-scan")
def test_a_parallel_scan_finishes_while_another_thread_reads_stdin(workspace: Workspace, board: Board) -> None:
    """A scan in a process whose other thread reads stdin (a server) spawns its workers, and they finish (forked
    ones used to inherit the reader's lock on stdin and hang)."""
    data, _ = big_store(66)
    path = workspace.write(BIG, data)
    child = subprocess.Popen([PYTHON, "-c", SCAN_WHILE_STDIN_IS_READ, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=child_env(), start_new_session=True)
    try:
        output, errors = child.communicate(timeout=60)  # a hang detector: the scan itself takes seconds
    except subprocess.TimeoutExpired:
        pytest.fail("the parallel scan hangs while another thread reads stdin")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)  # its forked workers too, whatever happened
        child.communicate()
    assert child.returncode == 0, errors[-2000:]
    assert int(output) == data.count(b"\n") + 1
    board.ran()
