"""Field conditions of a query: `PATH OP VALUE`, parsed from text the same way for the CLI and the editor.

PATH is dot-separated keys; a key holding dots or operator characters is written as a JSON string
(`metadata.annotations."authorization.k8s.io/decision"`); a key of digits also indexes a list. OP is one
of `=`, `!=`, `<`, `<=`, `>`, `>=`, `exists`, `in`. VALUE is a JSON value, or else the plain text; for
`in` a JSON array or comma-separated items. `=` compares JSON values (a boolean never equals a number);
`!=` is its negation, so it also matches events without the field; the orderings compare two numbers or
two strings, and never match otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from astra_ls.store.results import InvalidArguments

MISSING = object()
OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
WORDS = ("exists", "in")
MAX_EXPRESSION = 4096  # characters: a condition is typed, not generated
_STOP = set('."=!<> \t')


@dataclass(frozen=True, slots=True)
class Condition:
    path: tuple[str, ...]
    op: str
    value: Any = None

    def matches(self, event: Any) -> bool:
        found = lookup(event, self.path)
        if self.op == "exists":
            return found is not MISSING
        if self.op == "!=":
            return found is MISSING or not same(found, self.value)
        if found is MISSING:
            return False
        if self.op == "=":
            return same(found, self.value)
        if self.op == "in":
            return any(same(found, item) for item in self.value)
        return _ORDER[self.op](found, self.value)


def lookup(event: Any, path: tuple[str, ...]) -> Any:
    node = event
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def same(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value, a boolean never a number, containers item by item (with a stack:
    values may nest as deep as the reader allows)."""
    pending = [(a, b)]
    while pending:
        x, y = pending.pop()
        if _kind(x) != _kind(y):
            return False
        if isinstance(x, list):
            if len(x) != len(y):
                return False
            pending.extend(zip(x, y, strict=True))
        elif isinstance(x, dict):
            if x.keys() != y.keys():
                return False
            pending.extend((x[k], y[k]) for k in x)
        elif x != y:
            return False
    return True


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def check(found: Any, value: Any) -> bool:
        kind = _kind(found)
        if kind != _kind(value) or kind not in ("number", "str"):
            return False
        if kind == "number" and (math.isnan(found) or math.isnan(value)):
            return False
        return compare(found, value)

    return check


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": _ordered(lambda a, b: a < b), "<=": _ordered(lambda a, b: a <= b),
    ">": _ordered(lambda a, b: a > b), ">=": _ordered(lambda a, b: a >= b),
}


class _Bad(Exception):
    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.column = column


def parse_condition(text: str) -> Condition:
    """A condition from `PATH OP VALUE`; a mistake is an InvalidArguments pointing at it."""
    if len(text) > MAX_EXPRESSION:
        raise InvalidArguments(f"where: a condition of {len(text):,} characters is longer than {MAX_EXPRESSION:,}")
    try:
        path, at = _path(text, 0)
        return _rest(text, path, at)
    except _Bad as bad:
        caret = " " * bad.column + "^"
        raise InvalidArguments(f"where {text!r}: {bad} (column {bad.column + 1})\n  {text}\n  {caret}") from None


def parse_path(text: str) -> tuple[str, ...]:
    """A field path alone (the keys of the editor's `where` object)."""
    try:
        path, at = _path(text, 0)
        if at != len(text):
            raise _Bad("unexpected text after the field path", at)
        return path
    except _Bad as bad:
        caret = " " * bad.column + "^"
        raise InvalidArguments(f"where key {text!r}: {bad} (column {bad.column + 1})\n  {text}\n  {caret}") from None


def _path(text: str, at: int) -> tuple[tuple[str, ...], int]:
    parts: list[str] = []
    while True:
        at = _skip_spaces(text, at) if not parts else at
        if at < len(text) and text[at] == '"':
            end = _closing_quote(text, at)
            try:
                parts.append(orjson.loads(text[at : end + 1]))
            except orjson.JSONDecodeError:
                raise _Bad("the quoted key is not a valid JSON string", at) from None
            at = end + 1
        else:
            start = at
            while at < len(text) and text[at] not in _STOP:
                at += 1
            if at == start:
                raise _Bad("expected a field name" + (" after '.'" if parts else ""), at)
            parts.append(text[start:at])
        if at < len(text) and text[at] == ".":
            at += 1
            continue
        return tuple(parts), at


def _closing_quote(text: str, at: int) -> int:
    index = at + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == '"':
            return index
        index += 1
    raise _Bad("the quoted key has no closing quote", at)


def _skip_spaces(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t":
        at += 1
    return at


def _rest(text: str, path: tuple[str, ...], at: int) -> Condition:
    at = _skip_spaces(text, at)
    for op in OPERATORS:
        if text.startswith(op, at):
            return Condition(path, op, _value(text[at + len(op) :].strip(), op))
    for word in WORDS:
        end = at + len(word)
        if text.startswith(word, at) and (end == len(text) or text[end] in " \t"):
            if word == "exists":
                if text[end:].strip():
                    raise _Bad("'exists' takes no value", _skip_spaces(text, end))
                return Condition(path, "exists")
            return Condition(path, "in", _items(text[end:].strip(), _skip_spaces(text, end)))
    if at >= len(text):
        raise _Bad("expected an operator after the field path: =, !=, <, <=, >, >=, exists or in", at)
    raise _Bad("expected an operator here: =, !=, <, <=, >, >=, exists or in (quote a key that holds "
               "dots or operator characters: \"a.b\")", at)


def _value(raw: str, op: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw  # plain text: `verb=get`


def _items(raw: str, at: int) -> list[Any]:
    if not raw:
        raise _Bad("'in' needs a list: [1, 2] or a,b", at)
    if raw.startswith("["):
        try:
            items = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise _Bad(f"the list after 'in' is not a JSON array ({error})", at) from None
        if not isinstance(items, list):
            raise _Bad("the value after 'in' is not a list", at)
        return items
    return [_value(item.strip(), "=") for item in raw.split(",")]


def conditions_from(where: dict[str, Any] | list[str]) -> tuple[Condition, ...]:
    """The editor's `where`: an object of path -> value (equality), or a list of `PATH OP VALUE` texts."""
    if isinstance(where, dict):
        return tuple(Condition(parse_path(key), "=", value) for key, value in where.items())
    return tuple(parse_condition(text) for text in where)
