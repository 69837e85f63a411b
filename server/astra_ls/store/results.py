"""Results of store operations: JSON-native, with `ok` telling success from an ordinary failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Refused:
    """An ordinary failure: a stable code, a message a person can act on, and machine details."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    ok: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"ok": False, "code": self.code, "message": self.message, "details": self.details}


@dataclass(frozen=True, slots=True)
class Appended:
    path: str
    line: int  # 1-based line of the new event
    count: int  # events in the stream after the append
    ok: bool = True
    duplicate: bool = False  # the very same event (id and bytes) was there already: nothing was written

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, "path": self.path, "line": self.line, "count": self.count, "duplicate": self.duplicate}


AppendResult = Appended | Refused


class InvalidArguments(Exception):
    """Arguments that do not fit the command; the message says what to fix."""


class StoreError(Exception):
    """An operation that cannot go on; carries the `Refused` to report."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.refused = Refused(code, message, details or {})


def os_error_code(error: OSError) -> str:
    import errno

    if error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return "DISK_FULL"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "READ_ONLY"
    if error.errno == errno.ENOENT:
        return "STORE_NOT_FOUND"
    return "IO_ERROR"
