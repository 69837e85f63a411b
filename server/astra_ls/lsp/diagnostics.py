"""Engine problems as LSP diagnostics, pushed or pulled: one conversion feeds both transports."""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp

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
    shown = [to_diagnostic(uri, p) for p in problems[:limit]]
    hidden = len(problems) - limit
    if hidden > 0:
        first_hidden = problems[limit]
        summary = make_problem(
            MORE_CODE, first_hidden.line, 0, 0,
            f"{hidden:,} more problems in this file are not shown (max_problems_per_file = {limit:,}); "
            "run `astra-ls check` to list them all, or quarantine the malformed lines",
            data={"hidden": hidden})
        shown.append(to_diagnostic(uri, summary))
    return shown


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
