"""`EventStore`: what the engine and both front ends need of a backend, and nothing about where it keeps events.

A backend holds named streams of JSONL events. It keeps each stream's bytes in one local file the engine
analyses by byte ranges (the file store: the stream's own file; the JetStream store: a mirror), tells
by a stamp whether those bytes changed, takes the stream's cross-process lock, and appends one validated
event durably. Two backends implement it, each by composing a `StreamAnalyses` with its own storage:
`FileEventStore` (store/file_store.py) and `RemoteStore` (remote/store.py); neither inherits the other,
and tests/conformance runs one suite against both.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from astra_ls.config import ConfigError, WorkspaceConfig
from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.core.problems import Problem
from astra_ls.projections.replay import Replayer
from astra_ls.store.analyses import StreamAnalyses, StreamSetup
from astra_ls.store.follow import Change, FileStamp
from astra_ls.store.paths import PathRefused
from astra_ls.store.results import AppendResult, Refused, StoreError, os_error_code


class EventStore(Protocol):
    config: WorkspaceConfig
    analyses: StreamAnalyses

    @property
    def remote_name(self) -> str | None:
        """The remote's name for stores whose events live on a server (read-only for rewriting commands)."""

    # --- names ---
    def streams(self) -> list[str]:
        """Names of the streams this store holds."""

    def resolve(self, ref: str) -> str:
        """The stream a name, path or URI refers to; PathRefused when it points elsewhere."""

    def path_of(self, stream: str) -> Path:
        """The local file holding the stream's bytes as the engine analyses them."""

    def uri_of(self, stream: str) -> str:
        """How clients name the stream."""

    # --- stamps and byte ranges ---
    def refresh(self, stream: str) -> Change:
        """Bring the stream's local bytes (and their analysis) up to date with the store."""

    def stamp(self, stream: str) -> FileStamp | None:
        """The version of the stream's bytes last analysed; None when it has none (no such stream)."""

    def reader(self, stream: str) -> ReadRange:
        """Raw access to the stream's bytes, by the offsets of its analysis."""

    # --- the engine's view (each backend delegates to its `analyses`) ---
    def setup(self, stream: str) -> StreamSetup:
        """The stream's schema, projector and check rules."""

    def analysis(self, stream: str) -> StoreAnalysis:
        """The stream's analysis (every line accounted for), brought up to date; STORE_NOT_FOUND if none."""

    def problems(self, stream: str) -> list[Problem]:
        """The stream's problems after configuration (ignored codes, severities)."""

    def replayer(self, stream: str) -> Replayer:
        """The stream's projection replayer (its checkpoints)."""

    # --- appends and locks ---
    def lock(self, stream: str) -> AbstractContextManager[None]:
        """The stream's cross-process lock: what holds it sees the stream's bytes stand still."""

    def append(self, stream: str, event: Any, expected_count: int | None = None) -> AppendResult:
        """Validate, then append one event durably; ordinary failures are answered, never raised."""

    def close(self) -> None:
        """Let go of connections and threads."""


def refusal(stream: str, error: Exception) -> Refused | None:
    """The answer for an append that failed with `error`; None for errors that are not ordinary."""
    if isinstance(error, StoreError):
        return error.refused
    if isinstance(error, PathRefused):
        return Refused("PATH_REFUSED", str(error))
    if isinstance(error, ConfigError):
        return Refused("CONFIG_ERROR", str(error))
    if isinstance(error, OSError):
        return Refused(os_error_code(error), f"cannot append to {stream}: {error.strerror or error}",
                       {"errno": error.errno})
    return None
