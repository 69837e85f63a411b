"""astra-ls benchmark (issue #5): `python bench/run.py [--quick] [--only SECTION ...]`.

Builds the seeded logs if missing, runs every measurement as child processes of this one (the Node
reference reader included), prints a table of figures and ratios against each target with
PASS/MISS, and writes bench/results/latest.json. `--quick` uses 100k events as the big size.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_VENV_PYTHON = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"
if Path(sys.prefix).resolve() != _VENV_PYTHON.parent.parent.resolve() and _VENV_PYTHON.exists():
    # The project's dependencies (orjson, the engine's) live in its venv: re-run under it.
    os.execv(str(_VENV_PYTHON), [str(_VENV_PYTHON), *sys.argv])

import argparse  # noqa: E402
import compileall  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable  # noqa: E402

import orjson  # noqa: E402

import scenarios_cli  # noqa: E402
import scenarios_debugger  # noqa: E402
import scenarios_lsp  # noqa: E402
from report import NA, Row, render_table, summary  # noqa: E402
from workspace import (  # noqa: E402
    FULL_SIZES,
    QUICK_SIZES,
    REPO,
    RESULTS,
    SCRATCH,
    Context,
    child_env,
    ensure_log,
    ensure_node_modules,
    find_engine,
)

Section = Callable[[Context], list[Row]]

SECTIONS: dict[str, tuple[str, Section]] = {
    "check": ("targets 1-2: check speed and memory", scenarios_cli.baselines_and_check),
    "check-huge": ("10x log: check time and memory", scenarios_cli.huge_check),
    "cli-append": ("target 3: CLI after one append", scenarios_cli.cli_after_append),
    "lsp-start": ("target 4: server start", scenarios_lsp.server_start),
    "lsp-change": ("target 3: server work proportional to change", scenarios_lsp.proportional_to_change),
    "append": ("target 5: appends", scenarios_cli.appends),
    "debugger": ("issue 17: time-travel debugger steps", scenarios_debugger.debugger_steps),
}


def run_section(ctx: Context, key: str) -> list[Row]:
    title, section = SECTIONS[key]
    print(f"[{time.strftime('%H:%M:%S')}] {title} ...", file=sys.stderr, flush=True)
    try:
        return section(ctx)
    except Exception as error:  # one broken measurement must not hide the others
        traceback.print_exc()
        return [Row("?", title, f"n/a (error: {type(error).__name__}: {str(error)[:160]})", status=NA)]


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="astra-ls benchmark")
    parser.add_argument("--quick", action="store_true", help="100k events as the big size (about a minute)")
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), help="run only these sections")
    parser.add_argument("--keep-scratch", action="store_true", help="keep bench/data/work for inspection")
    parser.add_argument("--engine-env", action="append", default=[], metavar="KEY=VALUE", type=key_value,
                        help="extra environment for every engine process (e.g. ASTRA_LS_WORKERS=1); recorded")
    parser.add_argument("--engine-repo", type=Path, default=None, metavar="DIR",
                        help="measure the engine of another checkout set up with its own scripts/setup.sh "
                             "(e.g. a worktree of the previous release); this bench drives it")
    return parser.parse_args(argv)


def write_results(ctx: Context, rows: list[Row], quick: bool, elapsed_s: float,
                  load: dict[str, list[float]], engine_env: dict[str, str], results_suffix: str = "") -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "mode": "quick" if quick else "full",
        "sizes": vars(ctx.sizes),
        "engine": list(ctx.engine.argv) if ctx.engine else None,
        "engineCommit": engine_commit(ctx.engine_repo),
        "engineEnv": engine_env,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "loadAverage": load},
        "elapsedS": elapsed_s,
        "rows": [row.as_json() for row in rows],
    }
    out = RESULTS / f"latest{results_suffix}.json"
    out.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    return out


def engine_commit(repo: Path) -> str:
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "?"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    started = time.perf_counter()
    # The machine may be shared: the load around the run says how much to trust absolute figures.
    load = {"start": list(os.getloadavg())}
    for events in sorted({sizes.small, sizes.mid, sizes.big, sizes.edit_doc}):
        ensure_log(events)
    engine_repo = (args.engine_repo or REPO).resolve()
    env = child_env(engine_repo)
    extra = dict(args.engine_env)
    env.update(extra)
    engine, engine_missing = find_engine(env, engine_repo)
    # An installed package carries its bytecode; an editable install run with PYTHONDONTWRITEBYTECODE
    # never gets any, and every engine process would compile about 0.1 s of source before starting.
    compileall.compile_dir(engine_repo / "server" / "astra_ls", quiet=1)
    ctx = Context(sizes=sizes, engine=engine, env=env, figures={}, engine_missing=engine_missing,
                  node_missing=ensure_node_modules(), engine_repo=engine_repo)
    rows: list[Row] = []
    for key in args.only or list(SECTIONS):
        rows.extend(run_section(ctx, key))
    if not args.keep_scratch:
        shutil.rmtree(SCRATCH, ignore_errors=True)
    elapsed = time.perf_counter() - started
    load["end"] = list(os.getloadavg())
    # Another checkout's figures must not overwrite this one's latest.json.
    suffix = "" if engine_repo == REPO.resolve() else f"-{engine_commit(engine_repo)}"
    out = write_results(ctx, rows, args.quick, elapsed, load, extra, suffix)
    print()
    if extra:
        print(f"engine environment: {' '.join(f'{k}={v}' for k, v in extra.items())}")
    print(f"engine: {engine_repo} at {engine_commit(engine_repo)}")
    print(render_table(rows))
    loads = ", ".join(f"{when} {values[0]:.1f}" for when, values in load.items())
    print(f"\n{summary(rows)}; {elapsed:.0f} s on {os.cpu_count()} CPUs (1-min load average: {loads}); "
          f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
