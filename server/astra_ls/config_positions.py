"""Where a key sits in a TOML file, so a configuration problem points at the line and column at fault.

`tomllib` answers values without positions; this reads the text line by line and follows table headers
(`[a.b]`, `[[a.b]]` with their running index) and `key = value` lines. Keys inside inline tables or
multi-line values are not seen: a problem there points at the key that holds them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from astra_ls.core.positions import utf16_col_of_char

KeyPath = tuple[str | int, ...]

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\[\]]+?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")
_PART = re.compile(r"""[A-Za-z0-9_-]+|"([^"]*)"|'([^']*)'""")
_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True, slots=True)
class Spot:
    line: int  # 0-based
    start: int  # UTF-16 columns
    end: int


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(m[1] if m[1] is not None else m[2] if m[2] is not None else m[0] for m in _PART.finditer(dotted))


def key_spots(text: str) -> dict[KeyPath, Spot]:
    """Every table and key the text declares, by its full path (array tables by their index)."""
    spots: dict[KeyPath, Spot] = {}
    table: KeyPath = ()
    counts: dict[KeyPath, int] = {}
    for number, line in enumerate(text.splitlines()):
        if (match := _ARRAY_HEADER.match(line)) is not None:
            name = _parts(match[1])
            index = counts.get(name, 0)
            counts[name] = index + 1
            table = (*name, index)
        elif (match := _TABLE_HEADER.match(line)) is not None:
            table = _parts(match[1])
        elif (match := _KEY.match(line)) is not None:
            path = (*table, *_parts(match[1]))
            start = len(line) - len(line.lstrip())
            spots.setdefault(path, Spot(number, utf16_col_of_char(line, start), utf16_col_of_char(line, match.end(1))))
            continue
        else:
            continue
        start = len(line) - len(line.lstrip())
        spots.setdefault(table, Spot(number, utf16_col_of_char(line, start),
                                     utf16_col_of_char(line, len(line.rstrip()))))
    return spots


def spot_of(spots: dict[KeyPath, Spot], path: KeyPath) -> Spot:
    """The key at `path`, else the nearest enclosing one that is written out, else the file's start."""
    for length in range(len(path), 0, -1):
        found = spots.get(path[:length])
        if found is not None:
            return found
    return Spot(0, 0, 0)


def syntax_error_spot(message: str, text: str) -> tuple[Spot, str]:
    """Where tomllib says the TOML broke, and its message without the position."""
    match = _POSITION.search(message)
    if match is None:
        return Spot(0, 0, 0), message
    line, column = int(match[1]) - 1, int(match[2]) - 1
    lines = text.splitlines()
    here = lines[line] if line < len(lines) else ""
    col = utf16_col_of_char(here, min(column, len(here)))
    return Spot(line, col, col + 1), _POSITION.sub("", message).strip()
