"""The interface every store backend offers; the JSONL files are one backend, others plug in here."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.store.results import AppendResult


class EventStore(ABC):
    @abstractmethod
    def streams(self) -> list[str]:
        """Names of the streams this store holds."""

    @abstractmethod
    def analysis(self, stream: str) -> StoreAnalysis:
        """The stream's current analysis (every line accounted for), brought up to date."""

    @abstractmethod
    def reader(self, stream: str) -> ReadRange:
        """Raw access to the stream's bytes, by the offsets of its analysis."""

    @abstractmethod
    def append(self, stream: str, event: Any, expected_count: int | None = None) -> AppendResult:
        """Validate, then append one event durably; never raises on ordinary failures."""
