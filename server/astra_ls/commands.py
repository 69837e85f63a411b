"""The commands both front ends offer (the CLI's subcommands, the server's workspace/executeCommand).

Each takes one JSON object, validated here, and answers a JSON-native dict: the same shapes in the
terminal and in the editor. Ordinary failures answer `{ok: false, code, message, details}`; arguments
that do not fit raise `InvalidArguments` (the server turns it into InvalidParams).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from astra_ls.config import ConfigError
from astra_ls.core.analysis import events_through
from astra_ls.core.facts import iso_to_ms
from astra_ls.core.fields import fields_report, untimed_events
from astra_ls.core.jsontext import bounded
from astra_ls.projections.links import read_event, related
from astra_ls.projections.patch import json_patch
from astra_ls.projections.query import Query, candidate_lines, last_line_at, run_query, timeline
from astra_ls.projections.trim import list_tails
from astra_ls.schemas.base import skeleton
from astra_ls.store.atomic import wait_for_whole_lines
from astra_ls.store.base import EventStore
from astra_ls.store.compaction import compact
from astra_ls.store.convert import convert_store
from astra_ls.store.discovery import Skipped
from astra_ls.store.file_store import FileEventStore
from astra_ls.store.paths import PathRefused
from astra_ls.store.quarantine import bad_lines, quarantine_lines
from astra_ls.store.results import InvalidArguments, Refused, StoreError, os_error_code

Answer = dict[str, Any]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NoArgs(_Args):
    pass


class StoreArgs(_Args):
    store: str = Field(min_length=1, description="Stream name, path inside .astra/, or file:// URI.")


class AppendArgs(StoreArgs):
    event: Any
    expectedCount: int | None = Field(default=None, ge=0)


class ProjectAtArgs(StoreArgs):
    line: int | None = Field(default=None, ge=1)
    timestamp: float | str | None = None


class QueryArgs(StoreArgs):
    type: str | None = None
    from_: float | str | None = Field(default=None, alias="from")
    to: float | str | None = None
    where: dict[str, Any] = Field(default_factory=dict)
    limit: int = Field(default=1000, ge=1, le=1_000_000)


class QuarantineArgs(StoreArgs):
    lines: list[int] | None = None


class CompactArgs(StoreArgs):
    upToLine: int | None = Field(default=None, ge=1)


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
    where = non_finite_number(args.event)
    if where is not None:  # JSON has no NaN or Infinity: written, it would become null without a word
        path, value = where
        return Refused("INVALID_EVENT", f"field '{path}' is {value}: JSON has no such number (RFC 8259); "
                       "send a number, null or a string", {"errors": [
                           {"path": path, "message": f"{value} is not a JSON number", "type": "not_json"}]}
                       ).to_json()
    return store.append(store.resolve(args.store), args.event, args.expectedCount).to_json()


def non_finite_number(event: Any) -> tuple[str, str] | None:
    """(dotted path, 'NaN' or 'Infinity') of the first NaN or infinite number in a value, else None."""
    stack: list[tuple[str, Any]] = [("", event)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return path or "(event)", "NaN" if math.isnan(node) else ("-Infinity" if node < 0 else "Infinity")
        if isinstance(node, dict):
            stack.extend((f"{path}.{key}" if path else str(key), value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((f"{path}.{index}" if path else str(index), value) for index, value in enumerate(node))
    return None


def count(store: EventStore, args: StoreArgs) -> Answer:
    name = store.resolve(args.store)
    analysis = store.analysis(name)
    return {"ok": True, "count": analysis.event_count(), "byType": analysis.counts_by_type(),
            "fields": fields_report(analysis, store.reader(name), store.setup(name).rules.line)}


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
    return _state_after(store, name, last_line_at(store.analysis(name), moment), moment)


def _state_after(store: EventStore, name: str, line: int | None, moment: float | None = None) -> Answer:
    analysis = store.analysis(name)
    last = analysis.line_count - 1 if line is None else min(line, analysis.line_count - 1)
    state = store.replayer(name).state_after(analysis, store.reader(name), last)
    stamp = analysis.timestamps[last] if last >= 0 else math.nan
    return {"ok": True, "state": bounded(state), "line": last + 1, "events": events_through(analysis, last),
            "timestamp": moment if moment is not None else (None if math.isnan(stamp) else stamp)}


def query(store: EventStore, args: QueryArgs) -> Answer:
    name = store.resolve(args.store)
    wanted = Query(args.type, parse_time(args.from_, "from"), parse_time(args.to, "to"), args.where)
    found = []
    total = 0
    for line, event in run_query(store.analysis(name), store.reader(name), wanted):
        total += 1
        if total <= args.limit:
            found.append({"line": line + 1, "event": bounded(event)})
    answer: Answer = {"ok": True, "total": total, "events": found}
    if wanted.since is not None or wanted.until is not None:  # events without a time are left out: say so
        analysis = store.analysis(name)
        answer["untimed"] = untimed_events(analysis, candidate_lines(analysis, Query(type=args.type)))
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
        lines = bad_lines(analysis) if args.lines is None else [n - 1 for n in args.lines]
        report = quarantine_lines(store.root, path, name, analysis, lines)
    store.refresh(name)
    return report.to_json()


def compact_store(any_store: EventStore, args: CompactArgs) -> Answer:
    store = _rewritable(any_store, "astra.compact")
    name = store.resolve(args.store)
    path = store.path_of(name)
    setup = store.setup(name)
    with store.lock(name):
        wait_for_whole_lines(path)
        store.followed(name).rescan()
        analysis = store.analysis(name)
        up_to = None if args.upToLine is None else args.upToLine - 1
        report = compact(store.root, path, name, analysis, setup.rules, setup.projector, up_to)
    store.refresh(name)
    return report.to_json()


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
    return _state_after(store, name, last_line_at(store.analysis(name), moment), moment)


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
    "astra.count": (StoreArgs, count),
    "astra.project": (StoreArgs, project),
    "astra.projectAt": (ProjectAtArgs, project_at),
    "astra.query": (QueryArgs, query),
    "astra.quarantine": (QuarantineArgs, quarantine),
    "astra.compact": (CompactArgs, compact_store),
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
        return Refused("STORE_CHANGED", f"{command}: the store changed while it was being read ({error}); "
                       "run the command again").to_json()
