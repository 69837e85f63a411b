"""Shared helpers for the torture suite: workspaces, CLI runs, memory-measured children, event ledgers."""

from __future__ import annotations

import gzip
import json
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
ASTRA_LS = [PYTHON, "-m", "astra_ls.cli.main"]
HANG_S = 300  # a child still running after this long is hung: the test fails with TimeoutExpired


@dataclass
class Workspace:
    root: Path

    @property
    def astra(self) -> Path:
        return self.root / ".astra"

    def path(self, stream: str) -> Path:
        return self.astra / f"{stream}.jsonl"

    def write(self, stream: str, content: bytes) -> Path:
        self.astra.mkdir(parents=True, exist_ok=True)
        target = self.path(stream)
        target.write_bytes(content)
        return target

    def read(self, stream: str) -> bytes:
        return self.path(stream).read_bytes()


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "server"), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def cli(*args: str | Path, cwd: Path | None = None, timeout: float = HANG_S) -> subprocess.CompletedProcess[str]:
    """Run `astra-ls ARGS` in a fresh process."""
    return subprocess.run([*ASTRA_LS, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=child_env(), timeout=timeout, check=False)


def cli_json(*args: str | Path, cwd: Path | None = None) -> Any:
    done = cli(*args, "--format", "json", cwd=cwd)
    assert done.stdout, f"no JSON from astra-ls {args}: {done.stderr}"
    return json.loads(done.stdout)


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float


def run_measured(code: str, *args: str, timeout: float = HANG_S) -> Measured:
    """Run `python -c code args` alone in a grandchild and report its own peak RSS.

    RUSAGE_CHILDREN is the maximum over every child ever waited for, so the measurement happens in a
    fresh intermediate process whose only child is the one measured.
    """
    wrapper = (
        "import resource, subprocess, sys, json\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'rc': done.returncode, 'out': done.stdout, 'err': done.stderr, 'kb': peak}))\n"
    )
    done = subprocess.run([PYTHON, "-c", wrapper, PYTHON, "-c", code, *args], capture_output=True, text=True,
                          env=child_env(), timeout=timeout, check=True)
    result = json.loads(done.stdout)
    return Measured(result["rc"], result["out"], result["err"], result["kb"] / 1024)


def baseline_rss_mb() -> float:
    """Peak RSS of a child that only imports the engine: what every measured child pays anyway."""
    return run_measured("import astra_ls.commands, astra_ls.cli.main").peak_rss_mb


def self_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- event ledgers: what a store holds once snapshots are expanded through their archives --------------

def lines_of(data: bytes) -> list[bytes]:
    """The store's lines as a reader sees them (the last one may be unterminated)."""
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    return parts


def parse_event(raw: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def logical_events(root: Path, data: bytes) -> list[dict[str, Any]]:
    """Every event a store's bytes stand for: each snapshot is replaced by the archived lines it covers.

    Raises AssertionError when a snapshot names an archive that is missing or covers unreadable lines.
    Walks the chain of archives with its own stack: a store compacted a thousand times nests as deep.
    """
    found: list[dict[str, Any]] = []
    # frames: the lines still to read, where this frame's events start in `found`, the count it must give
    frames: list[tuple[Iterator[bytes], int, dict[str, Any] | None]] = [(iter(lines_of(data)), 0, None)]
    while frames:
        lines, start, snapshot = frames[-1]
        raw = next(lines, None)
        if raw is None:
            frames.pop()
            if snapshot is not None:
                assert len(found) - start == int(snapshot["events"]), \
                    f"snapshot says {snapshot['events']} events, its archive holds {len(found) - start}"
            continue
        event = parse_event(raw)
        if event is None:
            continue
        if event.get("type") != "$snapshot":
            found.append(event)
            continue
        archive = root / ".astra" / str(event["archive"])
        assert archive.is_file(), f"snapshot names archive {archive}, which is missing"
        archived = gzip.decompress(archive.read_bytes())
        frames.append((iter(lines_of(archived)[: int(event["upToLine"])]), len(found), event))
    return found


def quarantined_raw(root: Path, stream: str) -> list[bytes]:
    """The raw lines moved into the stream's quarantine."""
    path = root / ".astra" / "quarantine" / f"{stream}.jsonl"
    if not path.exists():
        return []
    import base64

    moved = []
    for raw in lines_of(path.read_bytes()):
        record = orjson.loads(raw)
        moved.append(record["raw"].encode() if "raw" in record else base64.b64decode(record["rawBase64"]))
    return moved
