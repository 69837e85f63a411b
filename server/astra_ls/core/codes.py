"""Stable problem codes: part of the public interface, CI configurations ignore them by name."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

# The project's home: the one place help links (editor hovers, SARIF rules) are built from; pyproject's
# [project.urls] Repository says the same (a test holds them together).
REPOSITORY_URL = "https://github.com/astra-ls/astra-ls"
README_URL = f"{REPOSITORY_URL}/blob/main/README.md"


class Severity(IntEnum):
    """LSP's numbering, so the server can pass it through unchanged."""

    ERROR = 1
    WARNING = 2
    INFORMATION = 3
    HINT = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}: use error, warning, information or hint") from None


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    title: str
    severity: Severity
    malformed: bool = False  # the line is not JSON at all, so it cannot be an event

    @property
    def anchor(self) -> str:
        return self.code.lower()

    @property
    def url(self) -> str:
        return f"{README_URL}#{self.anchor}"


_E, _W, _I, _H = Severity.ERROR, Severity.WARNING, Severity.INFORMATION, Severity.HINT

CODES: dict[str, CodeInfo] = {
    info.code: info
    for info in (
        CodeInfo("ASTRA001", "malformed JSON", _E, malformed=True),
        CodeInfo("ASTRA002", "valid JSON but not an object", _E),
        CodeInfo("ASTRA003", "invalid UTF-8", _E, malformed=True),
        CodeInfo("ASTRA004", "file not in UTF-8", _E),
        CodeInfo("ASTRA010", "schema violation", _E),
        CodeInfo("ASTRA011", "unknown event type", _E),
        CodeInfo("ASTRA012", "no event type the schema knows", _E),
        CodeInfo("ASTRA020", "duplicate event id", _E),
        CodeInfo("ASTRA021", "timestamp goes backwards", _W),
        CodeInfo("ASTRA030", "byte-order mark", _W),
        CodeInfo("ASTRA031", "CRLF line ending", _W),
        CodeInfo("ASTRA032", "blank line", _H),
        CodeInfo("ASTRA033", "missing final newline", _W),
        CodeInfo("ASTRA034", "oversized line", _E),
        CodeInfo("ASTRA035", "NUL byte", _E, malformed=True),
        CodeInfo("ASTRA036", "integer beyond 64 bits", _W),
        CodeInfo("ASTRA037", "bare carriage return", _E),
        CodeInfo("ASTRA038", "more problems than shown", _I),
        CodeInfo("ASTRA039", "invalid snapshot record", _E),
        CodeInfo("ASTRA040", "configuration problem", _E),
        CodeInfo("ASTRA041", "workspace code not imported", _W),
    )
}
