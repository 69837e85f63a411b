"""Deterministic generator of realistic conversation event logs for the benchmark.

`python bench/generate.py --events N --out PATH [--seed S]` writes N lines: about 97% streamed
`AssistantTokenGenerated` events, the rest conversation / message / tool-call / feedback events with
Korean and emoji text, and about 0.1% damaged lines of every kind the engine has to report. The same
seed and size always produce the same bytes, so figures from different runs compare the same input.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

DEFAULT_SEED = 20240605
# 2025-01-01T00:00:00Z: fixed so the output never depends on the wall clock.
START_MS = 1_735_689_600_000
DAMAGE_RATE = 0.001
# Flush the output buffer every this many lines: large writes keep the generator I/O cheap.
CHUNK_LINES = 65_536

Event = dict[str, Any]

# Token pieces mixing English sub-words, Korean syllables, emoji and punctuation, like a
# multilingual model's output stream. Weighted towards short ASCII pieces as real streams are.
ASCII_TOKENS = (
    " the", " of", " and", " to", " in", " is", " that", " for", " it", " with", " as", " on",
    " this", " be", " are", " data", " model", " event", " stream", " value", " result", " query",
    "ing", "ed", "tion", "ly", "er", "s", ".", ",", ":", "\n", " (", ")", " `", "`", " -", " 1",
    " 2", "0", " function", " return", " store", " append", " line", " server", " check",
)
KOREAN_TOKENS = (
    "안녕", "하세요", " 데이터", "를", " 분석", "했습니다", " 결과", "는", " 다음", "과", " 같습니다",
    " 이벤트", " 저장", "소", "에", " 추가", " 확인", "해", " 주세요", " 감사", "합니다", ".",
)
EMOJI_TOKENS = (" 😀", " 🚀", " ✅", " 🔥", " 👍", " 🤔", " 📈", " 🎉", " ⚠️", " 🇰🇷")

USER_PHRASES = (
    "안녕하세요! 이 로그를 분석해 주실 수 있나요?",
    "Can you summarise yesterday's deploy incidents?",
    "데이터 저장소에 이벤트를 추가하는 방법을 알려주세요 🙏",
    "Why did the p95 latency jump after 14:00? 📈",
    "한국어로 답변해 주세요. 결과를 표로 정리해 주시면 좋겠어요 😊",
    "Write a function that merges two sorted lists, with tests ✅",
    "어제 회의 내용을 요약해 주세요 — 특히 결정 사항 위주로 📝",
    "Translate this to Korean: 'the build is green again' 🎉",
    "What does error E1042 mean in the billing service? 🤔",
    "검색 결과에서 중복된 항목을 제거해 주세요 🔍",
)
TOOLS = ("web_search", "sql_query", "read_file", "calendar_lookup", "code_interpreter")
MODELS = ("astra-large-2025-01", "astra-small-2025-01", "astra-code-2024-12")
FINISH_REASONS = ("stop", "stop", "stop", "length", "tool_calls")
CANCEL_REASONS = ("user", "timeout", "error")
FEEDBACK_COMMENTS = (
    "정말 도움이 됐어요 👍", "Too verbose.", "완벽합니다 🎉", "Wrong numbers in the table 😕",
)


@dataclass
class Clock:
    """Non-decreasing epoch-ms clock advanced by realistic gaps."""

    now: int = START_MS

    def tick(self, rng: random.Random, low: int, high: int) -> int:
        self.now += rng.randint(low, high)
        return self.now


@dataclass
class GenState:
    """What the damaging pass needs to know about the lines written so far."""

    rng: random.Random
    clock: Clock = field(default_factory=Clock)
    recent_ids: list[str] = field(default_factory=list)
    id_counter: int = 0


def new_id(state: GenState) -> str:
    # UUID-shaped ids from the seeded generator: realistic width (sizes matter for the benchmark)
    # while staying reproducible, unlike uuid4().
    bits = state.rng.getrandbits(128)
    text = f"{bits:032x}"
    state.id_counter += 1
    ident = f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:]}"
    if state.id_counter % 4096 == 1:
        # Keep a small sample of past ids for the duplicate-id damage without holding all of them.
        state.recent_ids.append(ident)
    return ident


def base(state: GenState, kind: str, timestamp: int) -> Event:
    return {"type": kind, "id": new_id(state), "timestamp": timestamp}


def user_text(rng: random.Random) -> str:
    parts = rng.sample(USER_PHRASES, rng.randint(1, 3))
    return " ".join(parts)


def tool_arguments(rng: random.Random, tool: str) -> Event:
    """Nested tool arguments: objects in objects, arrays, numbers, booleans and null."""
    return {
        "query": rng.choice(USER_PHRASES),
        "tool": tool,
        "filters": {
            "dateRange": {"from": "2024-12-01", "to": "2024-12-31"},
            "tags": rng.sample(["deploy", "billing", "결제", "검색", "incident", "🚀"], 3),
            "limit": rng.randint(5, 100),
        },
        "options": {"caseSensitive": rng.random() < 0.5, "timeoutMs": 5000, "retry": None},
    }


def conversation_start(state: GenState) -> Event:
    event = base(state, "ConversationStarted", state.clock.tick(state.rng, 60_000, 3_600_000))
    event["userId"] = f"user-{state.rng.randint(1, 5000):05d}"
    event["sessionId"] = f"sess-{state.rng.getrandbits(48):012x}"
    event["model"] = state.rng.choice(MODELS)
    return event


def user_message(state: GenState) -> Event:
    rng = state.rng
    event = base(state, "UserMessageSent", state.clock.tick(rng, 5_000, 120_000))
    event["content"] = user_text(rng)
    if rng.random() < 0.2:
        event["attachments"] = [{"name": "report-보고서.pdf", "sizeBytes": rng.randint(1_000, 9_000_000)}]
    return event


def tool_call_pair(state: GenState) -> list[Event]:
    rng = state.rng
    tool = rng.choice(TOOLS)
    requested = base(state, "ToolCallRequested", state.clock.tick(rng, 100, 800))
    requested["toolName"] = tool
    requested["arguments"] = tool_arguments(rng, tool)
    duration = rng.randint(20, 4_000)
    completed = base(state, "ToolCallCompleted", state.clock.tick(rng, duration, duration))
    completed["toolName"] = tool
    completed["result"] = {"rows": rng.randint(0, 50), "summary": "검색 완료 ✅", "truncated": False}
    completed["durationMs"] = duration
    return [requested, completed]


def token_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.8:
        return rng.choice(ASCII_TOKENS)
    if roll < 0.95:
        return rng.choice(KOREAN_TOKENS)
    return rng.choice(EMOJI_TOKENS)


def assistant_turn(state: GenState) -> Iterator[Event]:
    """A streamed answer: start, tokens, then completion or cancellation, maybe feedback."""
    rng = state.rng
    model = rng.choice(MODELS)
    started_at = state.clock.tick(rng, 200, 1_500)
    started = base(state, "AssistantStreamStarted", started_at)
    started["model"] = model
    started["promptTokens"] = rng.randint(20, 4_000)
    yield started
    planned = rng.randint(30, 232)
    cancelled = rng.random() < 0.05
    produced = planned if not cancelled else rng.randint(1, planned)
    for index in range(produced):
        token = base(state, "AssistantTokenGenerated", state.clock.tick(rng, 8, 60))
        token["token"] = token_text(rng)
        token["index"] = index
        yield token
    yield from turn_end(state, cancelled, produced, started_at)


def turn_end(state: GenState, cancelled: bool, produced: int, started_at: int) -> Iterator[Event]:
    rng = state.rng
    finished_at = state.clock.tick(rng, 5, 50)
    if cancelled:
        end = base(state, "GenerationCancelled", finished_at)
        end["tokensGenerated"] = produced
        end["reason"] = rng.choice(CANCEL_REASONS)
    else:
        end = base(state, "AssistantStreamCompleted", finished_at)
        end["totalTokens"] = produced
        end["finishReason"] = rng.choice(FINISH_REASONS)
        end["latencyMs"] = finished_at - started_at
    yield end
    if rng.random() < 0.15:
        feedback = base(state, "FeedbackGiven", state.clock.tick(rng, 2_000, 60_000))
        feedback["messageIndex"] = rng.randint(0, 20)
        feedback["rating"] = "positive" if rng.random() < 0.7 else "negative"
        if rng.random() < 0.5:
            feedback["comment"] = rng.choice(FEEDBACK_COMMENTS)
        yield feedback


def conversation(state: GenState) -> Iterator[Event]:
    yield conversation_start(state)
    for _ in range(state.rng.randint(1, 6)):
        yield user_message(state)
        if state.rng.random() < 0.3:
            yield from tool_call_pair(state)
        yield from assistant_turn(state)


def events_forever(state: GenState) -> Iterator[Event]:
    while True:
        yield from conversation(state)


# --- damaged lines -------------------------------------------------------------------------------
# Each maker receives the next good event (already consuming its id/timestamp) and returns the raw
# line bytes, without the terminating "\n". Every kind is one the engine must report, never crash on.


def dumps(event: Event) -> bytes:
    return orjson.dumps(event)


def damage_truncated(event: Event, state: GenState) -> bytes:
    raw = dumps(event)
    return raw[: max(2, len(raw) // 2)]


def damage_trailing_comma(event: Event, state: GenState) -> bytes:
    return dumps(event)[:-1] + b",}"


def damage_single_quotes(event: Event, state: GenState) -> bytes:
    return dumps(event).replace(b'"', b"'")


def damage_array(event: Event, state: GenState) -> bytes:
    return orjson.dumps([event["type"], event["id"], event["timestamp"]])


def damage_number(event: Event, state: GenState) -> bytes:
    return str(event["timestamp"]).encode()


def damage_invalid_utf8(event: Event, state: GenState) -> bytes:
    # A lone continuation byte and an overlong sequence inside a string value.
    raw = dumps(event)
    return raw.replace(b'"type"', b'"ty\xff\xc0\xafpe"', 1)


def damage_wrong_type(event: Event, state: GenState) -> bytes:
    event = dict(event)
    if event["type"] == "AssistantTokenGenerated":
        event["index"] = str(event["index"])
    else:
        event["timestamp"] = str(event["timestamp"])
    return dumps(event)


def damage_missing_field(event: Event, state: GenState) -> bytes:
    required = [key for key in event if key not in ("type", "id", "timestamp")]
    event = dict(event)
    if required:
        del event[required[0]]
    else:
        del event["timestamp"]
    return dumps(event)


def damage_unknown_type(event: Event, state: GenState) -> bytes:
    # A plausible typo of a real event type name.
    event = dict(event)
    event["type"] = "AssistantTokenGenerted"
    return dumps(event)


def damage_duplicate_id(event: Event, state: GenState) -> bytes:
    event = dict(event)
    if state.recent_ids:
        event["id"] = state.rng.choice(state.recent_ids)
    return dumps(event)


def damage_time_backwards(event: Event, state: GenState) -> bytes:
    event = dict(event)
    event["timestamp"] = int(event["timestamp"]) - state.rng.randint(60_000, 86_400_000)
    return dumps(event)


def damage_blank(event: Event, state: GenState) -> bytes:
    return b""


def damage_crlf(event: Event, state: GenState) -> bytes:
    return dumps(event) + b"\r"


DAMAGE_KINDS: dict[str, Callable[[Event, GenState], bytes]] = {
    "truncated-json": damage_truncated,
    "trailing-comma": damage_trailing_comma,
    "single-quotes": damage_single_quotes,
    "json-array": damage_array,
    "json-number": damage_number,
    "invalid-utf8": damage_invalid_utf8,
    "wrong-field-type": damage_wrong_type,
    "missing-field": damage_missing_field,
    "unknown-type": damage_unknown_type,
    "duplicate-id": damage_duplicate_id,
    "timestamp-backwards": damage_time_backwards,
    "blank-line": damage_blank,
    "crlf-line": damage_crlf,
}


def damage_plan(total_lines: int, rng: random.Random) -> dict[int, str]:
    """Line index (0-based) -> damage kind; every kind at least once, never the first line.

    The first 10 lines stay clean so each store opens with a well-formed conversation; the last line
    stays clean so the file always ends with a complete, appendable event.
    """
    kinds = list(DAMAGE_KINDS)
    wanted = max(len(kinds), round(total_lines * DAMAGE_RATE))
    low, high = min(10, total_lines - 1), total_lines - 2
    if high - low + 1 < wanted:
        return {}
    positions = sorted(rng.sample(range(low, high + 1), wanted))
    return {pos: kinds[i % len(kinds)] for i, pos in enumerate(positions)}


def generate_lines(total_lines: int, seed: int) -> Iterator[bytes]:
    state = GenState(rng=random.Random(seed))
    plan = damage_plan(total_lines, random.Random(seed + 1))
    events = events_forever(state)
    for line_no in range(total_lines):
        event = next(events)
        kind = plan.get(line_no)
        yield DAMAGE_KINDS[kind](event, state) if kind else dumps(event)


def write_log(total_lines: int, out: Path, seed: int = DEFAULT_SEED) -> int:
    """Write the log atomically (temp file + rename) so an interrupted run never leaves half a log."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    written = 0
    with tmp.open("wb", buffering=1 << 20) as handle:
        chunk: list[bytes] = []
        for line in generate_lines(total_lines, seed):
            chunk.append(line)
            if len(chunk) >= CHUNK_LINES:
                written += handle.write(b"\n".join(chunk) + b"\n")
                chunk.clear()
        if chunk:
            written += handle.write(b"\n".join(chunk) + b"\n")
    tmp.replace(out)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, required=True, help="number of lines (events + damaged)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.events < 20:
        parser.error("--events must be at least 20")
    started = time.perf_counter()
    size = write_log(args.events, args.out, args.seed)
    elapsed = time.perf_counter() - started
    print(f"wrote {args.events} lines, {size / 1e6:.1f} MB to {args.out} in {elapsed:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
