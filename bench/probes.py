"""Small programs the benchmark runs as child processes; each prints one JSON line.

`bare-read FILE`      read the whole file and discard it (the floor of any reader).
`orjson-loop FILE`    split into lines and orjson-parse each, discarding results (the stretch baseline).
`append-burst ...`    append N fsynced events through the engine's Python API (see `append_burst`).
`fsync-floor FILE N`  append N lines with a bare O_APPEND write + fsync: what the disk itself allows.
`json-schema FAMILY OUT`  write the JSON Schema of each event type of a built-in family, exported from
                      the engine's own pydantic models, for the Node + ajv peer (`ajv_reader.mjs`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import orjson


def bare_read(path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    size = len(path.read_bytes())
    return {"bytes": size, "elapsedMs": (time.perf_counter() - started) * 1000}


def orjson_loop(path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    loads = orjson.loads
    parsed = failed = 0
    for line in path.read_bytes().split(b"\n"):
        if not line:
            continue
        try:
            loads(line)
            parsed += 1
        except orjson.JSONDecodeError:
            failed += 1
    return {"parsed": parsed, "failed": failed, "elapsedMs": (time.perf_counter() - started) * 1000}


def fsync_floor(path: Path, count: int) -> dict[str, Any]:
    """The fastest possible durable append loop on this disk, as context for the engine's rate."""
    line = orjson.dumps(token_event("floor", 0, 0)) + b"\n"
    started = time.perf_counter()
    for _ in range(count):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    return {"appended": count, "elapsedMs": (time.perf_counter() - started) * 1000}


def token_event(tag: str, seq: int, timestamp: int) -> dict[str, Any]:
    """A valid event unique to (tag, seq) so a lost or doubled append is detectable afterwards."""
    return {
        "type": "UserMessageSent",
        "id": f"bench-{tag}-{seq:07d}",
        "timestamp": timestamp,
        "content": f"append probe {tag} #{seq} 안녕하세요 🚀",
    }


def append_burst(workspace: Path, stream: str, count: int, tag: str, timestamp: int) -> dict[str, Any]:
    """Append `count` events one by one through the engine API, each durable before the next.

    All appenders share one timestamp (at or after the store's last one) so concurrent writers
    interleaving in any order still keep timestamps non-decreasing. The clock starts after the first
    append, which also opens (scans) the store: the rate is the sustained one, whatever the store's size.
    """
    from astra_ls.store.file_store import FileEventStore  # only this probe needs the engine

    store = FileEventStore(workspace)
    failures: list[str] = []
    opened = time.perf_counter()
    started = opened
    for seq in range(count):
        result = store.append(stream, token_event(tag, seq, timestamp))
        if not getattr(result, "ok", False):
            failures.append(repr(result)[:300])
        if seq == 0:
            started = time.perf_counter()
    elapsed = time.perf_counter() - started
    return {
        "appended": count - len(failures),
        "timedAppends": count - 1,
        "failures": failures[:5],
        "firstAppendMs": (started - opened) * 1000,
        "elapsedMs": elapsed * 1000,
    }


def json_schema(family: str, out: Path) -> dict[str, Any]:
    """Export the family's models with pydantic's `model_json_schema()`: one schema per `type`, so the
    Node + ajv peer validates exactly what the engine does and nothing is written twice."""
    from astra_ls.schemas.families import builtin_schema  # only this probe needs the engine

    models = getattr(builtin_schema(family), "models", ())
    events: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema()
        tag = schema["properties"]["type"]["const"]
        events[tag] = schema
    payload = {"family": family, "typeField": "type", "idField": "id", "timeField": "timestamp", "events": events}
    out.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))
    return {"family": family, "types": sorted(events), "out": str(out)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="probe", required=True)
    sub.add_parser("bare-read").add_argument("file", type=Path)
    sub.add_parser("orjson-loop").add_argument("file", type=Path)
    floor = sub.add_parser("fsync-floor")
    floor.add_argument("file", type=Path)
    floor.add_argument("count", type=int)
    burst = sub.add_parser("append-burst")
    burst.add_argument("workspace", type=Path)
    burst.add_argument("stream")
    burst.add_argument("--count", type=int, required=True)
    burst.add_argument("--tag", required=True)
    burst.add_argument("--timestamp", type=int, required=True)
    export = sub.add_parser("json-schema")
    export.add_argument("family")
    export.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.probe == "bare-read":
        result = bare_read(args.file)
    elif args.probe == "orjson-loop":
        result = orjson_loop(args.file)
    elif args.probe == "json-schema":
        result = json_schema(args.family, args.out)
    elif args.probe == "fsync-floor":
        result = fsync_floor(args.file, args.count)
    else:
        result = append_burst(args.workspace, args.stream, args.count, args.tag, args.timestamp)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
