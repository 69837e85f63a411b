"""Engine problems as LSP diagnostics, pushed or pulled: one conversion feeds both transports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
from lsprotocol import types as lsp
from lsprotocol.converters import get_converter

from astra_ls.core.codes import CODES
from astra_ls.core.problems import Problem, make_problem

SOURCE = "astra"
MORE_CODE = "ASTRA038"


def to_range(line: int, start: int, end_line: int, end: int) -> lsp.Range:
    return lsp.Range(lsp.Position(line, start), lsp.Position(end_line, end))


def to_diagnostic(uri: str, problem: Problem) -> lsp.Diagnostic:
    related = [
        lsp.DiagnosticRelatedInformation(lsp.Location(uri, to_range(r.line, r.start, r.line, r.end)), r.message)
        for r in problem.related
    ]
    return lsp.Diagnostic(
        range=to_range(problem.line, problem.start, problem.last_line, problem.end),
        message=problem.message,
        severity=lsp.DiagnosticSeverity(int(problem.severity)),
        code=problem.code,
        code_description=lsp.CodeDescription(href=CODES[problem.code].url),
        source=SOURCE,
        related_information=related or None,
        tags=[lsp.DiagnosticTag.Unnecessary] if problem.code == "ASTRA032" else None,
        # What a quick fix needs without re-reading the store.
        data={"code": problem.code, "line": problem.line, **problem.data},
    )


def to_diagnostics(uri: str, problems: list[Problem], limit: int) -> list[lsp.Diagnostic]:
    """At most `limit` diagnostics, plus one that says how many more there are."""
    summary = _summary(problems, limit)
    return [to_diagnostic(uri, p) for p in problems[:limit]] + ([to_diagnostic(uri, summary)] if summary else [])


def _summary(problems: list[Problem], limit: int) -> Problem | None:
    hidden = len(problems) - limit
    if hidden <= 0:
        return None
    return make_problem(
        MORE_CODE, problems[limit].line, 0, 0,
        f"{hidden:,} more problems in this file are not shown (max_problems_per_file = {limit:,}); "
        "run `astra-ls check` to list them all, or quarantine the malformed lines",
        data={"hidden": hidden})


@dataclass(frozen=True, slots=True)
class Converted:
    diagnostic: lsp.Diagnostic
    json: str  # the diagnostic as JSON text, as it goes over the wire


class DiagnosticCache:
    """Each problem is converted and serialised once while it stays among its URI's problems.

    The engine hands back the same problem objects for lines an append or an edit did not touch, so a
    change that adds one problem to a thousand converts one instead of a thousand."""

    def __init__(self) -> None:
        self._by_uri: dict[str, dict[int, tuple[Problem, Converted]]] = {}
        self._converter = get_converter()

    def convert(self, uri: str, problems: list[Problem], limit: int) -> list[Converted]:
        old = self._by_uri.get(uri, {})
        kept: dict[int, tuple[Problem, Converted]] = {}
        shown: list[Converted] = []
        for problem in problems[:limit]:
            hit = old.get(id(problem))
            if hit is None or hit[0] is not problem:  # ids are reused once an object is gone
                hit = (problem, self._one(uri, problem))
            kept[id(problem)] = hit
            shown.append(hit[1])
        self._by_uri[uri] = kept
        summary = _summary(problems, limit)
        return shown + ([self._one(uri, summary)] if summary else [])

    def _one(self, uri: str, problem: Problem) -> Converted:
        diagnostic = to_diagnostic(uri, problem)
        return Converted(diagnostic, orjson.dumps(self._converter.unstructure(diagnostic)).decode())

    def forget(self, uri: str) -> None:
        self._by_uri.pop(uri, None)


def publish_params_json(uri: str, converted: list[Converted]) -> str:
    """`textDocument/publishDiagnostics` params, joined from the cached pieces."""
    return f'{{"uri":{json.dumps(uri)},"diagnostics":[{",".join(c.json for c in converted)}]}}'


class DiagnosticReports:
    """The latest diagnostics per URI, with a result id so unchanged pulls cost nothing."""

    def __init__(self) -> None:
        self._latest: dict[str, tuple[str, list[lsp.Diagnostic]]] = {}
        self._serial = 0

    def store(self, uri: str, diagnostics: list[lsp.Diagnostic]) -> None:
        self._serial += 1
        self._latest[uri] = (str(self._serial), diagnostics)

    def forget(self, uri: str) -> None:
        self._latest.pop(uri, None)

    def report(self, uri: str, previous: str | None) -> lsp.DocumentDiagnosticReport:
        result_id, diagnostics = self._latest.get(uri, ("0", []))
        if previous is not None and previous == result_id:
            return lsp.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
        return lsp.RelatedFullDocumentDiagnosticReport(items=diagnostics, result_id=result_id)


def counts_payload(uri: str, events: int, problems: int) -> dict[str, Any]:
    """The `astra/storeChanged` notification's payload."""
    return {"uri": uri, "events": events, "problems": problems}
