"""Helpers for engine tests: real workspaces in tmp_path, and analyses of in-memory bytes."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from astra_ls.config import WorkspaceConfig
from astra_ls.core import parallel
from astra_ls.core.analysis import AnalysisRules, StoreAnalysis
from astra_ls.core.blocks import iter_blocks
from astra_ls.core.linecheck import LineRules
from astra_ls.core.problems import Problem
from astra_ls.schemas.families import builtin_schema
from astra_ls.store.file_store import FileEventStore


def utf16(text: str) -> int:
    """UTF-16 code units in `text`, counted independently of the engine."""
    return len(text.encode("utf-16-le")) // 2


def rules_for(family: str = "generic", *, unique_ids: bool = True, ordered: bool = True,
              max_line_bytes: int = 8 * 1024 * 1024) -> AnalysisRules:
    return AnalysisRules(LineRules(builtin_schema(family), max_line_bytes), unique_ids, ordered)


def analyse(data: bytes, family: str = "generic", **options: Any) -> StoreAnalysis:
    """A fresh full analysis of `data`, as if it were a store file."""
    analysis = StoreAnalysis(rules_for(family, **options))
    analysis.feed(iter_blocks(io.BytesIO(data), 0, analysis.rules.line.max_line_bytes))
    analysis.finish_full_scan()
    return analysis


def reader(data: bytes) -> Callable[[int, int], bytes]:
    return lambda offset, length: data[offset : offset + length]


def problems_of(data: bytes, family: str = "generic", **options: Any) -> list[Problem]:
    return analyse(data, family, **options).problems(reader(data))


def codes_by_line(problems: Iterable[Problem]) -> dict[int, list[str]]:
    """1-based line -> codes on it."""
    found: dict[int, list[str]] = {}
    for problem in problems:
        found.setdefault(problem.line + 1, []).append(problem.code)
    return found


def snapshot(analysis: StoreAnalysis, data: bytes) -> dict[str, Any]:
    """Everything observable about an analysis, independent of how it was built."""
    return {
        "lines": analysis.line_count,
        "offsets": list(analysis.offsets),
        "kinds": bytes(analysis.kinds),
        "types": [analysis.types.names[t] for t in analysis.type_ids],
        "size": analysis.size,
        "events": analysis.event_count(),
        "byType": analysis.counts_by_type(),
        "problems": [(p.line, p.start, p.end, p.code, p.message, p.related) for p in analysis.problems(reader(data))],
    }


def jsonl(*events: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(e, ensure_ascii=False).encode() + b"\n" for e in events)


@dataclass
class Workspace:
    root: Path

    @property
    def astra(self) -> Path:
        return self.root / ".astra"

    def path(self, stream: str) -> Path:
        return self.astra / f"{stream}.jsonl"

    def write(self, stream: str, content: bytes | str | list[dict[str, Any]]) -> Path:
        self.astra.mkdir(parents=True, exist_ok=True)
        if isinstance(content, list):
            content = jsonl(*content)
        if isinstance(content, str):
            content = content.encode()
        target = self.path(stream)
        target.write_bytes(content)
        return target

    def read(self, stream: str) -> bytes:
        return self.path(stream).read_bytes()

    def lines(self, stream: str) -> list[bytes]:
        return self.read(stream).splitlines()

    def config(self, toml: str) -> None:
        (self.root / "astra-ls.toml").write_text(toml)

    def store(self, *, trusted: bool = False, config: WorkspaceConfig | None = None) -> FileEventStore:
        return FileEventStore(self.root, config=config, trusted=trusted)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    (root / ".astra").mkdir(parents=True)
    return Workspace(root)


@pytest.fixture
def make_workspace(tmp_path: Path) -> Callable[[str], Workspace]:
    def make(name: str) -> Workspace:
        root = tmp_path / name
        (root / ".astra").mkdir(parents=True)
        return Workspace(root)

    return make


def conversation_events(start: float = 1_700_000_000_000) -> list[dict[str, Any]]:
    """A conversation: a question, a streamed answer, a tool call, a cancelled second answer."""
    t = start
    events: list[dict[str, Any]] = [
        {"type": "ConversationStarted", "id": "c1", "timestamp": t, "userId": "u", "sessionId": "s", "model": "m"},
        {"type": "UserMessageSent", "id": "c2", "timestamp": t + 1, "content": "서울 날씨? 🌦️"},
        {"type": "AssistantStreamStarted", "id": "c3", "timestamp": t + 2, "model": "m", "promptTokens": 3},
        {"type": "AssistantTokenGenerated", "id": "c4", "timestamp": t + 3, "token": "맑고 ", "index": 0},
        {"type": "AssistantTokenGenerated", "id": "c5", "timestamp": t + 4, "token": "☀️", "index": 1},
        {"type": "AssistantStreamCompleted", "id": "c6", "timestamp": t + 5, "totalTokens": 2,
         "finishReason": "stop", "latencyMs": 3},
        {"type": "ToolCallRequested", "id": "c7", "timestamp": t + 6, "toolName": "weather",
         "arguments": {"city": "Seoul"}},
        {"type": "ToolCallCompleted", "id": "c8", "timestamp": t + 7, "toolName": "weather",
         "result": {"tempC": 21}, "durationMs": 1},
        {"type": "ToolCallRequested", "id": "c9", "timestamp": t + 8, "toolName": "maps", "arguments": {}},
        {"type": "UserMessageSent", "id": "c10", "timestamp": t + 9, "content": "more"},
        {"type": "AssistantStreamStarted", "id": "c11", "timestamp": t + 10, "model": "m", "promptTokens": 5},
        {"type": "AssistantTokenGenerated", "id": "c12", "timestamp": t + 11, "token": "Part", "index": 0},
        {"type": "AssistantTokenGenerated", "id": "c13", "timestamp": t + 12, "token": "ial", "index": 1},
        {"type": "GenerationCancelled", "id": "c14", "timestamp": t + 13, "tokensGenerated": 2, "reason": "user"},
    ]
    return events


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stores of a few hundred KB are scanned by four processes, in chunks each claims, as big ones are."""
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 256 * 1024)
    monkeypatch.setattr(parallel, "MIN_CHUNK_BYTES", 32 * 1024)
    monkeypatch.setenv("ASTRA_LS_WORKERS", "4")
