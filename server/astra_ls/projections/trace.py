"""A decision's trace, as the original design's `traceDecision`: the context (events before it), the
decision, the outcomes (events from its time to the end of a window, 60 s by default), and the state
before and after it.

Times are the store's event times; "before" means an earlier timestamp (any line), so a log written out
of time order still gets the right context. The state before is the design's `replayTo` just before the
decision's time; the state after is that state with the decision folded in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import numpy as np

from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.core.linecheck import BOM, EVENT
from astra_ls.projections.folds import start
from astra_ls.projections.replay import Replayer
from astra_ls.projections.time_travel import state_at_time

# The agent family's decisions: what the agent chose to do (results and completions are outcomes).
DECISION_TYPES = frozenset({"PlanCreated", "ReplanningTriggered", "StepStarted", "ToolInvoked"})
DEFAULT_WINDOW_MS = 60_000.0
SHOWN = 50  # events listed on each side in the document; the answer says how many there are
MAX_STATE_CHARS = 20_000  # of each state in the document (the JSON answer has it whole)


class TraceError(Exception):
    """No decision where asked; the message says why."""


@dataclass(frozen=True, slots=True)
class Traced:
    line: int  # 0-based
    timestamp: float
    event: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line + 1, "timestamp": self.timestamp, "event": self.event}


@dataclass(frozen=True, slots=True)
class Trace:
    decision: Traced
    window_ms: float
    context: list[Traced]  # the latest `limit` events before the decision's time, in time order
    context_total: int
    outcomes: list[Traced]  # the first `limit` events in [time, time + window), in time order
    outcomes_total: int
    state_before: Any
    state_after: Any

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, "decision": self.decision.to_json(), "windowMs": self.window_ms,
                "context": [t.to_json() for t in self.context], "contextTotal": self.context_total,
                "outcomes": [t.to_json() for t in self.outcomes], "outcomesTotal": self.outcomes_total,
                "stateBefore": self.state_before, "stateAfter": self.state_after}


def decision_line_at(analysis: StoreAnalysis, moment: float) -> int:
    """The first event (in file order) whose timestamp is exactly `moment`, as the design finds it."""
    times = np.frombuffer(analysis.timestamps, np.float64) if len(analysis.timestamps) else np.empty(0)
    found = np.flatnonzero((np.frombuffer(analysis.kinds, np.uint8) == EVENT) & (times == moment))
    if not len(found):
        raise TraceError(f"no event has the timestamp {iso(moment)} ({moment:g} ms): give the decision's exact "
                         "time, or its line")
    return int(found[0])


def trace(replayer: Replayer, analysis: StoreAnalysis, read: ReadRange, line: int, window_ms: float,
          limit: int) -> Trace:
    if not (0 <= line < analysis.line_count) or analysis.kinds[line] != EVENT:
        raise TraceError(f"line {line + 1} is not an event" if 0 <= line < analysis.line_count
                         else f"line {line + 1} is past the end of the store ({analysis.line_count} lines)")
    moment = analysis.timestamps[line]
    if math.isnan(moment):
        raise TraceError(f"the event on line {line + 1} has no timestamp: a trace needs the decision's time")
    decision = Traced(line, moment, _event(analysis, read, line))
    times = np.frombuffer(analysis.timestamps, np.float64)
    events = np.frombuffer(analysis.kinds, np.uint8) == EVENT
    before = _in_time_order(np.flatnonzero(events & (times < moment)), times)
    after = _in_time_order(np.flatnonzero(events & (times >= moment) & (times < moment + window_ms)), times)
    after = after[after != line]
    prior = state_at_time(replayer, analysis, read, float(np.nextafter(moment, -math.inf))).state
    fold = start(replayer.projector, prior, private=False)  # `prior` may be shared with checkpoints
    fold.apply(decision.event)
    return Trace(decision, window_ms, _traced(analysis, read, before[-limit:], times), len(before),
                 _traced(analysis, read, after[:limit], times), len(after), prior, fold.state)


def _in_time_order(lines: np.ndarray, times: np.ndarray) -> np.ndarray:
    return lines[np.argsort(times[lines], kind="stable")]  # ties keep file order


def _event(analysis: StoreAnalysis, read: ReadRange, line: int) -> dict[str, Any]:
    start_at, length = analysis.line_span(line)
    event: dict[str, Any] = msgspec.json.decode(read(start_at, length).removeprefix(BOM))
    return event


def _traced(analysis: StoreAnalysis, read: ReadRange, lines: np.ndarray, times: np.ndarray) -> list[Traced]:
    return [Traced(line, float(times[line]), _event(analysis, read, line)) for line in lines.tolist()]


def parse_window(value: float | str) -> float:
    """Milliseconds from a number (ms) or a duration: 500ms, 60s, 2m, 1h."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        amount, unit = float(value), "ms"
    else:
        text = str(value).strip().lower()
        digits = text.rstrip("smh")
        unit = text[len(digits):] or "ms"
        try:
            amount = float(digits)
        except ValueError:
            amount = math.nan
    scale = {"ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}.get(unit)
    if scale is None or not math.isfinite(amount) or amount <= 0:
        raise TraceError(f"window {value!r}: give a positive duration such as 60s, 500ms, 2m or 1h")
    return amount * scale


def iso(ms: float) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000.0, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return f"{ms:g} ms"


def _seconds(ms: float) -> str:
    return f"{ms / 1000:g} s"


def _summary(event: dict[str, Any]) -> str:
    rest = {k: v for k, v in event.items() if k not in ("type", "timestamp", "id")}
    text = json.dumps(rest, ensure_ascii=False, default=str)
    text = text if len(text) <= 100 else text[:99] + "…"
    return text.replace("|", "\\|").replace("`", "'")


def _table(items: list[Traced], decision: float) -> list[str]:
    rows = ["| line | time | Δ | type | fields |", "|---:|---|---:|---|---|"]
    for item in items:
        delta = item.timestamp - decision
        rows.append(f"| {item.line + 1} | {iso(item.timestamp)} | {'+' if delta >= 0 else '-'}"
                    f"{_seconds(abs(delta))} | `{item.event.get('type', '(untyped)')}` | {_summary(item.event)} |")
    return rows


def _state(state: Any) -> str:
    text = json.dumps(state, indent=2, ensure_ascii=False, default=str)
    if len(text) > MAX_STATE_CHARS:
        text = text[:MAX_STATE_CHARS] + f"\n… ({len(text) - MAX_STATE_CHARS:,} more characters: see the JSON answer)"
    return "```json\n" + text + "\n```"


def trace_markdown(found: Trace, store: str) -> str:
    """The trace as a document a person reads top to bottom."""
    d = found.decision
    kind = d.event.get("type", "(untyped)")
    lines = [f"# Decision trace: `{kind}` at {iso(d.timestamp)}", "",
             f"Store `{store}`, line {d.line + 1}. Context: events with an earlier time; outcomes: events from "
             f"its time to {_seconds(found.window_ms)} after it (any line of the store).", "",
             f"## Context: {found.context_total:,} event(s) before"
             + (f" (the latest {len(found.context):,})" if found.context_total > len(found.context) else ""), ""]
    lines += _table(found.context, d.timestamp) if found.context else ["*Nothing happened before it.*"]
    lines += ["", "## Decision", "", "```json", json.dumps(d.event, indent=2, ensure_ascii=False, default=str),
              "```", "", f"## Outcomes: {found.outcomes_total:,} event(s) within {_seconds(found.window_ms)}"
              + (f" (the first {len(found.outcomes):,})" if found.outcomes_total > len(found.outcomes) else ""), ""]
    lines += _table(found.outcomes, d.timestamp) if found.outcomes else ["*Nothing followed within the window.*"]
    lines += ["", "## State before the decision", "", _state(found.state_before), "",
              "## State after the decision", "", _state(found.state_after), ""]
    return "\n".join(lines)
