"""`astra-ls tail STORE [--follow]`: a store's latest events, then each event (and, with `--problems`, each
new problem) as any process appends it.

The file is read once, then only from the offset reached, by polling (portable, no file-system
notifications): a file that shrank was truncated, one with another identity or other bytes before the
offset was replaced or rewritten; either is said on stderr and read again from its start. Remote stores
are followed through their local mirror, synced before each poll.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from astra_ls.core.linecheck import BOM
from astra_ls.core.problems import Problem
from astra_ls.projections.conditions import parse_condition
from astra_ls.store.base import EventStore
from astra_ls.store.results import StoreError

CHUNK_BYTES = 1 << 20
SIGNATURE_BYTES = 64
REMOTE_INTERVAL_S = 1.0  # a remote store is asked for news at most this often


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # 0-based
    data: bytes  # without its line ending


class LineTail:
    """The complete lines of a file from where the last poll stopped. An unterminated last line waits
    for its newline (a writer may be half-way through it); a line over `max_line_bytes` is skipped."""

    def __init__(self, path: Path, max_line_bytes: int) -> None:
        self.path = path
        self.max_line_bytes = max_line_bytes
        self.restarts = -1  # times the file was read again from its start (truncated, replaced, ...)
        self._reset(None)

    def _reset(self, inode: int | None) -> None:
        self.restarts += 1
        self.inode = inode
        self.lines = 0  # complete lines taken
        self.read_to = 0  # bytes read: complete lines plus `partial`
        self.partial = bytearray()
        self.skipping = False  # inside an over-long line: dropped until its newline
        self.signature = b""  # the last bytes before `read_to`, to notice a rewrite
        self.missing = False
        self.mtime = -1

    def poll(self, notice: Callable[[str], None]) -> list[Line]:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            if not self.missing:
                notice(f"{self.path} is gone; waiting for it to come back")
                self._reset(None)
                self.missing = True
            return []
        if self.missing:
            notice(f"{self.path} is back; reading it from its start")
            self._reset(info.st_ino)
        elif self.inode is None:
            self.inode = info.st_ino
        elif info.st_ino != self.inode:
            notice(f"{self.path} was replaced; reading the new file from its start")
            self._reset(info.st_ino)
        elif info.st_size < self.read_to:
            notice(f"{self.path} was truncated; reading it from its start")
            self._reset(info.st_ino)
        if info.st_size == self.read_to and info.st_mtime_ns == self.mtime:
            return []
        self.mtime = info.st_mtime_ns  # written to: if not grown, the signature tells a rewrite
        with self.path.open("rb") as handle:
            if self.read_to:
                start = max(0, self.read_to - len(self.signature))
                handle.seek(start)
                if handle.read(self.read_to - start) != self.signature:
                    notice(f"{self.path} was rewritten; reading it from its start")
                    self._reset(info.st_ino)
            handle.seek(self.read_to)
            return self._take(handle, info.st_size)

    def _take(self, handle: Any, size: int) -> list[Line]:
        found: list[Line] = []
        while self.read_to < size:
            chunk = handle.read(min(CHUNK_BYTES, size - self.read_to))
            if not chunk:
                break
            self.read_to += len(chunk)
            self.signature = (self.signature + chunk)[-SIGNATURE_BYTES:]
            start = 0
            while (end := chunk.find(b"\n", start)) >= 0:
                if not self.skipping:
                    self.partial += chunk[start:end]
                    found.append(Line(self.lines, bytes(self.partial).removesuffix(b"\r")))
                self.lines += 1
                self.partial.clear()
                self.skipping = False
                start = end + 1
            if not self.skipping:
                self.partial += chunk[start:]
                if len(self.partial) > self.max_line_bytes:  # bounded memory: the line is not shown
                    self.partial.clear()
                    self.skipping = True
        return found


def _event(line: Line) -> dict[str, Any] | None:
    try:
        event = orjson.loads(line.data.removeprefix(BOM))
    except orjson.JSONDecodeError:
        return None  # not an event: a problem (shown with --problems)
    return event if isinstance(event, dict) else None




class Printer:
    """Events and problems to stdout, as JSON lines or text, flushed as they come."""

    def __init__(self, fmt: str, store_label: str) -> None:
        self.jsonl = fmt == "jsonl"
        self.label = store_label
        self.out = sys.stdout.buffer

    def event(self, line: Line, event: dict[str, Any]) -> bytes:
        data = line.data.removeprefix(BOM)
        if self.jsonl:
            return data + b"\n"
        kind = event.get("type")
        return f"{line.number + 1}: {kind if isinstance(kind, str) else '-'} ".encode() + data + b"\n"

    def problem(self, problem: Problem) -> bytes:
        if self.jsonl:
            return orjson.dumps({"$problem": {"store": self.label, **problem.to_json()}}) + b"\n"
        return (f"{self.label}:{problem.line + 1}:{problem.start + 1}: {problem.code} "
                f"[{problem.severity.label}] {problem.message}\n").encode()

    def write(self, pieces: list[bytes]) -> None:
        if pieces:
            self.out.write(b"".join(pieces))
            self.out.flush()


def _notice(text: str) -> None:
    print(f"astra-ls tail: {text}", file=sys.stderr, flush=True)


def run_tail(args: argparse.Namespace, store: EventStore, stream: str) -> int:
    """Exit 0 at the end (without --follow) or on Ctrl-C; the problems of a configuration or a remote
    store that cannot be reached are said on stderr."""
    try:
        return _tail(args, store, stream)
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # `astra-ls tail ... | head`: the reader is gone, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _tail(args: argparse.Namespace, store: EventStore, stream: str) -> int:
    wanted = [parse_condition(item) for item in args.where]  # the same conditions as `query --where`
    remote = store.remote_name is not None
    path = store.path_of(stream)
    if not remote and not path.is_file():
        raise FileNotFoundError(f"no store {stream!r}: {path} does not exist")
    label = f"astra-remote://{store.remote_name}/{stream}" if remote else str(args.store)
    printer = Printer(args.format, label)
    reader = LineTail(path, store.config.max_line_bytes)
    shown_problems: set[tuple[int, int, str, str]] = set()
    last_error = ""

    def matches(event: dict[str, Any]) -> bool:
        return (args.type is None or event.get("type") == args.type) and all(
            condition.matches(event) for condition in wanted)

    def poll() -> tuple[list[tuple[int, bytes]], list[Problem]]:
        nonlocal last_error
        problems: list[Problem] = []
        try:
            if args.problems:
                problems = store.problems(stream)  # syncs a remote store's mirror first
            elif remote:
                store.refresh(stream)
        except StoreError as error:
            if error.refused.message != last_error:
                last_error = error.refused.message
                _notice(f"{last_error} (still trying)")
        else:
            last_error = ""
        restarts = reader.restarts
        lines = reader.poll(_notice)
        if reader.restarts != restarts:  # read again from the start: its problems are news again
            shown_problems.clear()
        events = [(line.number, printer.event(line, event)) for line in lines
                  if (event := _event(line)) is not None and matches(event)]
        # only complete lines: a line a writer is still writing is not a problem yet
        fresh = [p for p in problems if p.line < reader.lines and _key(p) not in shown_problems]
        shown_problems.update(_key(p) for p in fresh)
        return events, fresh

    events, problems = poll()
    if args.lines is not None:  # the first pass shows the last N events, and the problems from there on
        kept = list(deque(events, maxlen=args.lines)) if args.lines else []
        first_line = kept[0][0] if kept else reader.lines
        if len(kept) == len(events):
            first_line = 0
        problems = [p for p in problems if p.line >= first_line]
        events = kept
    printer.write([text for _, text in events] + [printer.problem(p) for p in problems])
    if not args.follow:
        return 0
    interval = max(args.interval, REMOTE_INTERVAL_S) if remote else args.interval
    while True:
        time.sleep(interval)
        events, problems = poll()
        printer.write([text for _, text in events] + [printer.problem(p) for p in problems])


def _key(problem: Problem) -> tuple[int, int, str, str]:
    return problem.line, problem.start, problem.code, problem.message


def interval_seconds(text: str) -> float:
    """`--interval`: seconds between polls, from 0.01 to an hour."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0.01 <= value <= 3600:
        raise argparse.ArgumentTypeError("the interval must be between 0.01 and 3600 seconds")
    return value


def lines_count(text: str) -> int | None:
    """`--lines`: a count, or `all`."""
    if text == "all":
        return None
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of events nor 'all'") from None
    if count < 0:
        raise argparse.ArgumentTypeError("the number of events cannot be negative")
    return count
