"""`RemoteStore`: a store whose event streams are subjects of one JetStream stream.

Reads go through a local mirror (see `mirror.py`), so the engine's analysis, problems, projections, time
travel and queries are exactly those of the file store: `RemoteStore` is a `FileEventStore` rooted in the
mirror folder whose `analysis` first brings the mirror up to date and whose `append` publishes to
JetStream instead of writing the file. Workspace schemas and projectors are still looked up in the
workspace (`home`), and the workspace's configuration (globs, severities) applies to remote streams too.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import nats.js.errors

from astra_ls.config import ConfigError, WorkspaceConfig
from astra_ls.core.analysis import StoreAnalysis
from astra_ls.core.facts import canonical_json
from astra_ls.remote.jetstream import (
    Message,
    Published,
    WrongLastSequence,
    ensure_stream,
    last_sequence,
    publish,
    read_after,
    subjects,
)
from astra_ls.remote.link import TRANSIENT, Link
from astra_ls.remote.mirror import Mirror
from astra_ls.remote.settings import RemoteConfig, mirror_root, parse_remote_uri, remote_uri
from astra_ls.store.file_store import FileEventStore
from astra_ls.store.follow import Change
from astra_ls.store.locking import stream_lock
from astra_ls.store.paths import ASTRA_DIR, PathRefused, check_stream_name, stream_path
from astra_ls.store.results import Appended, AppendResult, Refused, StoreError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RemoteAppended(Appended):
    sequence: int = 0  # the JetStream stream sequence of the event
    duplicate: bool = False  # an earlier attempt of this very append had landed; nothing was added

    def to_json(self) -> dict[str, Any]:
        return {**Appended.to_json(self), "sequence": self.sequence, "duplicate": self.duplicate}


def find_remote(config: WorkspaceConfig, name: str) -> RemoteConfig:
    for remote in config.remote:
        if remote.name == name:
            return remote
    known = ", ".join(r.name for r in config.remote) or "none is configured"
    raise ConfigError(f"no remote store named {name!r} in astra-ls.toml ([[remote]] entries: {known})")


class RemoteStore(FileEventStore):
    def __init__(self, remote: RemoteConfig, workspace: Path, config: WorkspaceConfig, trusted: bool = False,
                 link: Link | None = None) -> None:
        root = mirror_root(remote)
        (root / ASTRA_DIR).mkdir(parents=True, exist_ok=True)
        super().__init__(root, config, trusted)
        self.home = workspace.absolute()
        self.remote = remote
        self.remote_name = remote.name
        self.link = link if link is not None else Link(remote, self.home, trusted)
        self._mirrors: dict[str, Mirror] = {}

    # --- names --------------------------------------------------------------------------------------

    def streams(self) -> list[str]:
        prefix = self.remote.prefix + "."
        found = self._run(lambda: subjects(self.link.jetstream(), self.remote))
        names = []
        for subject in found:
            name = subject.removeprefix(prefix)
            try:
                names.append(check_stream_name(name))
            except PathRefused:  # a subject no file-store stream could be named after: not ours
                continue
        return sorted(names)

    def resolve(self, ref: str) -> str:
        parsed = parse_remote_uri(ref)
        if parsed is not None:
            remote, stream = parsed
            if remote != self.remote.name:
                raise PathRefused(f"{ref!r} names remote {remote!r}, not {self.remote.name!r}")
            return check_stream_name(stream)
        if ref.endswith(".jsonl"):
            ref = ref.removesuffix(".jsonl")
        return check_stream_name(ref)

    def path_of(self, stream: str) -> Path:
        return stream_path(self.root, stream)

    def uri_of(self, stream: str) -> str:
        return remote_uri(self.remote.name, stream)


    def mirror(self, stream: str) -> Mirror:
        found = self._mirrors.get(stream)
        if found is None:
            found = self._mirrors[stream] = Mirror(self.path_of(stream))
        return found

    # --- reading ------------------------------------------------------------------------------------

    def _run(self, make: Callable[[], Coroutine[Any, Any, T]], retry: bool = True) -> T:
        """Run a JetStream request made by `make`, again with backoff while the cluster cannot answer
        (a node restarting, a leader being elected), when `retry`: reads and set-up are idempotent."""
        deadline = time.monotonic() + self.remote.retry_seconds
        delay = 0.1
        while True:
            try:
                return self.link.run(make())
            except TRANSIENT as error:
                if not retry or time.monotonic() + delay > deadline:
                    raise self.link.unreachable(f"{type(error).__name__}: {error or 'no answer'}") from None
            except nats.js.errors.APIError as error:
                raise StoreError("REMOTE_ERROR", f"remote store {self.remote.name!r}: JetStream answered "
                                 f"{error.description or error} (code {error.err_code})") from None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def sync(self, stream: str) -> list[Message]:
        """Bring the stream's mirror up to date with JetStream; the messages it did not have before."""
        subject = self.remote.subject_of(stream)
        js = self.link.jetstream()
        last = self._run(lambda: last_sequence(js, self.remote, subject))
        mirror = self.mirror(stream)
        with stream_lock(mirror.path):
            mirror.load()
            if last < mirror.last_seq:  # the JetStream stream was purged or re-created: start over
                mirror.reset()
            if last == mirror.last_seq:
                return []

            async def fetch() -> list[Message]:
                new: list[Message] = []
                async for batch in read_after(js, self.remote, subject, mirror.last_seq, last):
                    mirror.add(batch)
                    new.extend(batch)
                return new

            return self._run(fetch)

    def refresh(self, stream: str) -> Change:
        """Mirror what JetStream has, then bring the analysis up to date (reading only the new tail)."""
        self.sync(stream)
        return super().refresh(stream)

    def mirrored(self, stream: str) -> StoreAnalysis | None:
        """The analysis of what is already mirrored, without asking the server."""
        super().refresh(stream)
        return self.followed(stream).analysis

    # --- appending ----------------------------------------------------------------------------------

    def _append(self, stream: str, event: Any, expected_count: int | None) -> AppendResult:
        stream = self.resolve(stream)
        payload = self._validated_line(stream, event).rstrip(b"\n")
        subject = self.remote.subject_of(stream)
        js = self.link.jetstream()
        self._run(lambda: ensure_stream(js, self.remote))
        self.sync(stream)
        mirror = self.mirror(stream)
        expected_last = None
        if expected_count is not None:
            count = self._count(stream)
            if count != expected_count:
                return _mismatch(stream, expected_count, count)
            expected_last = mirror.last_seq
        msg_id = self.msg_id(stream, event, payload, expected_count)
        try:
            published = self.publish(subject, payload, msg_id, expected_last)
        except WrongLastSequence:
            # Either another writer came first, or an earlier attempt of ours landed before its answer got
            # lost: only our Msg-Id among the new messages tells the two apart.
            ours = [m for m in self.sync(stream) if m.msg_id == msg_id]
            if not ours:
                assert expected_count is not None
                return _mismatch(stream, expected_count, self._count(stream))
            published = Published(ours[0].seq, duplicate=True)
        self.sync(stream)
        line = mirror.line_of_seq(published.seq)
        return RemoteAppended(self.uri_of(stream), (line if line is not None else mirror.count - 1) + 1,
                              self._count(stream), sequence=published.seq, duplicate=published.duplicate)

    def publish(self, subject: str, payload: bytes, msg_id: str, expected_last: int | None) -> Published:
        """One publish; it retries by itself, where the Msg-Id makes that safe."""
        js = self.link.jetstream()
        return self._run(lambda: publish(js, self.remote, subject, payload, msg_id, expected_last), retry=False)

    def _count(self, stream: str) -> int:
        analysis = self.mirrored(stream)
        return analysis.event_count() if analysis is not None else 0

    def msg_id(self, stream: str, event: dict[str, Any], payload: bytes, expected_count: int | None) -> str:
        """A Nats-Msg-Id that is the same for every attempt of one append, even across processes.

        Streams whose events carry unique ids use the id: re-running an append whose answer was lost
        cannot add the event twice. Elsewhere (e.g. entity streams, where many events share an id) the
        event's bytes and expected position are used, so distinct events never collapse into one.
        """
        key = event.get(self.config.id_field)
        if self.setup(stream).rule.unique_ids and key is not None:
            basis = b"id\0" + canonical_json(key)
        else:
            basis = b"event\0" + payload + b"\0" + str(expected_count).encode()
        return hashlib.sha256(self.remote.subject_of(stream).encode() + b"\0" + basis).hexdigest()

    def close(self) -> None:
        self.link.close()


def _mismatch(stream: str, expected: int, actual: int) -> Refused:
    return Refused("EXPECTED_COUNT_MISMATCH",
                   f"{stream} has {actual} events, not the expected {expected}: another writer appended "
                   "first; re-read and retry", {"expected": expected, "actual": actual})
