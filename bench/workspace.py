"""Where things live: generated logs, scratch workspaces, and how to start the engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DATA = BENCH / "data"
LOGS = DATA / "logs"
SCRATCH = DATA / "work"
RESULTS = BENCH / "results"
STREAM = "conversation"  # the stream name selects the built-in conversation schema family


def log_path(events: int) -> Path:
    return LOGS / f"{STREAM}-{events}.jsonl"


def ensure_log(events: int) -> Path:
    """Generate the log for this size unless an earlier run already did (generation is seeded)."""
    path = log_path(events)
    if not path.exists():
        print(f"generating {path.name} ...", file=sys.stderr, flush=True)
        subprocess.run(
            [sys.executable, str(BENCH / "generate.py"), "--events", str(events), "--out", str(path)],
            check=True,
        )
    return path


def child_env(engine_repo: Path = REPO) -> dict[str, str]:
    """Environment for every child: the engine importable even when it is not installed."""
    env = dict(os.environ)
    server = str(engine_repo / "server")
    env["PYTHONPATH"] = server + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    return env


@dataclass(frozen=True)
class Engine:
    argv: tuple[str, ...]

    def cli(self, *args: str) -> list[str]:
        return [*self.argv, *args]


def find_engine(env: dict[str, str], engine_repo: Path = REPO) -> tuple[Engine | None, str]:
    """The installed console script if present, else the package run as a module; None + reason
    when neither answers `--help` (the engine is developed alongside and may be incomplete).

    `engine_repo` is another checkout (e.g. a worktree of the previous release, set up with its own
    `scripts/setup.sh`): its venv's interpreter runs its engine, measured by this bench."""
    python = Path(sys.executable) if engine_repo == REPO else engine_repo / ".venv" / "bin" / "python"
    script = python.parent / "astra-ls"
    engine = Engine((str(script),)) if script.exists() else Engine((str(python), "-m", "astra_ls"))
    probe = subprocess.run([*engine.argv, "--help"], env=env, capture_output=True, text=True)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"astra-ls --help failed: {last[:100]}"
    return engine, ""


def ensure_node_modules() -> str:
    """Install the Node peers' packages (ajv) into bench/node_modules from the lock file, once, at
    bench set-up; returns why they are unavailable, or "" when ready."""
    if (BENCH / "node_modules" / "ajv" / "package.json").exists():
        return ""
    npm = shutil.which("npm")
    if npm is None:
        return "npm not found"
    print("installing bench/node_modules (npm ci) ...", file=sys.stderr, flush=True)
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=BENCH, capture_output=True, text=True)
    if done.returncode != 0:
        return f"npm ci failed: {(done.stderr.strip().splitlines() or ['no output'])[-1][:100]}"
    return ""


def fresh_workspace(name: str, stores: dict[str, Path]) -> Path:
    """A new workspace holding copies of the given logs as `.astra/<stream>.jsonl`.

    Copies, not links: appends and any cache files a run writes must never touch the pristine logs.
    """
    root = SCRATCH / name
    if root.exists():
        shutil.rmtree(root)
    astra = root / ".astra"
    astra.mkdir(parents=True)
    for stream, source in stores.items():
        shutil.copyfile(source, astra / f"{stream}.jsonl")
    return root


def store_path(workspace: Path, stream: str = STREAM) -> Path:
    return workspace / ".astra" / f"{stream}.jsonl"


def warm_page_cache(path: Path) -> None:
    # Every reader is measured on a warm cache so the comparison is about parsing, not the disk.
    with path.open("rb") as handle:
        while handle.read(1 << 24):
            pass


@dataclass(frozen=True)
class Sizes:
    small: int
    mid: int
    big: int
    repeats: int
    # The edit-latency target compares a 100k-line document with a 1k-line one in every mode.
    edit_doc: int = 100_000
    # The scaling scenario (section check-huge): ten times the big log, generated only when selected.
    huge: int = 10_000_000
    huge_repeats: int = 1  # a 10M check takes minutes on a loaded machine: one interleaved pair


FULL_SIZES = Sizes(small=1_000, mid=100_000, big=1_000_000, repeats=3)
QUICK_SIZES = Sizes(small=1_000, mid=10_000, big=100_000, repeats=3, huge=1_000_000)


@dataclass
class Context:
    """Everything the scenarios share; `figures` passes numbers from one scenario to a later one."""

    sizes: Sizes
    engine: Engine | None
    env: dict[str, str]
    figures: dict[str, float]
    engine_missing: str = ""  # why `engine` is None, shown in every n/a row that needs it
    node_missing: str = ""  # why the Node + ajv peer cannot run ("" when it can)
    engine_repo: Path = REPO  # the checkout whose engine is measured

    def log(self, events: int) -> Path:
        return log_path(events)
