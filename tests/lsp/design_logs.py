"""Shared pieces of the tests of the original design's semantics: the CLI as a process, real-looking logs."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def astra(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "astra_ls", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, check=False, input=stdin)


def astra_json(*args: str) -> Any:
    done = astra(*args, "--format", "json")
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


def ms(clock: str) -> int:
    """Epoch ms of a time of day on 2026-03-04 (UTC), e.g. "22:54:00"."""
    return int(datetime.fromisoformat(f"2026-03-04T{clock}+00:00").astimezone(UTC).timestamp() * 1000)


def write_events(root: Path, stream: str, events: list[dict[str, Any]]) -> Path:
    path = root / ".astra" / f"{stream}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    return path


def side_chain_agent_log() -> list[dict[str, Any]]:
    """A coding agent's run written out of time order: the main chain goes on to 22:55:34 before the side
    chain (a sub-agent's grep, started at 22:53:40) is written after it."""
    return [
        {"id": "e1", "type": "TaskReceived", "timestamp": ms("22:53:00"), "taskDescription": "fix the build",
         "constraints": ["no force push"]},
        {"id": "e2", "type": "PlanCreated", "timestamp": ms("22:53:10"), "steps": ["find", "fix", "deploy"],
         "estimatedDuration": 60000},
        {"id": "e3", "type": "StepStarted", "timestamp": ms("22:53:20"), "stepIndex": 0, "description": "find"},
        {"id": "e4", "type": "ToolInvoked", "timestamp": ms("22:55:34"), "tool": "deploy", "input": {"env": "prod"}},
        {"id": "e5", "type": "ToolInvoked", "timestamp": ms("22:53:40"), "tool": "grep", "input": {"q": "error"}},
        {"id": "e6", "type": "ToolResultReceived", "timestamp": ms("22:53:50"), "tool": "grep", "output": "a.py:3",
         "success": True},
        {"id": "e7", "type": "ReplanningTriggered", "timestamp": ms("22:56:00"), "reason": "deploy failed",
         "newSteps": ["rollback"]},
        {"id": "e8", "type": "TaskCompleted", "timestamp": ms("22:57:00"), "result": "ok", "totalSteps": 3,
         "totalDurationMs": 240000},
    ]
