"""`astra-ls check --format sarif|github|junit`: the same problems in the shapes CI systems read.

- SARIF 2.1.0 (code scanning): one rule per problem code with its help link and default level; regions
  with 1-based lines and UTF-16 columns (declared as the run's `columnKind`), as the editor counts them.
- GitHub workflow commands (`::error file=…,line=…::message`): annotations on the pull request's diff.
- JUnit XML (Ant's schema): one testsuite per store; a testcase per problem, failing for errors; a store
  without problems is one passing testcase.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

from astra_ls import __version__
from astra_ls.cli.checking import FileReport
from astra_ls.core.codes import CODES, REPOSITORY_URL, Severity
from astra_ls.core.problems import Problem

SARIF_SCHEMA = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
_SARIF_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning",
                 Severity.INFORMATION: "note", Severity.HINT: "note"}
_GITHUB_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning",
                    Severity.INFORMATION: "notice", Severity.HINT: "notice"}


def relative_path(path: Path, base: Path) -> str | None:
    """`path` relative to `base` with forward slashes, or None when it is not under `base`."""
    try:
        return path.absolute().relative_to(base.absolute()).as_posix()
    except ValueError:
        return None


def shown_path(path: Path, base: Path) -> str:
    relative = relative_path(path, base)
    return relative if relative is not None else path.absolute().as_posix()


# --- SARIF ------------------------------------------------------------------------------------------


def sarif(reports: list[FileReport], base: Path) -> dict[str, Any]:
    """A SARIF 2.1.0 log of one run; paths under `base` (the checkout) are relative to `%SRCROOT%`."""
    rule_index = {code: index for index, code in enumerate(CODES)}
    artifacts = [{"location": _artifact_location(r.path, base), "properties": {"events": r.events}}
                 for r in reports]
    results = [_sarif_result(problem, index, report.path, base, rule_index)
               for index, report in enumerate(reports) for problem in report.problems]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "astra-ls",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": REPOSITORY_URL,
                "rules": [_sarif_rule(code) for code in CODES],
            }},
            "originalUriBaseIds": {SRCROOT: {"uri": base.absolute().as_uri().rstrip("/") + "/"}},
            "columnKind": "utf16CodeUnits",
            "artifacts": artifacts,
            "invocations": [{"executionSuccessful": True}],
            "results": results,
        }],
    }


def _sarif_rule(code: str) -> dict[str, Any]:
    info = CODES[code]
    return {
        "id": code,
        "name": "".join(word.capitalize() for word in re.findall(r"[A-Za-z0-9]+", info.title)),
        "shortDescription": {"text": info.title},
        "helpUri": info.url,
        "help": {"text": f"{code} {info.title}: see {info.url}"},
        "defaultConfiguration": {"level": _SARIF_LEVELS[info.severity]},
    }


def _artifact_location(path: Path, base: Path) -> dict[str, Any]:
    relative = relative_path(path, base)
    if relative is None:
        return {"uri": path.absolute().as_uri()}
    return {"uri": quote(relative), "uriBaseId": SRCROOT}


def _region(line: int, start: int, end: int, end_line: int | None = None) -> dict[str, int]:
    """SARIF regions: 1-based lines and columns; endColumn is the column just past the region."""
    region = {"startLine": line + 1, "startColumn": start + 1}
    if end_line is not None and end_line != line:
        region["endLine"] = end_line + 1
    region["endColumn"] = end + 1
    return region


def _sarif_result(problem: Problem, artifact: int, path: Path, base: Path,
                  rule_index: dict[str, int]) -> dict[str, Any]:
    location = {**_artifact_location(path, base), "index": artifact}
    result: dict[str, Any] = {
        "ruleId": problem.code,
        "ruleIndex": rule_index[problem.code],
        "level": _SARIF_LEVELS[problem.severity],
        "message": {"text": problem.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": location,
            "region": _region(problem.line, problem.start, problem.end, problem.last_line),
        }}],
    }
    if problem.related:
        result["relatedLocations"] = [
            {"id": number, "message": {"text": related.message},
             "physicalLocation": {"artifactLocation": location,
                                  "region": _region(related.line, related.start, related.end)}}
            for number, related in enumerate(problem.related, 1)
        ]
    return result


# --- GitHub workflow commands -----------------------------------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(reports: list[FileReport], base: Path) -> Iterator[str]:
    """One `::error|warning|notice file=…,line=…,col=…,endLine=…,endColumn=…,title=CODE::message` per
    problem. Columns are given only for one-line ranges (GitHub ignores them across lines)."""
    for report in reports:
        file = _escape_property(shown_path(report.path, base))
        for problem in report.problems:
            where = f"file={file},line={problem.line + 1}"
            if problem.last_line == problem.line:
                where += f",col={problem.start + 1},endLine={problem.line + 1},endColumn={problem.end + 1}"
            else:
                where += f",endLine={problem.last_line + 1}"
            yield (f"::{_GITHUB_COMMANDS[problem.severity]} {where},title={_escape_property(problem.code)}"
                   f"::{_escape_data(problem.message)}")


# --- JUnit XML --------------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all (a message may quote a control character from a line).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def junit(reports: list[FileReport], seconds: list[float], base: Path) -> bytes:
    """JUnit XML valid against Ant's JUnit schema: a testsuite per store, a testcase per problem (a
    `failure` when it has error severity), or one passing testcase for a store without problems."""
    root = ElementTree.Element("testsuites")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    host = _xml_text(socket.gethostname() or "localhost") or "localhost"
    for index, (report, took) in enumerate(zip(reports, seconds, strict=True)):
        name = _xml_text(shown_path(report.path, base))
        failures = sum(p.severity is Severity.ERROR for p in report.problems)
        suite = ElementTree.SubElement(root, "testsuite", {
            "name": name, "package": "astra-ls", "id": str(index), "timestamp": stamp, "hostname": host,
            "tests": str(max(1, len(report.problems))), "failures": str(failures), "errors": "0",
            "skipped": "0", "time": f"{took:.3f}",
        })
        properties = ElementTree.SubElement(suite, "properties")
        ElementTree.SubElement(properties, "property", {"name": "events", "value": str(report.events)})
        if not report.problems:
            ElementTree.SubElement(suite, "testcase", {"name": "no problems", "classname": name,
                                                       "time": f"{took:.3f}"})
        for problem in report.problems:
            title = CODES[problem.code].title
            case = ElementTree.SubElement(suite, "testcase", {
                "name": f"line {problem.line + 1} col {problem.start + 1}: {problem.code} {title} "
                        f"[{problem.severity.label}]",
                "classname": name, "time": "0"})
            if problem.severity is Severity.ERROR:
                failure = ElementTree.SubElement(case, "failure",
                                                 {"type": problem.code, "message": _xml_text(problem.message)})
                failure.text = _xml_text(f"{name}:{problem.line + 1}:{problem.start + 1}: {problem.code} "
                                         f"[{problem.severity.label}] {problem.message}\n{CODES[problem.code].url}")
        ElementTree.SubElement(suite, "system-out").text = ""
        ElementTree.SubElement(suite, "system-err").text = ""
    ElementTree.indent(root)
    document: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
