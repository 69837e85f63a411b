"""`push` (a workspace stream into JetStream) and `pull` (a remote stream into a workspace file).

Both are idempotent and resumable because they work by position, not by time: the first K lines of the
target must equal the first K lines of the source, and only lines K+1.. are copied. Running either twice,
or again after an interruption, copies nothing twice; a target that holds something else is refused.
"""

from __future__ import annotations

import bisect
import hashlib
import os
from typing import Any

from astra_ls.remote.jetstream import WrongLastSequence, ensure_stream
from astra_ls.remote.store import RemoteStore
from astra_ls.store.file_store import FileEventStore
from astra_ls.store.follow import read_range
from astra_ls.store.locking import stream_lock
from astra_ls.store.results import Refused, StoreError

CHUNK = 4 * 1024 * 1024


def _same_prefix(left: Any, right: Any, length: int) -> bool:
    """Whether two readers `(offset, length) -> bytes` agree on their first `length` bytes."""
    offset = 0
    while offset < length:
        size = min(CHUNK, length - offset)
        if left(offset, size) != right(offset, size):
            return False
        offset += size
    return True


def _diverged(what: str) -> dict[str, Any]:
    return Refused("DIVERGED", what).to_json()


def push(local: FileEventStore, stream: str, remote: RemoteStore, target: str | None = None) -> dict[str, Any]:
    """Publish the local stream's lines that the remote subject does not have yet, in order."""
    name = remote.resolve(target or stream)
    analysis = local.analysis(stream)
    # An unterminated last line may be a write in progress: it is pushed once it is complete.
    lines = analysis.line_count - (0 if analysis.terminated else 1)
    js = remote.link.jetstream()
    remote._run(lambda: ensure_stream(js, remote.remote))
    remote.sync(name)
    mirror = remote.mirror(name)
    have = mirror.count
    if have > lines:
        return _diverged(f"remote {remote.uri_of(name)} has {have} lines, the local {stream} only {lines}: "
                         "they are different streams (pull it instead, or push to another name)")
    local_end = analysis.offsets[have] if have < analysis.line_count else analysis.size
    mirror_end = mirror.ends[-1] if have else 0
    if local_end != mirror_end or not _same_prefix(local.reader(stream), remote.reader(name), local_end):
        return _diverged(f"the first {have} lines of {remote.uri_of(name)} differ from those of the local "
                         f"{stream}: refusing to push onto a different stream")
    subject = remote.remote.subject_of(name)
    read = local.reader(stream)
    last = mirror.last_seq
    for line in range(have, lines):
        start, length = analysis.line_span(line)
        payload = read(start, length)
        # The position is part of the id: identical lines at different places are distinct messages.
        msg_id = hashlib.sha256(f"{subject}\0push\0{line}\0".encode() + payload).hexdigest()
        try:
            last = remote.publish(subject, payload, msg_id, last).seq
        except WrongLastSequence:
            ours = remote.landed(name, last, msg_id)
            if ours is None:
                return Refused("EXPECTED_COUNT_MISMATCH", f"another writer appended to {remote.uri_of(name)} "
                               f"during the push (after line {line}); pull or re-check before pushing again",
                               {"pushed": line - have}).to_json()
            last = ours
    remote.sync(name)
    return {"ok": True, "uri": remote.uri_of(name), "pushed": lines - have, "lines": lines}


def pull(remote: RemoteStore, stream: str, local: FileEventStore, target: str | None = None) -> dict[str, Any]:
    """Append the remote lines the local file does not have yet; the local file is created if need be."""
    name = remote.resolve(stream)
    remote.sync(name)
    mirror = remote.mirror(name)
    path = local.path_of(local.resolve(target or name))
    path.parent.mkdir(exist_ok=True)
    with stream_lock(path):
        size = path.stat().st_size if path.exists() else 0
        have = _lines_in(mirror.ends, size)
        if have < 0 or not _same_prefix(lambda o, n: read_range(path, o, n), remote.reader(name), size):
            return _diverged(f"{path} is not a copy of the start of {remote.uri_of(name)}: refusing to pull "
                             "into it (pull into another name with --to)")
        end = mirror.ends[-1] if mirror.count else 0
        if end > size:
            _append_bytes(path, remote.reader(name), size, end)
    return {"ok": True, "path": str(path), "pulled": mirror.count - have, "lines": mirror.count}


def _lines_in(ends: Any, size: int) -> int:
    """How many mirror lines make up exactly `size` bytes; -1 when `size` is not at a line's end."""
    if size == 0:
        return 0
    at = bisect.bisect_left(ends, size)
    return at + 1 if at < len(ends) and ends[at] == size else -1


def _append_bytes(path: Any, read: Any, start: int, end: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        offset = start
        while offset < end:
            data = read(offset, min(CHUNK, end - offset))
            if not data:
                raise StoreError("STORE_CHANGED", "the mirror shrank while it was being copied; pull again")
            os.write(fd, data)
            offset += len(data)
        os.fsync(fd)
    finally:
        os.close(fd)
