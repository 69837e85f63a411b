"""One summary instead of an error per line when a store's schema knows none of its event types.

A log of another kind (an agent transcript under a name that implies the agent family, or the wrong
schema configured) would otherwise get one ASTRA011 per line, which says nothing the first one did not.
"""

from __future__ import annotations

import re
from collections import Counter

from astra_ls.core.problems import Problem, make_problem

SUMMARY_CODE = "ASTRA012"
SUMMARY_FROM = 3  # unknown-type lines from which a store that has no valid event gets the summary
_NAMED = re.compile(r"unknown event type '((?:[^'\\]|\\.)*)'")


def summarise_unknown_types(problems: list[Problem], events: int, schema: str) -> list[Problem]:
    """`problems` with every ASTRA011 folded into one ASTRA012 when no line is a valid event."""
    unknown = [p for p in problems if p.code == "ASTRA011"]
    if events or len(unknown) < SUMMARY_FROM:
        return problems
    types = Counter(m[1] if (m := _NAMED.search(p.message)) else "?" for p in unknown)
    shown = ", ".join(f"{name}: {count:,}" for name, count in types.most_common(8))
    more = f" and {len(types) - 8:,} more" if len(types) > 8 else ""
    first = unknown[0]
    summary = make_problem(
        SUMMARY_CODE, first.line, first.start, first.end,
        f"none of the {len(unknown):,} lines has an event type the {schema} schema knows ({shown}{more}): "
        "is it the right schema? Set `schema` for this store in astra-ls.toml ([[stores]]; \"generic\" "
        "accepts any object)", data={"types": dict(types), "lines": len(unknown)})
    kept = [p for p in problems if p.code != "ASTRA011"]
    at = next((i for i, p in enumerate(kept) if (p.line, p.start) > (first.line, first.start)), len(kept))
    return [*kept[:at], summary, *kept[at:]]
