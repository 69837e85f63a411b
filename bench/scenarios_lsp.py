"""Measurements of the language server process, driven through a minimal stdio LSP client.

Every scenario starts a real `astra-ls serve` process on a scratch workspace, so the figures include
the JSON-RPC round trip an editor pays.
"""

from __future__ import annotations

import contextlib
import math
import random
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from lsp_client import LspClient, LspError, Received, file_uri, is_diagnostics_for, same_uri
from measure import median
from report import MISS, NA, PASS, Row, not_available, seconds, verdict_row
from scenarios_cli import append_one_cli, label, run_check
from workspace import SCRATCH, STREAM, Context, fresh_workspace, store_path

SIDE_STREAM = "conversation-side"  # a second, small store of the same family
FIRST_SCAN_TIMEOUT_S = 120.0  # dozens of times a healthy 1M scan: longer means it is stuck
REPLY_TIMEOUT_S = 60.0
HOVER_SAMPLES = 15
EDIT_PAIRS = 3
PROPORTIONAL_LIMIT = 1.5
T = TypeVar("T")
START_ATTEMPTS = 2  # each cold start of the big store costs a full scan: keep the run short
CHANGE_SAMPLES = 5  # appends per store size; the per-append figures are milliseconds, so take several
TIME_TRAVEL_TITLE = "Preparing time travel"  # the progress item of the server's checkpoint pass
PASS_START_S = 3.0  # after the first diagnostics, a checkpoint pass has begun by then or there is none


@contextmanager
def server(ctx: Context, workspace: Path, name: str, cache: str = "cache") -> Iterator[LspClient]:
    """`cache`: the server's user cache folder (index cache), under the scratch folder so runs never read or
    fill the real one."""
    assert ctx.engine is not None
    log = SCRATCH / f"{name}.server-stderr.log"
    env = {**ctx.env, "ASTRA_LS_CACHE_DIR": str(SCRATCH / cache)}
    with LspClient(ctx.engine.cli("serve"), cwd=workspace, stderr_path=log, env=env) as client:
        client.initialize(workspace, timeout_s=REPLY_TIMEOUT_S)
        yield client


def wait_diagnostics(client: LspClient, uri: str, since: int = 0, version: int | None = None,
                     timeout_s: float = FIRST_SCAN_TIMEOUT_S) -> Received:
    return client.wait_for(is_diagnostics_for(uri, version), timeout_s, since=since)


def hover_params(uri: str, line: int, character: int = 0) -> dict[str, Any]:
    # Character 0 is the line's opening brace: not on a key, so the hover shows the projected state.
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


def open_document(client: LspClient, path: Path, version: int = 1) -> str:
    uri = file_uri(path)
    text = path.read_bytes().decode("utf-8", errors="replace")
    client.notify("textDocument/didOpen", {
        "textDocument": {"uri": uri, "languageId": "jsonl", "version": version, "text": text},
    })
    return uri


def hover_text(result: Any) -> str:
    if not isinstance(result, dict):
        return ""
    contents = result.get("contents")
    if isinstance(contents, dict):
        return str(contents.get("value", ""))
    if isinstance(contents, list):
        return " ".join(str(c.get("value", c)) if isinstance(c, dict) else str(c) for c in contents)
    return str(contents or "")


# --- target 4: start-up ------------------------------------------------------------------------------


@dataclass
class StartFigures:
    first_diagnostics_s: float = math.inf  # stays infinite when the first scan never reports
    hover_s: float = math.nan
    hover_before_diagnostics: bool = False
    hover_answered: bool = False


def cold_or_warm_start(ctx: Context, workspace: Path, name: str, probe_side: bool, cache: str) -> StartFigures:
    big_uri = file_uri(store_path(workspace))
    figures = StartFigures()
    with server(ctx, workspace, name, cache) as client:
        hover_at = math.inf
        if probe_side:
            # An editor opens a small store and hovers while the big one is still being scanned.
            side_uri = open_document(client, store_path(workspace, SIDE_STREAM))
            sent = time.perf_counter()
            ident = client.request_async("textDocument/hover", hover_params(side_uri, 3))
            with contextlib.suppress(TimeoutError):
                answer = client.wait_response(ident, REPLY_TIMEOUT_S)
                hover_at, figures.hover_s = answer.at, answer.at - sent
                figures.hover_answered = shows_state(answer.message.get("result"))
        with contextlib.suppress(TimeoutError):
            first = wait_diagnostics(client, big_uri)
            figures.first_diagnostics_s = first.at - client.started_at
        figures.hover_before_diagnostics = hover_at < client.started_at + figures.first_diagnostics_s
    return figures


def start_workspace(ctx: Context, name: str) -> Path:
    return fresh_workspace(name, {STREAM: ctx.log(ctx.sizes.big), SIDE_STREAM: ctx.log(ctx.sizes.small)})


def start_seconds(value: float) -> str:
    return seconds(value) if math.isfinite(value) else f"none within {FIRST_SCAN_TIMEOUT_S:.0f} s"


def server_start(ctx: Context) -> list[Row]:
    if ctx.engine is None:
        return [not_available("4", "server start", ctx.engine_missing)]
    big = label(ctx.sizes.big)
    cli_workspace = start_workspace(ctx, "start-cli")
    checks: list[float] = []
    colds: list[StartFigures] = []
    warms: list[StartFigures] = []
    for attempt in range(START_ATTEMPTS):
        # The CLI check runs in the same loop so both sides of the ratio see the same machine load.
        checks.append(run_check(ctx, cli_workspace).wall_s)
        # A fresh copy and an empty cache folder each time: nothing from an earlier attempt or run can make
        # a "cold" start warm; the warm start restarts on the same copy with the cache the cold one left.
        workspace = start_workspace(ctx, f"start-{attempt}")
        cache = f"start-cache-{attempt}"
        shutil.rmtree(SCRATCH / cache, ignore_errors=True)
        colds.append(cold_or_warm_start(ctx, workspace, f"cold-{attempt}", probe_side=True, cache=cache))
        if not math.isfinite(colds[-1].first_diagnostics_s):
            break  # a server that never finishes its first scan will not do better warm
        warms.append(cold_or_warm_start(ctx, workspace, f"warm-{attempt}", probe_side=False, cache=cache))
    cli_check, cold = median(checks), median([c.first_diagnostics_s for c in colds])
    warm = median([w.first_diagnostics_s for w in warms]) if warms else math.inf
    hover = median([c.hover_s for c in colds])
    during = all(c.hover_before_diagnostics and c.hover_answered for c in colds)
    return [
        verdict_row("4", f"server start -> first diagnostics ({big})",
                    f"{start_seconds(cold)} (CLI check {seconds(cli_check)})", "<= 1.3x CLI check",
                    cold / cli_check, 1.3, cold_s=[c.first_diagnostics_s for c in colds], cli_check_s=checks),
        Row("4", "hover on small store during first scan",
            f"{seconds(hover)}, answered before scan end: {'yes' if during else 'no'}",
            "answered during the scan", None, PASS if during else MISS,
            {"hover_s": [c.hover_s for c in colds], "answered": [c.hover_answered for c in colds],
             "before_first_diagnostics": [c.hover_before_diagnostics for c in colds]}),
        verdict_row("4", "restart, unchanged store (index cache)", start_seconds(warm),
                    "<= 0.4x cold start", warm / cold if math.isfinite(cold) else math.inf, 0.4,
                    warm_s=[w.first_diagnostics_s for w in warms], cold_s=cold),
    ]


# --- target 3: work proportional to change -------------------------------------------------------


@dataclass
class ChangeFigures:
    hover_s: float
    hover_answered: int
    hover_mode: str
    recheck_s: float
    count_s: float
    count_seen: bool
    ready_s: float  # first diagnostics -> the end of the checkpoint pass (nan: the server made none)
    early_hover_s: float  # a hover sent with the first diagnostics, while the pass had just begun
    early_hover_state: bool


def hover_lines(path: Path, events: int) -> list[int]:
    """Seeded random clean lines of a store, in order."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    return sorted(clean_lines(text.split("\n"), seed=events, count=HOVER_SAMPLES))


def hover_latencies(client: LspClient, path: Path, lines: list[int]) -> tuple[list[float], int, str]:
    """Hovers at these lines of a store.

    First without opening the document (editors do not sync very large files to language servers,
    so the server has to answer from disk); if that yields nothing, the document is opened and the
    hovers repeated. Returns latencies, how many had content, and which way was used.
    """
    uri = file_uri(path)
    times, answered = _hover_round(client, uri, lines)
    if answered:
        return times, answered, "from disk"
    since = client.mark()
    open_document(client, path)
    wait_diagnostics(client, uri, since=since)
    times, answered = _hover_round(client, uri, lines)
    return times, answered, "opened"


def time_travel_ready(client: LspClient, started: float) -> float:
    """Seconds from `started` until the server's checkpoint pass has ended (nan when it starts none:
    small stores replay without checkpoints made ahead). The pass reports itself as a progress item."""
    try:
        begin = client.wait_for(_progress_begin(TIME_TRAVEL_TITLE), PASS_START_S)
    except TimeoutError:
        return math.nan
    token = begin.message["params"]["token"]
    end = client.wait_for(lambda m: m.get("method") == "$/progress" and m["params"].get("token") == token
                          and m["params"].get("value", {}).get("kind") == "end", FIRST_SCAN_TIMEOUT_S)
    return end.at - started


def _progress_begin(title: str) -> Callable[[Any], bool]:
    def predicate(message: Any) -> bool:
        value = (message.get("params") or {}).get("value") if message.get("method") == "$/progress" else None
        return isinstance(value, dict) and value.get("kind") == "begin" and value.get("title") == title
    return predicate


def _hover_round(client: LspClient, uri: str, lines: list[int]) -> tuple[list[float], int]:
    times: list[float] = []
    answered = 0
    for line in lines:
        sent = time.perf_counter()
        got = client.wait_response(client.request_async("textDocument/hover", hover_params(uri, line)),
                                   REPLY_TIMEOUT_S)
        times.append(got.at - sent)
        answered += shows_state(got.message.get("result"))
    return times, answered


def shows_state(result: Any) -> bool:
    """The hover carries a projected state (not a field description, nothing, or a note that the state
    is still being computed): the state is its only JSON block."""
    return "```json" in hover_text(result)


def count_command(client: LspClient) -> tuple[float, int]:
    sent = time.perf_counter()
    ident = client.request_async("workspace/executeCommand",
                                 {"command": "astra.count", "arguments": [{"store": STREAM}]})
    got = client.wait_response(ident, REPLY_TIMEOUT_S)
    result = got.message.get("result") or {}
    return got.at - sent, int(result.get("count", -1)) if isinstance(result, dict) else -1


def recheck_after_append(ctx: Context, client: LspClient, workspace: Path, tag: str) -> float:
    """Another process appends one event; time until the server has re-checked that store: its new
    diagnostics, or (when they did not change, and the server does not resend them) its
    `astra/storeChanged` notification with the new counts.

    The clock starts when the appending process has exited, and the file-watcher notification an
    editor would forward is sent at once (a server with its own watcher may answer even earlier).
    """
    uri = file_uri(store_path(workspace))
    since = client.mark()
    append_one_cli(ctx, workspace, tag)
    appended_at = time.perf_counter()
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": uri, "type": 2}]})
    got = client.wait_for(lambda m: is_diagnostics_for(uri)(m) or _store_changed(uri, m), REPLY_TIMEOUT_S,
                          since=since)
    return got.at - appended_at


def _store_changed(uri: str, message: Any) -> bool:
    params = message.get("params") if isinstance(message, dict) else None
    return (message.get("method") == "astra/storeChanged" and isinstance(params, dict)
            and same_uri(str(params.get("uri", "")), uri))


@dataclass
class ChangeSide:
    """One store size's server in the paired measurement."""

    events: int
    workspace: Path
    client: LspClient
    lines: list[int]
    ready_s: float = math.nan
    early: tuple[list[float], int] = ([math.nan], 0)

    @property
    def uri(self) -> str:
        return file_uri(store_path(self.workspace))


def change_pair(ctx: Context, small: int, big: int) -> tuple[ChangeFigures, ChangeFigures]:
    """Both sizes' servers run side by side and every measurement alternates between them, so a busy
    neighbour slows both alike (the ratio is the figure)."""
    with contextlib.ExitStack() as stack:
        sides = []
        for events in (small, big):
            workspace = fresh_workspace(f"change-{label(events)}", {STREAM: ctx.log(events)})
            client = stack.enter_context(server(ctx, workspace, f"change-{label(events)}"))
            sides.append(ChangeSide(events, workspace, client, hover_lines(store_path(workspace), events)))
        for side in sides:
            _first_scan(side)
        hovers = _alternating(sides, range(HOVER_SAMPLES), lambda side, n: _hover_round(
            side.client, side.uri, side.lines[n : n + 1]))
        modes = [_hover_mode(side, rounds) for side, rounds in zip(sides, hovers, strict=True)]
        appends = _alternating(sides, range(CHANGE_SAMPLES), lambda side, n: _append_and_count(ctx, side, n))
        return _figures(sides[0], modes[0], appends[0]), _figures(sides[1], modes[1], appends[1])


def _first_scan(side: ChangeSide) -> None:
    try:
        first = wait_diagnostics(side.client, side.uri)
    except TimeoutError as error:
        raise TimeoutError(f"the {label(side.events)} store's first scan never reported") from error
    side.early = _hover_round(side.client, side.uri, side.lines[-1:])  # deepest: the farthest from a checkpoint
    side.ready_s = time_travel_ready(side.client, first.at)


def _alternating(sides: list[ChangeSide], samples: range, measure: Callable[[ChangeSide, int], T]) -> list[list[T]]:
    results: list[list[T]] = [[] for _ in sides]
    for n in samples:
        for i, side in enumerate(sides):
            results[i].append(measure(side, n))
    return results


def _hover_mode(side: ChangeSide, rounds: list[tuple[list[float], int]]) -> tuple[list[float], int, str]:
    """Hovers answered from disk; if none showed a state, the document is opened and they are repeated
    (editors do not sync very large files to language servers, so the server has to answer from disk)."""
    times, answered = [t for r in rounds for t in r[0]], sum(r[1] for r in rounds)
    if answered:
        return times, answered, "from disk"
    return hover_latencies(side.client, store_path(side.workspace), side.lines)


def _append_and_count(ctx: Context, side: ChangeSide, attempt: int) -> tuple[float, float, bool]:
    _, before = count_command(side.client)
    recheck = recheck_after_append(ctx, side.client, side.workspace, f"lsp-{side.events}-{attempt}")
    took, after = count_command(side.client)
    return recheck, took, after == before + 1


def _figures(side: ChangeSide, hovers: tuple[list[float], int, str],
             appends: list[tuple[float, float, bool]]) -> ChangeFigures:
    return ChangeFigures(median(hovers[0]), hovers[1], hovers[2], median([a[0] for a in appends]),
                         median([a[1] for a in appends]), all(a[2] for a in appends), side.ready_s,
                         side.early[0][0], side.early[1] == 1)


def edit_latencies(ctx: Context, events: int) -> list[float]:
    """One-character edits in an open document: delete a line's closing brace, then restore it."""
    workspace = fresh_workspace(f"edit-{label(events)}", {STREAM: ctx.log(events)})
    path = store_path(workspace)
    lines = path.read_bytes().decode("utf-8", errors="replace").split("\n")
    with server(ctx, workspace, f"edit-{label(events)}") as client:
        since = client.mark()
        uri = open_document(client, path)
        wait_diagnostics(client, uri, since=since)
        version, times = 1, []
        for line in clean_lines(lines, seed=events * 7 + 1, count=EDIT_PAIRS):
            brace = utf16_len(lines[line]) - 1
            for change in (delete_char(line, brace), insert_char(line, brace, "}")):
                version += 1
                since = client.mark()
                sent = time.perf_counter()
                client.notify("textDocument/didChange", {
                    "textDocument": {"uri": uri, "version": version}, "contentChanges": [change],
                })
                got = wait_diagnostics(client, uri, since=since, version=version, timeout_s=REPLY_TIMEOUT_S)
                times.append(got.at - sent)
        return times


def clean_lines(lines: list[str], seed: int, count: int) -> list[int]:
    """Seeded random lines holding a clean event (no damage), spread over the document."""
    rng = random.Random(seed)
    chosen: list[int] = []
    while len(chosen) < count:
        line = rng.randrange(len(lines) - 1)
        text = lines[line]
        if line not in chosen and text.endswith("}") and _is_object(text):
            chosen.append(line)
    return chosen


def _is_object(text: str) -> bool:
    try:
        return isinstance(orjson.loads(text), dict)
    except orjson.JSONDecodeError:
        return False


def utf16_len(text: str) -> int:
    # LSP positions count UTF-16 code units; emoji take two.
    return len(text.encode("utf-16-le")) // 2


def delete_char(line: int, character: int) -> dict[str, Any]:
    return {"range": {"start": {"line": line, "character": character},
                      "end": {"line": line, "character": character + 1}}, "text": ""}


def insert_char(line: int, character: int, text: str) -> dict[str, Any]:
    point = {"line": line, "character": character}
    return {"range": {"start": point, "end": point}, "text": text}


def proportional_to_change(ctx: Context) -> list[Row]:
    if ctx.engine is None:
        return [not_available("3", "server work proportional to change", ctx.engine_missing)]
    small, big = ctx.sizes.small, ctx.sizes.big
    rows: list[Row] = []
    try:
        small_figures, big_figures = change_pair(ctx, small, big)
        rows.extend(change_rows(small_figures, big_figures, label(small), label(big)))
    except (LspError, TimeoutError) as error:
        reason = f"{type(error).__name__}: {error}"
        rows.extend(not_available("3", name, reason) for name in (
            "server re-check after another process appends", "server count after that append",
            "hover, projected state at random line"))
    try:
        doc = ctx.sizes.edit_doc
        edit_small, edit_big = median(edit_latencies(ctx, small)), median(edit_latencies(ctx, doc))
        rows.append(ratio_row("diagnostics after 1-char edit, open doc", label(small), label(doc),
                              edit_small, edit_big))
    except (LspError, TimeoutError) as error:
        rows.append(not_available("3", "diagnostics after 1-char edit", f"{type(error).__name__}: {error}"))
    return rows


def ratio_row(what: str, small_label: str, big_label: str, small_s: float, big_s: float,
              note: str = "") -> Row:
    figure = f"{seconds(small_s)} / {seconds(big_s)}" + (f" ({note})" if note else "")
    return verdict_row("3", f"{what} ({small_label} / {big_label})", figure,
                       f"<= {PROPORTIONAL_LIMIT}x small store", big_s / small_s, PROPORTIONAL_LIMIT,
                       small_s=small_s, big_s=big_s)


def _ready(value: float) -> str:
    return "no pass (small store)" if math.isnan(value) else seconds(value)


def change_rows(small: ChangeFigures, big: ChangeFigures, small_label: str, big_label: str) -> list[Row]:
    hover_note = (f"{small.hover_answered + big.hover_answered}/{2 * HOVER_SAMPLES} showed a state, "
                  f"{small.hover_mode} / {big.hover_mode}")
    seen = small.count_seen and big.count_seen
    count_note = "count includes the append" if seen else "count MISSED the append"
    rows = [
        ratio_row("server re-check after another process appends", small_label, big_label,
                  small.recheck_s, big.recheck_s),
        ratio_row("server count after that append", small_label, big_label, small.count_s, big.count_s,
                  count_note),
        ratio_row("hover, projected state at random line", small_label, big_label, small.hover_s,
                  big.hover_s, hover_note),
    ]
    rows.append(Row("-", f"time-travel checkpoints ready, after first diagnostics ({small_label} / {big_label})",
                    f"{_ready(small.ready_s)} / {_ready(big.ready_s)}; hovers above measured after that",
                    detail={"small_s": small.ready_s, "big_s": big.ready_s}))
    rows.append(Row("-", f"hover at the last sampled line with the first diagnostics ({big_label})",
                    f"{seconds(big.early_hover_s)}, "
                    + ("showed the state" if big.early_hover_state else "said the state is still being computed"),
                    detail={"s": big.early_hover_s, "state": big.early_hover_state}))
    if not seen:
        rows[1].status = MISS
    if small.hover_answered + big.hover_answered == 0:
        rows[2].status = NA
        rows[2].figure += " - no hover showed a state"
    return rows
