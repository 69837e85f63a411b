"""Result rows, verdicts and the printed table."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

PASS, MISS, INFO, NA = "PASS", "MISS", "info", "n/a"


@dataclass
class Row:
    """One line of the table. `ratio` is the figure divided by its target's reference, if any."""

    target: str  # "1", "1*" (stretch), ... or "-" for context figures
    name: str
    figure: str
    goal: str = ""
    ratio: float | None = None
    status: str = INFO
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.ratio is not None and not math.isfinite(self.ratio):
            data["ratio"] = None
        return data


def at_most(ratio: float, limit: float) -> str:
    return PASS if math.isfinite(ratio) and ratio <= limit else MISS


def at_least(ratio: float, limit: float) -> str:
    return PASS if math.isfinite(ratio) and ratio >= limit else MISS


def verdict_row(target: str, name: str, figure: str, goal: str, ratio: float, limit: float,
                **detail: Any) -> Row:
    """A row that passes when ratio <= limit (lower is better)."""
    return Row(target, name, figure, goal, ratio, at_most(ratio, limit), dict(detail))


def floor_row(target: str, name: str, figure: str, goal: str, ratio: float, limit: float,
              **detail: Any) -> Row:
    """A row that passes when ratio >= limit (higher is better, e.g. throughput)."""
    return Row(target, name, figure, goal, ratio, at_least(ratio, limit), dict(detail))


def not_available(target: str, name: str, reason: str, goal: str = "") -> Row:
    return Row(target, name, f"n/a ({reason})", goal, None, NA)


def seconds(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def megabytes(value: float) -> str:
    return f"{value / 1e6:.1f} MB"


def format_ratio(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.3f}x"


def clip(text: str, width: int = 80) -> str:
    # Long error texts stay whole in latest.json; the table keeps one readable line per row.
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(rows: list[Row]) -> str:
    headers = ("#", "measurement", "figure", "target", "ratio", "result")
    cells = [(r.target, r.name, clip(r.figure), r.goal, format_ratio(r.ratio), r.status) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), line]
    out.extend("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)) for cell in cells)
    return "\n".join(out)


def summary(rows: list[Row]) -> str:
    counts = {status: sum(1 for r in rows if r.status == status) for status in (PASS, MISS, NA)}
    return f"{counts[PASS]} PASS, {counts[MISS]} MISS, {counts[NA]} n/a"
