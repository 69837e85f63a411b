"""The commands both front ends offer (the CLI's subcommands, the server's workspace/executeCommand).

Each takes one JSON object, validated here, and answers a JSON-native dict: the same shapes in the
terminal and in the editor. Ordinary failures answer `{ok: false, code, message, details}`; arguments
that do not fit raise `InvalidArguments` (the server turns it into InvalidParams).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from astra_ls.config import ConfigError
from astra_ls.core.analysis import StoreAnalysis, events_through
from astra_ls.core.facts import iso_to_ms
from astra_ls.core.fields import fields_report, untimed_events
from astra_ls.core.jsontext import bounded
from astra_ls.projections.conditions import conditions_from
from astra_ls.projections.links import read_event, related
from astra_ls.projections.patch import json_patch
from astra_ls.projections.query import Query, candidate_lines, run_query, timeline
from astra_ls.projections.time_travel import out_of_order_events, state_at_time
from astra_ls.projections.trace import (
    DEFAULT_WINDOW_MS,
    SHOWN,
    TraceError,
    decision_line_at,
    parse_window,
    trace,
    trace_markdown,
)
from astra_ls.projections.trim import list_tails
from astra_ls.schemas.base import skeleton
from astra_ls.store.analyses import StreamSetup
from astra_ls.store.atomic import wait_for_whole_lines
from astra_ls.store.base import EventStore
from astra_ls.store.compaction import compact
from astra_ls.store.convert import convert_store
from astra_ls.store.discovery import Skipped
from astra_ls.store.file_store import FileEventStore
from astra_ls.store.history_view import history_of
from astra_ls.store.line_fingerprint import line_fingerprint
from astra_ls.store.paths import PathRefused
from astra_ls.store.quarantine import bad_lines, quarantine_lines
from astra_ls.store.results import InvalidArguments, Refused, StoreError, os_error_code
from astra_ls.store.upcast_rewrite import upcast_store
from astra_ls.upcasting import events_upcast

Answer = dict[str, Any]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NoArgs(_Args):
    pass


class StoreArgs(_Args):
    store: str = Field(min_length=1, description="Stream name, path inside .astra/, or file:// URI.")


class CountArgs(StoreArgs):
    all: bool = Field(default=False, description="Count the events compaction archived too, from the archives.")


class AppendArgs(StoreArgs):
    event: Any
    expectedCount: int | None = Field(default=None, ge=0)


class ProjectAtArgs(StoreArgs):
    line: int | None = Field(default=None, ge=1)
    timestamp: float | str | None = None


ALL_STORES = "*"


class QueryArgs(_Args):
    store: str | None = Field(default=None, min_length=1, description="One store.")
    stores: list[str] | None = Field(default=None, min_length=1, max_length=10_000,
                                     description='Several stores of one workspace; ["*"] for all of them.')
    type: str | None = None
    from_: float | str | None = Field(default=None, alias="from")
    to: float | str | None = None
    # {path: value} (equality) or ["PATH OP VALUE", ...] (see projections/conditions.py)
    where: dict[str, Any] | list[str] = Field(default_factory=dict, max_length=256)
    limit: int = Field(default=1000, ge=1, le=1_000_000)
    text: bool = Field(default=False, description="Also answer each event's exact line, as `text`.")


class TraceArgs(StoreArgs):
    line: int | None = Field(default=None, ge=1, description="The decision's 1-based line.")
    timestamp: float | str | None = Field(default=None, description="The decision's exact time.")
    window: float | str = Field(default=DEFAULT_WINDOW_MS, description="Outcomes' window: ms, or 60s, 2m, 1h.")
    limit: int = Field(default=SHOWN, ge=1, le=10_000, description="Events listed on each side.")
    markdown: bool = Field(default=False, description="Also answer the trace as a readable document.")


class LineRef(_Args):
    """A line, and the fingerprint of what it is expected to hold (as code actions give it)."""

    line: int = Field(ge=1)
    fingerprint: str = Field(min_length=1, max_length=64)


class QuarantineArgs(StoreArgs):
    lines: list[LineRef] | None = Field(default=None, max_length=1_000_000)

    @field_validator("lines", mode="before")
    @classmethod
    def _named_with_fingerprints(cls, value: Any) -> Any:
        if isinstance(value, list) and any(isinstance(item, int) for item in value):
            raise ValueError("name each line as {line, fingerprint} (the fingerprint a quick fix gives, so a "
                             "line that moved since is not the one moved), not as a bare number")
        return value


class CompactArgs(StoreArgs):
    upToLine: int | None = Field(default=None, ge=1)
    fingerprint: str | None = Field(default=None, min_length=1, max_length=64,
                                    description="What line upToLine is expected to hold.")


class ConvertArgs(StoreArgs):
    to: Literal["utf-8"] = "utf-8"
    lineEndings: Literal["lf", "keep"] = "lf"


class TimelineArgs(StoreArgs):
    buckets: int = Field(default=40, ge=1, le=1000)


class Position(_Args):
    """A point in a store: after its first `line` lines, or after every event at or before `timestamp`."""

    line: int | None = Field(default=None, ge=0, description="The state after the first N lines (0: the start).")
    timestamp: float | str | None = Field(default=None, description="Epoch ms or ISO 8601.")


class DiffArgs(StoreArgs):
    from_: Position = Field(alias="from")
    to: Position
    before: bool = Field(default=True, description="False: leave out the state before (a debugger step shows "
                                                   "only the patch and the state after).")
    listTail: int | None = Field(default=None, ge=1, le=100_000,
                                 description="Send only the last N items of every list of the states (`trimmed` "
                                             "gives each cut list's full length); the patch is of the whole "
                                             "states.")


class SeekArgs(StoreArgs):
    line: int = Field(ge=0, description="Where the scrubber is: 1-based line, 0 before the first.")
    to: Literal["next", "previous", "first", "last"]
    type: str | None = Field(default=None, description="Only events of this type.")


class LineArgs(StoreArgs):
    line: int = Field(ge=1, description="1-based line of the event.")


def parse_time(value: float | str | None, name: str) -> float | None:
    """Epoch milliseconds from a number or an ISO 8601 string."""
    if value is None:
        return None
    moment = float(value) if isinstance(value, int | float) else iso_to_ms(value)
    if math.isnan(moment):
        raise InvalidArguments(f"{name}: {value!r} is neither epoch milliseconds nor an ISO 8601 time")
    return moment


def list_stores(store: EventStore, args: NoArgs) -> Answer:
    streams, skipped = store.listing() if isinstance(store, FileEventStore) else (store.streams(), [])
    return listing([(store, stream, stream) for stream in streams], skipped)


Guard = Callable[[Path], AbstractContextManager[object]]


def listing(entries: Iterable[tuple[EventStore, str, str]], skipped: Iterable[Skipped],
            guard: Guard = lambda path: nullcontext()) -> Answer:
    """`astra.listStores`'s answer for (store, stream, name) entries, each read inside `guard(path)`.
    A store that cannot be read joins the skipped entries with the reason; the others are still listed."""
    listed = []
    unlisted = [entry.to_json() for entry in skipped]
    for store, stream, name in entries:
        path = Path(stream)
        try:
            path = store.path_of(stream)
            with guard(path):
                analysis = store.analysis(stream)
                problems = len(store.problems(stream))
                setup = store.setup(stream)
                fields = fields_report(analysis, store.reader(stream), setup.rules.line)
        except StoreError as error:
            unlisted.append({"path": str(path), "reason": error.refused.message})
            continue
        except (PathRefused, ConfigError) as error:
            unlisted.append({"path": str(path), "reason": str(error)})
            continue
        except OSError as error:
            unlisted.append({"path": str(path), "reason": f"cannot be read: {error.strerror or error}"})
            continue
        entry = {"name": name, "uri": store.uri_of(stream), "path": str(path),
                 "events": analysis.event_count(), "problems": problems,
                 "schema": setup.schema_name, "projector": setup.projector_name, "schemaOrigin": setup.schema_origin,
                 "fields": fields}
        if setup.skipped:
            entry["skipped"] = setup.skipped  # configured, but not usable here (see the configuration's problems)
        if store.remote_name is not None:
            entry.update(remote=True, remoteName=store.remote_name)
        listed.append(entry)
    return {"ok": True, "stores": listed, "skipped": unlisted}


def append(store: EventStore, args: AppendArgs) -> Answer:
    return store.append(store.resolve(args.store), args.event, args.expectedCount).to_json()


def count(store: EventStore, args: CountArgs) -> Answer:
    name = store.resolve(args.store)
    analysis = store.analysis(name)
    fields = fields_report(analysis, store.reader(name), store.setup(name).rules.line)
    past = history_of(store, name) if args.all else None
    if past is None:
        answer = {"ok": True, "count": analysis.event_count(), "byType": analysis.counts_by_type(), "fields": fields}
        return {**answer, "archivedEvents": 0, "archives": []} if args.all else answer
    archived = events_through(past.analysis, past.history.archived_lines() - 1)
    return {"ok": True, "count": past.analysis.event_count(), "byType": past.analysis.counts_by_type(),
            "fields": fields, "archivedEvents": archived, "archives": past.history.archives, **past.note()}


def project(store: EventStore, args: StoreArgs) -> Answer:
    return _state_after(store, store.resolve(args.store), None)


def project_at(store: EventStore, args: ProjectAtArgs) -> Answer:
    if (args.line is None) == (args.timestamp is None):
        raise InvalidArguments("give exactly one of line (1-based) or timestamp (epoch ms or ISO 8601)")
    name = store.resolve(args.store)
    if args.line is not None:
        return _state_after(store, name, args.line - 1)
    moment = parse_time(args.timestamp, "timestamp")
    assert moment is not None
    return _state_at_time(store, name, moment)


def _state_at_time(store: EventStore, name: str, moment: float) -> Answer:
    """The design's replayTo: every event at or before `moment`, in file order (archived ones too)."""
    past = history_of(store, name)
    if past is None:
        analysis = store.analysis(name)
        found = state_at_time(store.replayer(name), analysis, store.reader(name), moment)
        return {"ok": True, "state": bounded(found.state), "line": found.last_line + 1, "events": found.events,
                "timestamp": moment, "skippedEvents": found.skipped, **_time_order(analysis)}
    # A compacted store: the state at a time is the archived events' as much as the live file's.
    found = state_at_time(past.replayer, past.analysis, past.read, moment)
    return {"ok": True, "state": bounded(found.state), **past.place(found.last_line), "events": found.events,
            "timestamp": moment, "skippedEvents": found.skipped, **_time_order(past.analysis), **past.note()}


def _state_after(store: EventStore, name: str, line: int | None) -> Answer:
    analysis = store.analysis(name)
    last = analysis.line_count - 1 if line is None else min(line, analysis.line_count - 1)
    state = store.replayer(name).state_after(analysis, store.reader(name), last)
    stamp = analysis.timestamps[last] if last >= 0 else math.nan
    return {"ok": True, "state": bounded(state), "line": last + 1, "events": events_through(analysis, last),
            "timestamp": None if math.isnan(stamp) else stamp, **_time_order(analysis)}


def _time_order(analysis: StoreAnalysis) -> Answer:
    """Whether the store is in time order: on one that is not, the state after a line is not the state at
    that line's time (ask by time for that)."""
    backwards = out_of_order_events(analysis)
    return {"outOfOrder": backwards > 0, "outOfOrderEvents": backwards}


def query(store: EventStore, args: QueryArgs) -> Answer:
    if (args.store is None) == (args.stores is None):
        raise InvalidArguments("give exactly one of store (a store) or stores (a list; [\"*\"] for every store)")
    wanted = Query(args.type, parse_time(args.from_, "from"), parse_time(args.to, "to"), conditions_from(args.where))
    if args.store is not None:
        names, several = [store.resolve(args.store)], False
    elif ALL_STORES in (args.stores or []):
        names, several = store.streams(), True
    else:
        names, several = list(dict.fromkeys(store.resolve(ref) for ref in args.stores or [])), True
    matches = (match for name in names for match in _matches(store, name, wanted, several, args.text))
    total, kept = _first(matches, args.limit, several)
    answer: Answer = {"ok": True, "total": total, "events": kept}
    if several:
        answer["stores"] = names
    if wanted.since is not None or wanted.until is not None:  # events without a time are left out: say so
        analyses = [store.analysis(name) for name in names]
        answer["untimed"] = sum(untimed_events(a, candidate_lines(a, Query(type=args.type))) for a in analyses)
    return answer


def _matches(store: EventStore, name: str, wanted: Query, several: bool,
             text: bool) -> Iterator[tuple[float, Answer]]:
    """(time, entry) of the store's matching events; in a compacted store, the archived ones first."""
    past = history_of(store, name)
    upcast = events_upcast(store.setup(name).schema)  # a versioned store's events as they are now
    if past is None:
        analysis = store.analysis(name)
        for line, event, data in run_query(analysis, store.reader(name), wanted, upcast):
            yield analysis.timestamps[line], _found(name, {"line": line + 1}, event, data, several, text)
        return
    for line, event, data in run_query(past.analysis, past.read, wanted, upcast):
        yield past.analysis.timestamps[line], _found(name, past.place(line), event, data, several, text)


def _found(name: str, place: Answer, event: Any, data: bytes, several: bool, text: bool) -> Answer:
    entry: Answer = {**place, "event": bounded(event)}
    if several:
        entry["store"] = name
    if text:
        entry["text"] = data.decode()
    return entry


def _first(matches: Iterator[tuple[float, Answer]], limit: int, by_time: bool) -> tuple[int, list[Answer]]:
    """How many matched, and the first `limit` of them: in file order for one store; by time across
    stores (untimed events last, then by store and line), kept in a bounded heap."""
    if not by_time:
        kept: list[Answer] = []
        total = 0
        for _, entry in matches:
            total += 1
            if total <= limit:
                kept.append(entry)
        return total, kept
    counted = [0]

    def keyed() -> Iterator[tuple[tuple[bool, float, str, int], int, Answer]]:
        for stamp, entry in matches:
            counted[0] += 1
            timed = not math.isnan(stamp)
            yield (not timed, stamp if timed else 0.0, entry["store"], entry["line"]), counted[0], entry

    best = heapq.nsmallest(limit, keyed())
    return counted[0], [entry for _, _, entry in best]


def trace_decision(store: EventStore, args: TraceArgs) -> Answer:
    if (args.line is None) == (args.timestamp is None):
        raise InvalidArguments("give exactly one of line (1-based) or timestamp (the decision's exact time)")
    name = store.resolve(args.store)
    analysis = store.analysis(name)
    try:
        window = parse_window(args.window)
        if args.line is not None:
            line = args.line - 1
        else:
            moment = parse_time(args.timestamp, "timestamp")
            assert moment is not None
            line = decision_line_at(analysis, moment)
        found = trace(store.replayer(name), analysis, store.reader(name), line, window, args.limit)
    except TraceError as error:
        return Refused("NO_DECISION", f"{name}: {error}").to_json()
    answer = found.to_json()
    if args.markdown:
        answer["markdown"] = trace_markdown(found, name)
    return answer


def _rewritable(store: EventStore, command: str) -> FileEventStore:
    """The store, when its stream files may be rewritten in place: remote streams are append-only."""
    if not isinstance(store, FileEventStore):
        raise StoreError("READ_ONLY", f"{command}: remote store {store.remote_name!r} is append-only; "
                         "quarantine and compaction rewrite a file and only apply to local stores (pull it first)")
    return store


def quarantine(any_store: EventStore, args: QuarantineArgs) -> Answer:
    store = _rewritable(any_store, "astra.quarantine")
    name = store.resolve(args.store)
    path = store.path_of(name)
    with store.lock(name):
        wait_for_whole_lines(path)
        store.followed(name).rescan()
        analysis = store.analysis(name)
        if args.lines is None:
            lines = bad_lines(analysis)
        else:
            lines = [ref.line - 1 for ref in args.lines]
            for ref in args.lines:
                _expect_line(store, name, analysis, ref.line, ref.fingerprint)
        report = quarantine_lines(store.root, path, name, analysis, lines)
    store.refresh(name)
    return report.to_json()


# (workspace root, the stream's file, its name, a fresh analysis, its setup) -> a report with to_json()
_Rewrite = Callable[[Path, Path, str, StoreAnalysis, StreamSetup], Any]


def _rewrite(any_store: EventStore, command: str, ref: str, rewrite: _Rewrite) -> Answer:
    """Run `rewrite` on a fresh analysis of the stream, under its lock (compaction, upcasting)."""
    store = _rewritable(any_store, command)
    name = store.resolve(ref)
    path = store.path_of(name)
    setup = store.setup(name)
    with store.lock(name):
        wait_for_whole_lines(path)  # a writer without the lock may be half-way through a line
        store.followed(name).rescan()
        report = rewrite(store.root, path, name, store.analysis(name), setup)
    store.refresh(name)
    answer: Answer = report.to_json()
    return answer


def compact_store(store: EventStore, args: CompactArgs) -> Answer:
    up_to = None if args.upToLine is None else args.upToLine - 1

    def run(root: Path, path: Path, name: str, analysis: StoreAnalysis, setup: StreamSetup) -> Any:
        if args.upToLine is not None and args.fingerprint is not None:
            _expect_line(store, name, analysis, args.upToLine, args.fingerprint)
        return compact(root, path, name, analysis, setup.rules, setup.projector, up_to)

    return _rewrite(store, "astra.compact", args.store, run)


def upcast(store: EventStore, args: StoreArgs) -> Answer:
    return _rewrite(store, "astra.upcast", args.store, upcast_store)


def convert_encoding(any_store: EventStore, args: ConvertArgs) -> Answer:
    store = _rewritable(any_store, "astra.convertEncoding")
    name = store.resolve(args.store)
    path = store.path_of(name)
    if not path.is_file():
        raise StoreError("STORE_NOT_FOUND", f"no store {name!r}: {path} does not exist")
    with store.lock(name):
        report = convert_store(store.root, path, name, args.lineEndings == "lf")
    store.refresh(name)
    return report.to_json()


def _expect_line(store: EventStore, name: str, analysis: StoreAnalysis, line: int, fingerprint: str) -> None:
    """Refuse (LINE_CHANGED) when 1-based `line` is gone or no longer holds what `fingerprint` says."""
    actual = (line_fingerprint(store.reader(name)(*analysis.line_span(line - 1)))
              if line <= analysis.line_count else None)
    if actual != fingerprint:
        where = "no longer exists" if actual is None else "no longer holds the line it was named for"
        raise StoreError("LINE_CHANGED", f"line {line} of {name} {where} (the store changed since): "
                         "nothing was changed; check the store again and retry from its new problems",
                         {"line": line, "expected": fingerprint, "actual": actual})


def schema_for(store: EventStore, args: StoreArgs) -> Answer:
    setup = store.setup(store.resolve(args.store))
    types = [{"name": t.name, "description": t.description, "fields": [f.to_json() for f in t.fields],
              "skeleton": skeleton(t)} for t in setup.schema.types()]
    return {"ok": True, "family": setup.schema_name, "types": types}


def _state_at(store: EventStore, name: str, at: Position) -> Answer:
    if (at.line is None) == (at.timestamp is None):
        raise InvalidArguments("give exactly one of line or timestamp for each end of the diff")
    if at.line is not None:
        return _state_after(store, name, at.line - 1)
    moment = parse_time(at.timestamp, "timestamp")
    assert moment is not None
    return _state_at_time(store, name, moment)


def diff(store: EventStore, args: DiffArgs) -> Answer:
    """The change of the projected state from one point of a store to another, as an RFC 6902 JSON Patch."""
    name = store.resolve(args.store)
    before, after = _state_at(store, name, args.from_), _state_at(store, name, args.to)
    ends = {"line": before["line"], "events": before["events"], "timestamp": before["timestamp"]}
    return {"ok": True, "from": ends, "to": {"line": after["line"], "events": after["events"],
                                             "timestamp": after["timestamp"]},
            "patch": json_patch(before["state"], after["state"]),
            **_shown_states(args, before["state"], after["state"])}


def _shown_states(args: DiffArgs, before: Any, after: Any) -> Answer:
    """The states as the diff's answer carries them: whole, or lists cut to their tails (a step of the
    debugger on a long conversation would otherwise send megabytes)."""
    trimmed: dict[str, int] = {}
    if args.listTail is not None:
        after, trimmed = list_tails(after, args.listTail)
        if args.before:
            before, cut = list_tails(before, args.listTail)
            trimmed = {**cut, **trimmed}
    shown: Answer = {"after": after}
    if args.before:
        shown["before"] = before
    if args.listTail is not None:
        shown["trimmed"] = trimmed
    return shown


def seek(store: EventStore, args: SeekArgs) -> Answer:
    """The line of the next (previous, first, last) event from a line, optionally of one type: the
    debugger's steps, answered from the analysis's arrays without reading the store."""
    analysis = store.analysis(store.resolve(args.store))
    # A mask searched in place: listing the event lines (np.nonzero) would build an 8 MB array per step at 1M.
    mask = analysis.event_mask()
    if args.type is not None:
        known = analysis.types.names
        wanted = known.index(args.type) if args.type in known else -1
        mask = mask & (np.frombuffer(analysis.type_ids, np.uint16)[: len(mask)] == wanted)
    current = args.line - 1  # 0-based; -1 before the first line
    if args.to in ("first", "next"):
        start = 0 if args.to == "first" else max(current + 1, 0)
        rest = mask[start:]
        at = int(rest.argmax()) if rest.size else 0  # a boolean argmax stops at the first True
        found = start + at if rest.size and rest[at] else None
    else:
        end = len(mask) if args.to == "last" else max(min(current, len(mask)), 0)
        head = mask[:end][::-1]
        at = int(head.argmax()) if head.size else 0
        found = end - 1 - at if head.size and head[at] else None
    return {"ok": True, "line": None if found is None else found + 1, "lines": analysis.line_count,
            "events": int(np.count_nonzero(mask)),
            "types": sorted(name for name, count in analysis.counts_by_type().items() if count)}


def related_events(store: EventStore, args: LineArgs) -> Answer:
    return related(store, store.resolve(args.store), args.line - 1)


def show_event(store: EventStore, args: LineArgs) -> Answer:
    """One line's event pretty-printed, with the line's exact text and its problems."""
    name = store.resolve(args.store)
    analysis = store.analysis(name)
    if not 1 <= args.line <= analysis.line_count:
        raise InvalidArguments(f"line {args.line} is outside the store (it has {analysis.line_count} lines)")
    start, length = analysis.line_span(args.line - 1)
    raw = store.reader(name)(start, length)
    event = read_event(store, name, args.line - 1)
    problems = [p.to_json() for p in analysis.problems_on(args.line - 1, store.reader(name))]
    return {"ok": True, "line": args.line, "text": raw.decode("utf-8", "replace"), "event": event,
            "problems": problems}


def timeline_of(store: EventStore, args: TimelineArgs) -> Answer:
    analysis = store.analysis(store.resolve(args.store))
    return {**timeline(analysis, args.buckets), "untimed": untimed_events(analysis)}  # not in any bucket


Handler = Callable[[EventStore, Any], Answer]

COMMANDS: dict[str, tuple[type[_Args], Handler]] = {
    "astra.listStores": (NoArgs, list_stores),
    "astra.append": (AppendArgs, append),
    "astra.count": (CountArgs, count),
    "astra.project": (StoreArgs, project),
    "astra.projectAt": (ProjectAtArgs, project_at),
    "astra.query": (QueryArgs, query),
    "astra.traceDecision": (TraceArgs, trace_decision),
    "astra.quarantine": (QuarantineArgs, quarantine),
    "astra.compact": (CompactArgs, compact_store),
    "astra.upcast": (StoreArgs, upcast),
    "astra.schemaFor": (StoreArgs, schema_for),
    "astra.timeline": (TimelineArgs, timeline_of),
    "astra.convertEncoding": (ConvertArgs, convert_encoding),
    "astra.diff": (DiffArgs, diff),
    "astra.seek": (SeekArgs, seek),
    "astra.related": (LineArgs, related_events),
    "astra.showEvent": (LineArgs, show_event),
}


def validate_args(command: str, raw: Any) -> BaseModel:
    if command not in COMMANDS:
        raise InvalidArguments(f"unknown command {command!r}: use one of {', '.join(COMMANDS)}")
    model = COMMANDS[command][0]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidArguments(f"{command} takes one JSON object argument, not {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        details = "; ".join(_argument_error(e) for e in error.errors(include_url=False))
        raise InvalidArguments(f"{command}: {details}") from None


def _argument_error(error: Any) -> str:
    """`line: input should be greater than or equal to 1, got 0`: the argument, what it must be, what it was."""
    where = ".".join(str(p) for p in error["loc"]) or "argument"
    reason = str(error["msg"]).removeprefix("Value error, ")
    reason = reason[:1].lower() + reason[1:]
    if error["type"] in ("missing", "extra_forbidden"):
        return f"{where}: {'required' if error['type'] == 'missing' else 'not an argument of this command'}"
    got = orjson.dumps(error.get("input"), default=str).decode() if "input" in error else "nothing"
    return f"{where}: {reason}, got {got[:80]}"


def execute(store: EventStore, command: str, raw: Any) -> Answer:
    """Run a command; ordinary failures come back as `{ok: false, ...}`, never as exceptions."""
    args = validate_args(command, raw)
    try:
        return COMMANDS[command][1](store, args)
    except StoreError as error:
        return error.refused.to_json()
    except PathRefused as error:
        return Refused("PATH_REFUSED", str(error)).to_json()
    except ConfigError as error:
        return Refused("CONFIG_ERROR", str(error)).to_json()
    except OSError as error:
        return Refused(os_error_code(error), f"{command}: {error.strerror or error}",
                       {"errno": error.errno, "path": str(error.filename or "")}).to_json()
    except RecursionError:  # a user's projector that recurses into what a line nests
        return Refused("TOO_DEEP", f"{command}: a value nested too deeply to be processed (the projector "
                       "recursed into it); the store is unchanged").to_json()
    except msgspec.DecodeError as error:  # a line read back no longer holds what the scan saw there
        for followed in store.analyses.followed_files():
            followed.doubt()  # so the retry checks every analysed byte, not only the stamp
        return Refused("STORE_CHANGED", f"{command}: the store changed while it was being read ({error}); "
                       "run the command again").to_json()
