"""Running one child process and measuring it: wall time, peak memory, output.

Every timed thing in the benchmark runs as its own process so each figure includes what a user pays
(interpreter start, imports) and the peak memory of one run is never mixed with another's.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

# How often the tree-memory sampler looks at /proc: often enough to catch a one-second peak, rarely
# enough to stay invisible next to the process being measured.
SAMPLE_INTERVAL_S = 0.01


@dataclass(frozen=True)
class ChildRun:
    """Outcome of one measured child process."""

    argv: tuple[str, ...]
    returncode: int
    wall_s: float
    peak_rss_bytes: int
    stdout: bytes
    stderr: bytes

    def json(self) -> object:
        """The last non-empty stdout line parsed as JSON (probes print one JSON line at the end)."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        if not lines:
            raise ValueError(f"{self.argv[0]} printed nothing; stderr: {self.stderr[-500:]!r}")
        return orjson.loads(lines[-1])

    def check_ok(self) -> ChildRun:
        if self.returncode != 0:
            raise RuntimeError(f"{' '.join(self.argv)} exited {self.returncode}: {self.stderr[-800:]!r}")
        return self


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except OSError:
            continue
        found.extend(int(part) for part in text.split())
    return found


def _pss_bytes(pid: int) -> int:
    """Proportional set size: each page shared with other processes (a forked worker shares its parent's
    libraries and data until either writes them) counts as its share, so a tree's sum is its real footprint,
    where a sum of RSS would count every shared page once per process."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def tree_memory_bytes(pid: int) -> int:
    """Memory of a process plus all its descendants (worker pools count too)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += _pss_bytes(current)
        stack.extend(_children(current))
    return total


class TreeMemorySampler:
    """Samples the summed PSS of a process tree on a thread until stopped; keeps the peak.

    `wait4`'s ru_maxrss only reports the largest single process, which would under-report an engine
    that fans work out to worker processes.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_memory_bytes(self.pid))
            self._stop.wait(SAMPLE_INTERVAL_S)


def run_child(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 600.0,
) -> ChildRun:
    """Run argv to completion; stdout/stderr go to temp files so a chatty child never blocks."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL
        )
        with TreeMemorySampler(proc.pid) as sampler:
            status, usage = _wait_with_timeout(proc, timeout_s)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in KiB on Linux; take whichever view of the peak is larger.
        peak = max(usage.ru_maxrss * 1024, sampler.peak)
        return ChildRun(tuple(argv), proc.returncode, wall, peak, out.read(), err.read())


def _wait_with_timeout(proc: subprocess.Popen[bytes], timeout_s: float) -> tuple[int, resource.struct_rusage]:
    # A blocking wait4 stamps the exit precisely; a timer thread kills a child that hangs.
    fired = threading.Event()

    def kill() -> None:
        fired.set()
        proc.kill()

    killer = threading.Timer(timeout_s, kill)
    killer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    if fired.is_set():
        raise TimeoutError(f"{proc.args!r} ran longer than {timeout_s} s")
    return status, usage


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def repeat(times: int, action: Callable[[], float]) -> list[float]:
    """Run a timed action several times; the caller takes the median to tame a shared machine."""
    return [action() for _ in range(times)]
