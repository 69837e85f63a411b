"""A problem found in a store: where it is (UTF-16 columns, as editors count), what, and how bad."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from astra_ls.core.codes import CODES, Severity


@dataclass(frozen=True, slots=True)
class Related:
    """Another line involved in a problem (the first duplicate, the previous timestamp)."""

    line: int  # 0-based
    start: int
    end: int
    message: str


@dataclass(frozen=True, slots=True)
class Problem:
    line: int  # 0-based line index
    start: int  # UTF-16 column, inclusive
    end: int  # UTF-16 column, exclusive
    code: str
    message: str
    severity: Severity
    end_line: int = -1  # -1: same line
    related: tuple[Related, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def last_line(self) -> int:
        return self.line if self.end_line < 0 else self.end_line

    def shifted(self, delta: int) -> Problem:
        moved = tuple(replace(r, line=r.line + delta) for r in self.related)
        end_line = self.end_line + delta if self.end_line >= 0 else -1
        return replace(self, line=self.line + delta, end_line=end_line, related=moved)

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON shape: 1-based lines and columns."""
        return {
            "line": self.line + 1,
            "column": self.start + 1,
            "endLine": self.last_line + 1,
            "endColumn": self.end + 1,
            "severity": self.severity.label,
            "code": self.code,
            "message": self.message,
            "related": [
                {"line": r.line + 1, "column": r.start + 1, "endColumn": r.end + 1, "message": r.message}
                for r in self.related
            ],
        }


def make_problem(
    code: str,
    line: int,
    start: int,
    end: int,
    message: str,
    *,
    related: tuple[Related, ...] = (),
    data: dict[str, Any] | None = None,
) -> Problem:
    """A problem at its code's default severity; the configuration may re-rate it later."""
    return Problem(
        line=line,
        start=start,
        end=max(end, start),
        code=code,
        message=message,
        severity=CODES[code].severity,
        related=related,
        data=data or {},
    )
