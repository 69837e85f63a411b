"""Measurements of whole processes: baselines, `astra-ls check` / `count`, and appends."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from measure import ChildRun, median, run_child
from report import INFO, MISS, PASS, Row, floor_row, megabytes, not_available, seconds, verdict_row
from workspace import BENCH, SCRATCH, STREAM, Context, ensure_log, fresh_workspace, store_path, warm_page_cache

NODE = "node"
AJV_READER = str(BENCH / "ajv_reader.mjs")
PROBES = str(BENCH / "probes.py")
SINGLE_APPENDS = 4_000
CONCURRENT_WRITERS = 8
APPENDS_PER_WRITER = 500
APPEND_RATE_TARGET = 2_000.0
# Issue #14's performance targets (public APIs only).
NODE_REFERENCE_TARGET = 0.5
NODE_AJV_TARGET = 0.35
HUGE_TIME_FACTOR = 10.5
HUGE_MEMORY_TARGET = 0.05


def label(events: int) -> str:
    if events >= 1_000_000 and events % 1_000_000 == 0:
        return f"{events // 1_000_000}M"
    if events >= 1_000 and events % 1_000 == 0:
        return f"{events // 1_000}k"
    return str(events)


def internal_ms(run: ChildRun) -> float:
    data = run.json()
    return float(data["elapsedMs"]) if isinstance(data, dict) else math.nan


# --- target 1 and 2: full check against the baselines ------------------------------------------------


def check_argv(ctx: Context, store: Path) -> list[str]:
    assert ctx.engine is not None
    return ctx.engine.cli("check", str(store), "--format", "json")


def run_check(ctx: Context, workspace: Path, timeout_s: float = 600.0) -> ChildRun:
    run = run_child(check_argv(ctx, store_path(workspace)), cwd=workspace, env=ctx.env, timeout_s=timeout_s)
    # A check that finds the seeded damage exits non-zero by design, so success is judged by its
    # report: it must print a JSON result, or it did not really check anything.
    try:
        run.json()
    except ValueError as error:
        tail = run.stderr[-600:]
        raise RuntimeError(f"check printed no JSON report (exit {run.returncode}): {tail!r}") from error
    return run


def problems_by_code(run: ChildRun) -> dict[str, int]:
    """Problem codes the check reported, kept in the results to show every damage kind was caught."""
    try:
        data = run.json()
    except ValueError:
        return {}
    codes: dict[str, int] = {}
    files = data.get("files", []) if isinstance(data, dict) else []
    for item in files if isinstance(files, list) else []:
        for problem in item.get("problems", []) if isinstance(item, dict) else []:
            code = str(problem.get("code", "?")) if isinstance(problem, dict) else "?"
            codes[code] = codes.get(code, 0) + 1
    return dict(sorted(codes.items()))


def problem_count(run: ChildRun) -> int | None:
    """Number of problems the check reported, to show it really validated (shape-tolerant)."""
    try:
        data = run.json()
    except ValueError:
        return None
    return _count_problems(data)


def _count_problems(data: Any) -> int | None:
    if isinstance(data, list):
        return len(data)
    if not isinstance(data, dict):
        return None
    for key in ("problemCount", "problems", "diagnostics"):
        value = data.get(key)
        if isinstance(value, int):
            return value
        if isinstance(value, list):
            return len(value)
    files = data.get("files") or data.get("stores") or data.get("results")
    if isinstance(files, list):
        counts = [_count_problems(item) for item in files]
        return sum(c for c in counts if c is not None)
    return None


def family_json_schema(ctx: Context) -> Path:
    """The store family's JSON Schema, exported from the measured engine's pydantic models."""
    out = SCRATCH / f"{STREAM}.schema.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    run_child([sys.executable, PROBES, "json-schema", STREAM, str(out)], env=ctx.env).check_ok()
    return out


def ajv_argv(ctx: Context, log: Path) -> list[str] | None:
    """The Node + ajv peer's command line, or None (with ctx.node_missing saying why) if it cannot run."""
    if ctx.node_missing:
        return None
    try:
        return [NODE, AJV_READER, str(family_json_schema(ctx)), str(log)]
    except RuntimeError as error:
        ctx.node_missing = f"JSON Schema export failed: {str(error)[-120:]}"
        return None


def baselines_and_check(ctx: Context) -> list[Row]:
    """Targets 1 and 2: bare read, orjson loop, Node reference, Node + ajv and the check, interleaved."""
    big = ctx.sizes.big
    log = ctx.log(big)
    warm_page_cache(log)
    contenders = {
        "read": [sys.executable, PROBES, "bare-read", str(log)],
        "orjson": [sys.executable, PROBES, "orjson-loop", str(log)],
        "node": [NODE, str(BENCH / "reference_reader.mjs"), str(log)],
    }
    ajv = ajv_argv(ctx, log)
    if ajv is not None:
        contenders["ajv"] = ajv
    runs: dict[str, list[ChildRun]] = {key: [] for key in [*contenders, "check"]}
    workspace = fresh_workspace(f"check-{label(big)}", {STREAM: log}) if ctx.engine else None
    for _ in range(ctx.sizes.repeats):
        # Interleaved so a noisy neighbour slows every contender alike.
        for key, argv in contenders.items():
            runs[key].append(run_child(argv, env=ctx.env).check_ok())
        if workspace is not None:
            runs["check"].append(run_check(ctx, workspace))
    rows = baseline_rows(ctx, log, runs)
    if workspace is None:
        rows.append(not_available("1", f"astra-ls check {label(big)}", ctx.engine_missing))
        return rows
    rows.extend(check_rows(ctx, log, runs))
    rows.extend(memory_rows(ctx, runs["check"]))
    return rows


def baseline_rows(ctx: Context, log: Path, runs: dict[str, list[ChildRun]]) -> list[Row]:
    size = log.stat().st_size
    ctx.figures["file_bytes"] = size
    rows = [Row("-", f"log {label(ctx.sizes.big)} events", megabytes(size))]
    names = {
        "read": "bare read (Python, whole file)",
        "orjson": "Python orjson parse-and-discard loop",
        "node": "Node reference reader (split/JSON.parse/id)",
        "ajv": "Node + ajv (lines/JSON.parse/ajv schema/dup ids/time order)",
    }
    if "ajv" not in runs:
        rows_missing = [not_available("-", names.pop("ajv"), ctx.node_missing)]
    else:
        rows_missing = []
    for key, name in names.items():
        wall = median([r.wall_s for r in runs[key]])
        inner = median([internal_ms(r) for r in runs[key]]) / 1000
        ctx.figures[f"{key}_wall_s"] = wall
        peak = max(r.peak_rss_bytes for r in runs[key])
        rows.append(Row("-", name, f"{seconds(wall)} wall ({seconds(inner)} in loop), {megabytes(peak)} peak memory",
                        detail={"wall_s": wall, "inner_s": inner, "peak_rss": peak,
                                "runs_wall_s": [r.wall_s for r in runs[key]]}))
    if "ajv" in runs:
        # What the peer found, to show it really validated the same damage the check reports.
        rows[-1].detail["found"] = runs["ajv"][-1].json()
    return rows + rows_missing


def check_rows(ctx: Context, log: Path, runs: dict[str, list[ChildRun]]) -> list[Row]:
    wall = median([r.wall_s for r in runs["check"]])
    ctx.figures["check_wall_s"] = wall
    problems = problem_count(runs["check"][-1])
    name = f"astra-ls check {label(ctx.sizes.big)} (full schema)"
    figure = f"{seconds(wall)}" + (f", {problems} problems" if problems is not None else "")
    node, loop = ctx.figures["node_wall_s"], ctx.figures["orjson_wall_s"]
    rows = [
        verdict_row("1", name, figure, f"<= {NODE_REFERENCE_TARGET}x Node reference", wall / node,
                    NODE_REFERENCE_TARGET, wall_s=wall, node_wall_s=node, problems=problems,
                    runs_wall_s=[r.wall_s for r in runs["check"]],
                    problems_by_code=problems_by_code(runs["check"][-1])),
    ]
    if "ajv_wall_s" in ctx.figures:
        ajv = ctx.figures["ajv_wall_s"]
        rows.append(verdict_row("1", "check vs Node + ajv", figure, f"<= {NODE_AJV_TARGET}x Node + ajv", wall / ajv,
                                NODE_AJV_TARGET, wall_s=wall, ajv_wall_s=ajv))
    else:
        rows.append(not_available("1", "check vs Node + ajv", ctx.node_missing, f"<= {NODE_AJV_TARGET}x Node + ajv"))
    rows.append(verdict_row("1*", "check vs Python orjson loop (stretch)", figure, "<= 1.5x orjson loop",
                            wall / loop, 1.5, wall_s=wall, loop_wall_s=loop))
    return rows


def huge_check(ctx: Context) -> list[Row]:
    """The 10x log (10M events in a full run): check time against the big log's, interleaved with it
    under the same load, and peak memory against the file size. The Node reference reader is run
    once to record that it cannot read a file this size (V8's string limit)."""
    if ctx.engine is None:
        return [not_available("1", f"astra-ls check {label(ctx.sizes.huge)}", ctx.engine_missing)]
    big, huge = ctx.sizes.big, ctx.sizes.huge
    huge_log = ensure_log(huge)
    size = huge_log.stat().st_size
    rows = [Row("-", f"log {label(huge)} events", megabytes(size))]
    node = run_child([NODE, str(BENCH / "reference_reader.mjs"), str(huge_log)], env=ctx.env)
    if node.returncode == 0:
        rows.append(Row("-", f"Node reference reader {label(huge)}", f"{seconds(node.wall_s)} wall",
                        detail={"wall_s": node.wall_s}))
    else:
        stderr = node.stderr.decode(errors="replace").splitlines()
        reason = next((line.strip() for line in stderr if "Error" in line), "failed")
        rows.append(not_available("-", f"Node reference reader {label(huge)}",
                                  f"cannot read it: {reason[:100]} (exit {node.returncode})"))
    big_ws = fresh_workspace(f"check-{label(big)}", {STREAM: ctx.log(big)})
    huge_ws = fresh_workspace(f"check-{label(huge)}", {STREAM: huge_log})
    warm_page_cache(store_path(huge_ws))
    runs: dict[str, list[ChildRun]] = {"big": [], "huge": []}
    for _ in range(ctx.sizes.huge_repeats):
        runs["big"].append(run_check(ctx, big_ws))
        runs["huge"].append(run_check(ctx, huge_ws, timeout_s=1800.0))
    shutil.rmtree(huge_ws, ignore_errors=True)  # 1.3 GB of scratch
    big_wall = median([r.wall_s for r in runs["big"]])
    huge_wall = median([r.wall_s for r in runs["huge"]])
    peak = max(r.peak_rss_bytes for r in runs["huge"])
    problems = problem_count(runs["huge"][-1])
    factor = huge / big
    rows.append(verdict_row(
        "1", f"check {label(huge)} vs {label(big)} (interleaved)",
        f"{seconds(huge_wall)} vs {seconds(big_wall)}" + (f", {problems} problems" if problems is not None else ""),
        f"<= {HUGE_TIME_FACTOR}x the {label(big)} time", huge_wall / big_wall, HUGE_TIME_FACTOR,
        wall_s=huge_wall, big_wall_s=big_wall, events_factor=factor, problems=problems,
        runs_wall_s=[r.wall_s for r in runs["huge"]], runs_big_wall_s=[r.wall_s for r in runs["big"]],
        problems_by_code=problems_by_code(runs["huge"][-1])))
    rows.append(verdict_row("2", f"peak memory of check {label(huge)}", megabytes(peak),
                            f"<= {HUGE_MEMORY_TARGET}x file size", peak / size, HUGE_MEMORY_TARGET,
                            peak_rss=peak, file_bytes=size))
    return rows


def memory_rows(ctx: Context, big_runs: list[ChildRun]) -> list[Row]:
    size = ctx.figures["file_bytes"]
    peak_big = max(r.peak_rss_bytes for r in big_runs)
    rows = [verdict_row("2", f"peak memory of check {label(ctx.sizes.big)}", megabytes(peak_big),
                        "<= 0.5x file size", peak_big / size, 0.5, peak_rss=peak_big, file_bytes=size)]
    mid = ctx.sizes.mid
    mid_ws = fresh_workspace(f"check-{label(mid)}", {STREAM: ctx.log(mid)})
    peak_mid = max(run_check(ctx, mid_ws).peak_rss_bytes for _ in range(ctx.sizes.repeats))
    growth = peak_big / peak_mid
    events_ratio = ctx.sizes.big / mid
    exponent = math.log(growth) / math.log(events_ratio) if growth > 0 else math.nan
    rows.append(Row(
        "2", f"peak memory growth {label(mid)} -> {label(ctx.sizes.big)}",
        f"{megabytes(peak_mid)} -> {megabytes(peak_big)} (exponent {exponent:.2f})",
        f"< {events_ratio:.0f}x (sub-linear)", growth, PASS if growth < events_ratio else MISS,
        {"peak_mid": peak_mid, "peak_big": peak_big, "exponent": exponent},
    ))
    # What any check costs before its first event: the interpreter and the libraries it loads.
    small_ws = fresh_workspace(f"check-{label(ctx.sizes.small)}", {STREAM: ctx.log(ctx.sizes.small)})
    floor = min(run_check(ctx, small_ws).peak_rss_bytes for _ in range(ctx.sizes.repeats))
    rows.append(Row("-", f"peak memory of check {label(ctx.sizes.small)} (interpreter and libraries)",
                    f"{megabytes(floor)}; {label(ctx.sizes.big)} adds {(peak_big - floor) / ctx.sizes.big:.0f} "
                    "bytes per event", "", None, INFO, {"peak_small": floor}))
    return rows


# --- target 3 (CLI side): count and re-check after another process appends ---------------------------


def last_timestamp(store: Path) -> int:
    with store.open("rb") as handle:
        handle.seek(max(0, store.stat().st_size - 65_536))
        lines = [line for line in handle.read().split(b"\n") if line.strip()]
    return int(orjson.loads(lines[-1])["timestamp"])


def append_one_cli(ctx: Context, workspace: Path, tag: str) -> ChildRun:
    assert ctx.engine is not None
    store = store_path(workspace)
    event = {
        "type": "UserMessageSent",
        "id": f"bench-one-{tag}",
        "timestamp": last_timestamp(store) + 1_000,
        "content": "one more message 🚀",
    }
    argv = ctx.engine.cli("append", str(store), orjson.dumps(event).decode(), "--format", "json")
    return run_child(argv, cwd=workspace, env=ctx.env).check_ok()


def after_append_times(ctx: Context, events: int) -> dict[str, float]:
    """Median CLI times for count and check right after a one-event append, on one store size."""
    assert ctx.engine is not None
    workspace = fresh_workspace(f"append-then-{label(events)}", {STREAM: ctx.log(events)})
    run_check(ctx, workspace)  # a first full pass, as a user would have run before (may fill a cache)
    counts: list[float] = []
    checks: list[float] = []
    for attempt in range(ctx.sizes.repeats):
        append_one_cli(ctx, workspace, f"{events}-{attempt}")
        count = ctx.engine.cli("count", str(store_path(workspace)), "--format", "json")
        counts.append(run_child(count, cwd=workspace, env=ctx.env).check_ok().wall_s)
        append_one_cli(ctx, workspace, f"{events}-{attempt}-b")
        checks.append(run_check(ctx, workspace).wall_s)
    return {"count": median(counts), "check": median(checks)}


def cli_after_append(ctx: Context) -> list[Row]:
    if ctx.engine is None:
        return [not_available("3", "CLI count/check after append", ctx.engine_missing)]
    small, big = ctx.sizes.small, ctx.sizes.big
    small_t = after_append_times(ctx, small)
    big_t = after_append_times(ctx, big)
    rows = []
    for key, what in (("count", "count"), ("check", "re-check")):
        ratio = big_t[key] / small_t[key]
        figure = f"{seconds(small_t[key])} / {seconds(big_t[key])}"
        rows.append(Row("3", f"CLI {what} after 1 append ({label(small)} / {label(big)}), cold process",
                        figure, "info (fresh process each time)", ratio, INFO,
                        {"small_s": small_t[key], "big_s": big_t[key]}))
    return rows


# --- target 5: appends -----------------------------------------------------------------------------


def append_probe_argv(workspace: Path, count: int, tag: str, timestamp: int) -> list[str]:
    return [sys.executable, PROBES, "append-burst", str(workspace), STREAM, "--count", str(count),
            "--tag", tag, "--timestamp", str(timestamp)]


def engine_api_available(ctx: Context) -> str | None:
    probe = subprocess.run(
        [sys.executable, "-c", "from astra_ls.store.file_store import FileEventStore"],
        env=ctx.env, capture_output=True, text=True,
    )
    return None if probe.returncode == 0 else probe.stderr.strip().splitlines()[-1][:120]


def single_appender(ctx: Context, events: int, target: str, goal: str) -> Row:
    workspace = fresh_workspace(f"append-single-{label(events)}", {STREAM: ctx.log(events)})
    stamp = last_timestamp(store_path(workspace)) + 1_000
    run = run_child(append_probe_argv(workspace, SINGLE_APPENDS, "single", stamp), env=ctx.env).check_ok()
    data = run.json()
    assert isinstance(data, dict)
    rate = data["timedAppends"] / (data["elapsedMs"] / 1000)
    figure = (f"{rate:,.0f} appends/s ({data['timedAppends']} fsynced in {seconds(data['elapsedMs'] / 1000)}; "
              f"first append {seconds(data['firstAppendMs'] / 1000)})")
    if data["failures"]:
        figure += f", failures: {data['failures'][:1]}"
    row = floor_row(target, f"1 appender, fsynced appends, {label(events)} store", figure, goal,
                    rate / APPEND_RATE_TARGET, 1.0, rate=rate, **data)
    if target == "-":
        row.status = INFO
    return row


def concurrent_appenders(ctx: Context) -> list[Row]:
    workspace = fresh_workspace("append-concurrent", {STREAM: ctx.log(ctx.sizes.small)})
    store = store_path(workspace)
    stamp = last_timestamp(store) + 1_000
    before = store.read_bytes().count(b"\n")
    procs = [
        subprocess.Popen(append_probe_argv(workspace, APPENDS_PER_WRITER, f"w{i}", stamp), env=ctx.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in range(CONCURRENT_WRITERS)
    ]
    outputs = [proc.communicate() for proc in procs]
    reports = [orjson.loads(out.strip().splitlines()[-1]) for out, _ in outputs if out.strip()]
    # Wall time of the whole burst, first appends included: the writers overlap, so no per-writer clock.
    slowest = max((r["elapsedMs"] + r["firstAppendMs"] for r in reports), default=math.nan) / 1000
    audit = audit_appends(store, before)
    expected = CONCURRENT_WRITERS * APPENDS_PER_WRITER
    ok = audit["missing"] == 0 and audit["duplicated"] == 0 and audit["broken_lines"] == 0
    rate = expected / slowest
    return [
        Row("5", f"{CONCURRENT_WRITERS} concurrent appenders x {APPENDS_PER_WRITER}",
            "missing {missing}, duplicated {duplicated}, broken lines {broken_lines}".format(**audit),
            "nothing lost", None, PASS if ok else MISS, audit),
        Row("5", f"{CONCURRENT_WRITERS} appenders aggregate rate", f"{rate:,.0f} appends/s",
            "info", None, INFO, {"rate": rate}),
    ]


def audit_appends(store: Path, lines_before: int) -> dict[str, int]:
    """Every probe event present exactly once, each on its own intact line."""
    lines = store.read_bytes().split(b"\n")
    new = [line for line in lines[lines_before:] if line]
    seen: dict[str, int] = {}
    broken = 0
    for line in new:
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            broken += 1
            continue
        ident = event.get("id", "") if isinstance(event, dict) else ""
        seen[ident] = seen.get(ident, 0) + 1
    wanted = {f"bench-w{i}-{seq:07d}" for i in range(CONCURRENT_WRITERS) for seq in range(APPENDS_PER_WRITER)}
    return {
        "missing": len(wanted - seen.keys()),
        "duplicated": sum(n - 1 for ident, n in seen.items() if ident in wanted and n > 1),
        "broken_lines": broken,
        "new_lines": len(new),
        "ends_with_newline": int(store.read_bytes().endswith(b"\n")),
    }


def disk_floor(ctx: Context) -> Row:
    target = fresh_workspace("append-floor", {STREAM: ctx.log(ctx.sizes.small)}) / "floor.jsonl"
    run = run_child([sys.executable, PROBES, "fsync-floor", str(target), str(SINGLE_APPENDS)], env=ctx.env)
    data = run.check_ok().json()
    assert isinstance(data, dict)
    rate = data["appended"] / (data["elapsedMs"] / 1000)
    return Row("-", "disk floor: bare write+fsync loop", f"{rate:,.0f} appends/s", "context for target 5",
               detail={"rate": rate})


def appends(ctx: Context) -> list[Row]:
    floor = disk_floor(ctx)
    missing = engine_api_available(ctx)
    if missing:
        return [floor, not_available("5", "append throughput", f"engine append API missing: {missing}")]
    rows = [floor, single_appender(ctx, ctx.sizes.small, "5", f">= {APPEND_RATE_TARGET:,.0f}/s")]
    rows.extend(concurrent_appenders(ctx))
    # The same sustained rate on the big store: appends must not slow down as the store grows.
    rows.append(single_appender(ctx, ctx.sizes.big, "-", f"info (>= {APPEND_RATE_TARGET:,.0f}/s)"))
    return rows
