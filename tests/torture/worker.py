"""A writer process for the torture tests: `python worker.py MODE ...`.

It prints one line per acknowledged operation (flushed before the next operation starts), so a test that
kills it knows exactly which events the store promised to keep:

    ACK <id>      an event append that returned ok
    JUNK <text>   a foreign non-event line written (as another, careless program would)

Modes:
    append ROOT STREAM WRITER COUNT   COUNT appends of {"type": "Tick", "id": "wWRITER-i", ...}
    chaos ROOT STREAM WRITER SEED     appends mixed with torn writes, junk, quarantine and compaction,
                                      forever (until killed)
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path
from typing import Any

from astra_ls.commands import execute
from astra_ls.store.file_store import FileEventStore
from astra_ls.store.locking import stream_lock


def event(writer: str, seq: int) -> dict[str, Any]:
    return {"type": "Tick", "id": f"w{writer}-{seq}", "writer": writer, "seq": seq}


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def append_mode(root: Path, stream: str, writer: str, count: int) -> int:
    store = FileEventStore(root)
    say("READY")
    for seq in range(count):
        answer = execute(store, "astra.append", {"store": stream, "event": event(writer, seq)})
        if not answer["ok"]:
            say(f"REFUSED {answer['code']} {answer['message']}")
            return 1
        say(f"ACK w{writer}-{seq}")
    return 0


def raw_append(path: Path, data: bytes) -> None:
    """A foreign line written by another program (under the stream lock, after a newline if torn)."""
    with stream_lock(path):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data
            os.write(fd, data)
        finally:
            os.close(fd)


def chaos_mode(root: Path, stream: str, writer: str, seed: int) -> int:
    rng = random.Random(seed)
    store = FileEventStore(root)
    path = store.path_of(stream)
    path.parent.mkdir(parents=True, exist_ok=True)
    say("READY")
    answer = execute(store, "astra.quarantine", {"store": stream}) if path.exists() else {"ok": True}
    assert answer["ok"], answer
    torn = False
    seq = 0
    while True:
        roll = rng.random()
        if roll < 0.70:
            answer = execute(store, "astra.append", {"store": stream, "event": event(writer, seq)})
            assert answer["ok"], answer
            say(f"ACK w{writer}-{seq}")
            seq += 1
        elif roll < 0.74:
            text = f"junk-{writer}-{seq}-{rng.randrange(10**9)}"
            raw_append(path, text.encode() + b"\n")
            say(f"JUNK {text}")
        elif roll < 0.77 and not torn:
            whole = b'{"type":"Tick","id":"torn-%s-%d","writer":"%s"}' % (writer.encode(), seq, writer.encode())
            raw_append(path, whole[: rng.randrange(1, len(whole) - 1)])
            torn = True
        elif roll < 0.88:
            answer = execute(store, "astra.quarantine", {"store": stream})
            assert answer["ok"], answer
            torn = False
        else:
            execute(store, "astra.quarantine", {"store": stream})
            torn = False
            answer = execute(store, "astra.compact", {"store": stream})
            assert answer["ok"] or answer["code"] in ("NOTHING_TO_COMPACT", "HAS_PROBLEMS"), answer


def main(argv: list[str]) -> int:
    mode, root, stream, writer = argv[0], Path(argv[1]), argv[2], argv[3]
    if mode == "append":
        return append_mode(root, stream, writer, int(argv[4]))
    if mode == "chaos":
        return chaos_mode(root, stream, writer, int(argv[4]))
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
