"""The precise, slow path for one line: every problem it has, pointed at the exact characters.

Most lines never come here: the fast decoder accepts them. Everything the fast path rejects (or may
not judge, like the first line and lines with a CR) is classified here, so diagnostics are exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson

from astra_ls.core.facts import NO_ID, NO_TIME, field_value, id_key, time_ms
from astra_ls.core.jsontext import nesting_depth
from astra_ls.core.locate import locate
from astra_ls.core.positions import utf16_col_of_byte, utf16_col_of_char
from astra_ls.core.problems import Problem, make_problem
from astra_ls.schemas.base import EventSchema, SchemaIssue, json_kind

EVENT, SNAPSHOT, BLANK, BAD = 0, 1, 2, 3
SNAPSHOT_TYPE = "$snapshot"
BOM = b"\xef\xbb\xbf"
INT64_MIN, UINT64_MAX = -(2**63), 2**64 - 1
BIG_INT = re.compile(rb"-?\d{19,}")
BIG_INT_DEPTH = 512  # deepest nesting of a line with integers beyond 64 bits that is read exactly
_WS = b" \t\r\n"


@dataclass(slots=True)
class LineVerdict:
    kind: int
    type_name: str | None = None
    timestamp: float = NO_TIME
    id_hash: int = NO_ID
    problems: list[Problem] = field(default_factory=list)
    event: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class LineRules:
    schema: EventSchema
    max_line_bytes: int = 8 * 1024 * 1024
    id_field: str = "id"  # field paths: `metadata.uid` is key `uid` inside `metadata`
    time_field: str = "timestamp"
    type_field: str = "type"
    time_format: str = "auto"  # auto | epoch_ms | epoch_s | iso8601 (see facts.time_ms)

    @property
    def standard(self) -> bool:
        """The fields the fast decoder reads the facts from: top-level id, timestamp and type."""
        return (self.id_field, self.time_field, self.type_field) == ("id", "timestamp", "type")


def check_line(raw: bytes, line: int, rules: LineRules) -> LineVerdict:
    """Classify one line (without its '\\n'): an event with its facts, or the problems that stop it."""
    if len(raw) > rules.max_line_bytes:
        message = f"line is {len(raw):,} bytes, over the {rules.max_line_bytes:,}-byte limit; not parsed"
        return LineVerdict(BAD, problems=[make_problem("ASTRA034", line, 0, 1, message,
                                                       data={"bytes": len(raw)})])
    problems: list[Problem] = []
    body, lead = _strip_framing(raw, line, problems)
    if not body.strip(_WS):
        end = utf16_col_of_byte(raw, len(raw))
        problems.append(make_problem("ASTRA032", line, 0, end, "blank line: not an event"))
        return LineVerdict(BLANK, problems=problems)
    verdict = _parse(body, lead, raw, line, problems)
    if verdict is not None:
        return verdict
    return _validate(body, lead, line, rules, problems)


def _strip_framing(raw: bytes, line: int, problems: list[Problem]) -> tuple[bytes, int]:
    """Remove a trailing CR and a leading BOM (flagged); answers the body and its byte offset."""
    body, lead = raw, 0
    if body.endswith(b"\r"):
        body = body[:-1]
        col = utf16_col_of_byte(raw, len(body))
        problems.append(make_problem("ASTRA031", line, col, col + 1,
                                     "CRLF line ending: JSONL lines end with LF alone"))
    if body.startswith(BOM):
        body, lead = body[3:], 3
        problems.append(make_problem("ASTRA030", line, 0, 1,
                                     "UTF-8 byte-order mark: JSON text must not start with one"))
    cr = body.find(b"\r")
    if cr >= 0:
        col = utf16_col_of_byte(raw, lead + cr)
        problems.append(make_problem("ASTRA037", line, col, col + 1,
                                     "bare carriage return inside the line: CR-only line endings join "
                                     "events into one line"))
    return body, lead


def _parse(body: bytes, lead: int, raw: bytes, line: int, problems: list[Problem]) -> LineVerdict | None:
    """Problems that make the line unreadable as JSON; None when it parses."""
    nul = body.find(b"\x00")
    if nul >= 0:
        col = utf16_col_of_byte(raw, lead + nul)
        problems.append(make_problem("ASTRA035", line, col, col + 1,
                                     "NUL byte: not allowed in JSON text (a sign of a torn or padded write)"))
        return LineVerdict(BAD, problems=problems)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        col = utf16_col_of_byte(raw, lead + error.start)
        bad = body[error.start : error.end].hex(" ")
        problems.append(make_problem("ASTRA003", line, col, col + 1,
                                     f"invalid UTF-8 (byte {bad} at byte {lead + error.start}): "
                                     "JSON text must be UTF-8"))
        return LineVerdict(BAD, problems=problems)
    if any(p.code == "ASTRA037" for p in problems):
        return LineVerdict(BAD, problems=problems)
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        problems.append(_malformed(text, lead, raw, line, error.msg, error.pos))
        return LineVerdict(BAD, problems=problems)
    if not isinstance(value, dict):
        start, end = _trimmed_cols(text, lead, raw)
        kind = json_kind(value)
        problems.append(make_problem("ASTRA002", line, start, end,
                                     f"valid JSON but {kind}, not an object: every event is a JSON object"))
        return LineVerdict(BAD, problems=problems)
    return None


def _malformed(text: str, lead: int, raw: bytes, line: int, detail: str, pos: int) -> Problem:
    """ASTRA001 where the parser stopped: `pos` is orjson's character offset in `text` (its JSONDecodeError's
    structured position, like the standard library's)."""
    char = min(max(pos, 0), len(text))
    start = utf16_col_of_byte(raw, lead) + utf16_col_of_char(text, char)
    end = utf16_col_of_byte(raw, len(raw.rstrip(b"\r")))
    width = utf16_col_of_byte(raw, len(raw))  # at least one unit wide, but never past the line's end
    return make_problem("ASTRA001", line, start, min(max(end, start + 1), width),
                        f"malformed JSON: {detail} (at column {start + 1})", data={"reason": detail})


def _trimmed_cols(text: str, lead: int, raw: bytes) -> tuple[int, int]:
    first = len(text) - len(text.lstrip())
    last = len(text.rstrip())
    offset = utf16_col_of_byte(raw, lead)
    return offset + utf16_col_of_char(text, first), offset + utf16_col_of_char(text, last)


def _validate(body: bytes, lead: int, line: int, rules: LineRules, problems: list[Problem]) -> LineVerdict:
    text = body.decode("utf-8")
    big = BIG_INT.search(body) is not None
    # msgspec keeps integers beyond 64 bits exact, but nests on the Python stack: use it only for those,
    # and only as deep as it goes on any thread's stack (deeper, readers would get a rounded number)
    depth = nesting_depth(body) if big else 0
    if depth > BIG_INT_DEPTH:
        problems.append(make_problem("ASTRA001", line, 0, utf16_col_of_char(text, len(text)),
                                     f"malformed JSON: nested {depth} levels deep with integers beyond 64 bits; "
                                     f"astra-ls reads those exactly only up to {BIG_INT_DEPTH} levels"))
        return LineVerdict(BAD, problems=problems)
    event: dict[str, Any] = msgspec.json.decode(body) if big else orjson.loads(body)
    offset = 1 if lead else 0  # a BOM is one UTF-16 unit
    _check_big_ints(body, event, text, offset, line, problems)
    kind_name = field_value(event, rules.type_field)
    type_name = kind_name if isinstance(kind_name, str) else None
    timestamp = time_ms(field_value(event, rules.time_field), rules.time_format)
    ident = id_key(field_value(event, rules.id_field))
    if event.get("type") == SNAPSHOT_TYPE:  # compaction writes its records with a top-level type
        return _snapshot(event, text, offset, line, problems, timestamp)
    issues = rules.schema.validate(event)
    if not issues:
        return LineVerdict(EVENT, type_name, timestamp, ident, problems, event)
    problems.extend(_issue_problem(issue, text, offset, line) for issue in issues)
    return LineVerdict(BAD, type_name, timestamp, ident, problems, event)


def _check_big_ints(body: bytes, event: Any, text: str, offset: int, line: int,
                    problems: list[Problem]) -> None:
    if not BIG_INT.search(body):
        return
    for path, value in _walk(event, ()):
        if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= UINT64_MAX:
            span = locate(text, path)
            start, end = _span_cols(text, offset, span.value.start, span.value.end) if span else (0, 1)
            problems.append(make_problem(
                "ASTRA036", line, start, end,
                f"integer at '{_shown_path(path)}' is outside the 64-bit range: JavaScript and most "
                "JSON readers lose its precision; store it as a string"))


def _shown_path(path: tuple[str | int, ...]) -> str:
    """A dotted path, its middle elided when it is long (a path is as deep as the line nests)."""
    if len(path) <= 12:
        return ".".join(map(str, path))
    return f"{'.'.join(map(str, path[:4]))}.….{'.'.join(map(str, path[-4:]))} ({len(path)} levels)"


def _walk(value: Any, path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], Any]]:
    found: list[tuple[tuple[str | int, ...], Any]] = []
    stack = [(path, value)]
    while stack:
        here, node = stack.pop()
        if isinstance(node, dict):
            stack.extend(((*here, k), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*here, i), v) for i, v in enumerate(node))
        else:
            found.append((here, node))
    return found


def _snapshot(event: dict[str, Any], text: str, offset: int, line: int, problems: list[Problem],
              timestamp: float) -> LineVerdict:
    """A compaction snapshot, checked strictly: counts and replays trust what it says it covers."""
    wrong = _snapshot_faults(event)
    if wrong:
        start, end = _span_cols(text, offset, 0, len(text))
        problems.append(make_problem("ASTRA039", line, start, end,
                                     f"invalid snapshot record ({'; '.join(wrong)}): not counted and not "
                                     "replayed; quarantine it and restore the archive it names"))
        return LineVerdict(BAD, SNAPSHOT_TYPE, timestamp, NO_ID, problems)
    return LineVerdict(SNAPSHOT, SNAPSHOT_TYPE, timestamp, NO_ID, problems, event)


def _snapshot_faults(event: dict[str, Any]) -> list[str]:
    def count(value: Any) -> bool:
        return type(value) is int and value >= 0

    wrong = []
    if not isinstance(event.get("state"), dict):
        wrong.append("'state' must be an object")
    if not isinstance(event.get("projector"), str) or not event["projector"]:
        wrong.append("'projector' must name the projector that made it")
    events, by_type = event.get("events"), event.get("byType")
    if not count(events):
        wrong.append("'events' must be a count (an integer >= 0)")
    if not isinstance(by_type, dict) or not all(count(v) for v in by_type.values()):
        wrong.append("'byType' must map each type to a count (an integer >= 0)")
    elif count(events) and sum(by_type.values()) != events:
        wrong.append(f"'byType' adds up to {sum(by_type.values())}, not to 'events' ({events})")
    return wrong


def _issue_problem(issue: SchemaIssue, text: str, offset: int, line: int) -> Problem:
    code = "ASTRA011" if issue.kind == "unknown_type" else "ASTRA010"
    start, end = _issue_cols(issue, text, offset)
    data: dict[str, Any] = {"path": issue.dotted, "kind": issue.kind}
    if issue.expected:
        data["expected"] = issue.expected
    if issue.suggestion:
        data["suggestion"] = issue.suggestion
    message = issue.message + (f" (expected {issue.expected})" if issue.expected and issue.kind == "invalid"
                               and "expected" not in issue.message and issue.expected not in issue.message else "")
    return make_problem(code, line, start, end, message, data=data)


def _issue_cols(issue: SchemaIssue, text: str, offset: int) -> tuple[int, int]:
    """Point at the value for wrong values, at the key for unexpected keys, at the parent for missing ones."""
    path = issue.path[:-1] if issue.kind == "missing" else issue.path
    span = locate(text, path)
    while span is None and path:
        path = path[:-1]
        span = locate(text, path)
    if span is None:
        return _span_cols(text, offset, 0, len(text))
    target = span.key if issue.kind == "extra" and span.key else span.value
    if issue.kind == "missing" and path == ():
        first = len(text) - len(text.lstrip())
        return _span_cols(text, offset, first, first + 1)
    return _span_cols(text, offset, target.start, target.end)


def _span_cols(text: str, offset: int, start: int, end: int) -> tuple[int, int]:
    return offset + utf16_col_of_char(text, start), offset + utf16_col_of_char(text, end)
