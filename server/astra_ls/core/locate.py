"""Find where a field's key and value sit inside one line of JSON, to point a diagnostic at them.

Only used for lines that already failed validation, so a small scanner over the parsed-valid text is
enough; it never raises and answers None when the path is not in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(r"[^,\]}\s]+")
_SPACE = re.compile(r"\s*")

PathPart = str | int


@dataclass(frozen=True, slots=True)
class Span:
    start: int  # char offsets in the text
    end: int


@dataclass(frozen=True, slots=True)
class FieldSpan:
    key: Span | None  # None for array items and the root
    value: Span


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_space(self) -> None:
        match = _SPACE.match(self.text, self.pos)
        self.pos = match.end() if match else self.pos

    def value_end(self) -> int:
        """Skip one value starting at pos; return its end."""
        self.skip_space()
        char = self.text[self.pos : self.pos + 1]
        if char == '"':
            match = _STRING.match(self.text, self.pos)
            self.pos = match.end() if match else len(self.text)
        elif char in "{[":
            self._skip_container()
        else:
            match = _SCALAR.match(self.text, self.pos)
            self.pos = match.end() if match else self.pos + 1
        return self.pos

    def _skip_container(self) -> None:
        depth = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '"':
                match = _STRING.match(self.text, self.pos)
                self.pos = match.end() if match else len(self.text)
                continue
            if char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    self.pos += 1
                    return
            self.pos += 1

    def find(self, path: tuple[PathPart, ...]) -> FieldSpan | None:
        self.skip_space()
        start = self.pos
        if not path:
            return FieldSpan(None, Span(start, self.value_end()))
        head, rest = path[0], path[1:]
        char = self.text[self.pos : self.pos + 1]
        if char == "{" and isinstance(head, str):
            return self._find_in_object(head, rest)
        if char == "[" and isinstance(head, int):
            return self._find_in_array(head, rest)
        return None

    def _find_in_object(self, key: str, rest: tuple[PathPart, ...]) -> FieldSpan | None:
        self.pos += 1
        found: FieldSpan | None = None
        while self.pos < len(self.text):
            self.skip_space()
            if self.text.startswith("}", self.pos):
                return found
            match = _STRING.match(self.text, self.pos)
            if not match:
                return found
            key_span = Span(match.start(), match.end())
            self.pos = match.end()
            self.skip_space()
            self.pos += 1  # the colon
            if _unquote(match.group()) == key:
                if rest:
                    return self.find(rest)
                self.skip_space()
                value_start = self.pos
                found = FieldSpan(key_span, Span(value_start, self.value_end()))  # last duplicate wins
            else:
                self.value_end()
            self.skip_space()
            if self.text.startswith(",", self.pos):
                self.pos += 1
        return found

    def _find_in_array(self, index: int, rest: tuple[PathPart, ...]) -> FieldSpan | None:
        self.pos += 1
        current = 0
        while self.pos < len(self.text):
            self.skip_space()
            if self.text.startswith("]", self.pos):
                return None
            if current == index:
                if rest:
                    return self.find(rest)
                start = self.pos
                return FieldSpan(None, Span(start, self.value_end()))
            self.value_end()
            self.skip_space()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            current += 1
        return None


def _unquote(token: str) -> str:
    if "\\" not in token:
        return token[1:-1]
    import json

    try:
        value = json.loads(token)
    except ValueError:
        return token[1:-1]
    return value if isinstance(value, str) else token[1:-1]


def locate(text: str, path: tuple[PathPart, ...]) -> FieldSpan | None:
    """The key and value spans of `path` in the JSON text, or None when it is not there."""
    return _Scanner(text).find(path)
