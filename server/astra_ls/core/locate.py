"""Find where a field's key and value sit inside one line of JSON, to point a diagnostic at them.

Only used for lines that already failed validation, so a small scanner over the parsed-valid text is
enough; it never raises and answers None when the path is not in the text. No recursion: a line's
nesting depth is the input's to choose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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
        """Descend one path part at a time (a loop: the path is as deep as the line's nesting)."""
        for index, head in enumerate(path):
            self.skip_space()
            char = self.text[self.pos : self.pos + 1]
            last = index == len(path) - 1
            if char == "{" and isinstance(head, str):
                if last:
                    return self._last_in_object(head)
                if not self._enter_object(head):
                    return None
            elif char == "[" and isinstance(head, int):
                if not self._enter_array(head):
                    return None
                if last:
                    return FieldSpan(None, Span(self.pos, self.value_end()))
            else:
                return None
        self.skip_space()
        start = self.pos
        return FieldSpan(None, Span(start, self.value_end()))

    def _members(self) -> Iterator[tuple[Span, str]]:
        """Each member of the object at pos: its key's span and text, with pos at the value's start; the
        caller skips the value (or descends into it)."""
        self.pos += 1
        while self.pos < len(self.text):
            self.skip_space()
            if self.text.startswith("}", self.pos):
                return
            match = _STRING.match(self.text, self.pos)
            if not match:
                return
            self.pos = match.end()
            self.skip_space()
            self.pos += 1  # the colon
            self.skip_space()
            yield Span(match.start(), match.end()), _unquote(match.group())
            self.skip_space()
            if self.text.startswith(",", self.pos):
                self.pos += 1

    def _enter_object(self, key: str) -> bool:
        """Move to the value of the first member named `key`."""
        for _, name in self._members():
            if name == key:
                return True
            self.value_end()
        return False

    def _last_in_object(self, key: str) -> FieldSpan | None:
        found: FieldSpan | None = None
        for key_span, name in self._members():
            start = self.pos
            end = self.value_end()
            if name == key:
                found = FieldSpan(key_span, Span(start, end))  # last duplicate wins
        return found

    def _enter_array(self, index: int) -> bool:
        """Move to the start of item `index`."""
        self.pos += 1
        current = 0
        while self.pos < len(self.text):
            self.skip_space()
            if self.text.startswith("]", self.pos):
                return False
            if current == index:
                return True
            self.value_end()
            self.skip_space()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            current += 1
        return False


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
