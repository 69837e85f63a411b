"""`RemoteStore`: a store whose event streams are subjects of one JetStream stream.

Reads go through a local mirror (see `mirror.py`), so the engine's analysis, problems, projections, time
travel and queries are exactly those of the file store: `RemoteStore` implements the `EventStore`
protocol by composing the engine's `StreamAnalyses` of the mirror files with a JetStream connection;
`refresh` first brings the mirror up to date and `append` publishes to JetStream. Workspace schemas and
projectors are still looked up in the workspace, and the workspace's configuration (globs, severities)
applies to remote streams too.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Coroutine
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import nats.js.errors

from astra_ls.config import ConfigError, WorkspaceConfig
from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.core.facts import canonical_json, field_value
from astra_ls.core.problems import Problem
from astra_ls.projections.replay import Replayer
from astra_ls.remote.jetstream import (
    Message,
    Published,
    WrongLastSequence,
    ensure_stream,
    find_msg_id,
    last_sequence,
    message_at,
    publish,
    read_after,
    subjects,
)
from astra_ls.remote.link import TRANSIENT, Link
from astra_ls.remote.mirror import Mirror, line_of
from astra_ls.remote.settings import RemoteConfig, mirror_root, parse_remote_uri, remote_uri
from astra_ls.store.analyses import StreamAnalyses, StreamSetup
from astra_ls.store.base import refusal
from astra_ls.store.follow import Change, FileStamp
from astra_ls.store.locking import stream_lock
from astra_ls.store.paths import ASTRA_DIR, PathRefused, check_stream_name, stream_path
from astra_ls.store.results import Appended, AppendResult, Refused, StoreError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RemoteAppended(Appended):
    sequence: int = 0  # the JetStream stream sequence of the event
    duplicate: bool = False  # an earlier attempt of this very append had landed; nothing was added
    placed: bool = True  # False: stored, but its line could not be read back (line and count unknown)

    def to_json(self) -> dict[str, Any]:
        answer = {**Appended.to_json(self), "sequence": self.sequence, "duplicate": self.duplicate}
        if not self.placed:
            answer.update(line=None, count=None)
        return answer


def find_remote(config: WorkspaceConfig, name: str) -> RemoteConfig:
    for remote in config.remote:
        if remote.name == name:
            return remote
    known = ", ".join(r.name for r in config.remote) or "none is configured"
    raise ConfigError(f"no remote store named {name!r} in astra-ls.toml ([[remote]] entries: {known})")


class RemoteStore:
    """The `EventStore` of one remote: its streams are subjects of one JetStream stream."""

    def __init__(self, remote: RemoteConfig, workspace: Path, config: WorkspaceConfig, trusted: bool = False,
                 link: Link | None = None) -> None:
        self.root = mirror_root(remote)
        (self.root / ASTRA_DIR).mkdir(parents=True, exist_ok=True)
        self.config = config
        self.analyses = StreamAnalyses(workspace.absolute(), config, trusted, self.path_of)
        self.remote = remote
        self.link = link if link is not None else Link(remote, workspace.absolute(), trusted)
        self._mirrors: dict[str, Mirror] = {}

    @property
    def remote_name(self) -> str:
        return self.remote.name

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
        with self.lock(stream):
            return self._sync_locked(stream)

    def _sync_locked(self, stream: str) -> list[Message]:
        """`sync` for a caller holding the stream lock. The mirror is shared by every process on the
        machine: its end and the server's are read under the lock, so neither is older than the other."""
        subject = self.remote.subject_of(stream)
        js = self.link.jetstream()
        mirror = self.mirror(stream)
        mirror.load()
        last = self._run(lambda: last_sequence(js, self.remote, subject))
        if last < mirror.last_seq and self._lost(stream, mirror):  # purged or re-created: start over
            mirror.reset()
        if last <= mirror.last_seq:
            return []

        async def fetch() -> list[Message]:
            new: list[Message] = []
            async for batch in read_after(js, self.remote, subject, mirror.last_seq, last):
                mirror.add(batch)
                new.extend(batch)
            return new

        return self._run(fetch)

    def _lost(self, stream: str, mirror: Mirror) -> bool:
        """Whether the server no longer holds the mirror's last message. A subject's last sequence that is
        older than the mirror's proves nothing by itself: the mirror is only ever written from the server."""
        seq = mirror.last_seq
        found = self._run(lambda: message_at(self.link.jetstream(), self.remote, seq))
        return (found is None or found.subject != self.remote.subject_of(stream)
                or line_of(found.data) != mirror.line(-1))

    def refresh(self, stream: str) -> Change:
        """Mirror what JetStream has, then bring the analysis up to date (reading only the new tail)."""
        with self.lock(stream):
            self._sync_locked(stream)
            return self.analyses.refresh(stream)

    def mirrored(self, stream: str) -> StoreAnalysis | None:
        """The analysis of what is already mirrored, without asking the server."""
        self.analyses.refresh(stream)
        return self.analyses.followed(stream).analysis

    # --- the engine's view --------------------------------------------------------------------------

    def setup(self, stream: str) -> StreamSetup:
        return self.analyses.setup(stream)

    def stamp(self, stream: str) -> FileStamp | None:
        return self.analyses.followed(stream).stamp

    def analysis(self, stream: str) -> StoreAnalysis:
        return self.analyses.current(stream, self.refresh(stream), self.uri_of(stream))

    def reader(self, stream: str) -> ReadRange:
        return self.analyses.followed(stream).read

    def replayer(self, stream: str) -> Replayer:
        return self.analyses.replayer(stream)

    def problems(self, stream: str) -> list[Problem]:
        return self.analyses.problems(stream, self.analysis(stream))

    def lock(self, stream: str) -> AbstractContextManager[None]:
        """The mirror's lock: every process on this machine shares the mirror (writers elsewhere are
        ordered by JetStream's expected-last-sequence check, not by this lock)."""
        return stream_lock(self.path_of(stream))

    # --- appending ----------------------------------------------------------------------------------

    def append(self, stream: str, event: Any, expected_count: int | None = None) -> AppendResult:
        try:
            return self._append(stream, event, expected_count)
        except (StoreError, PathRefused, ConfigError, OSError) as error:
            refused = refusal(stream, error)
            assert refused is not None
            return refused

    def _append(self, stream: str, event: Any, expected_count: int | None) -> AppendResult:
        stream = self.resolve(stream)
        payload = self.analyses.validated_line(stream, event).rstrip(b"\n")
        subject = self.remote.subject_of(stream)
        js = self.link.jetstream()
        self._run(lambda: ensure_stream(js, self.remote))
        mirror = self.mirror(stream)
        expected_last = None
        with self.lock(stream):
            self._sync_locked(stream)
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
            # lost: only our Msg-Id among the subject's newer messages tells the two apart.
            assert expected_count is not None and expected_last is not None
            seq = self.landed(stream, expected_last, msg_id)
            if seq is None:
                return _mismatch(stream, expected_count, self._count_now(stream))
            published = Published(seq, duplicate=True)
        return self._placed(stream, published, payload)

    def landed(self, stream: str, after: int, msg_id: str) -> int | None:
        """The sequence of the stream's message carrying `msg_id` above `after`, asked of the server (the
        shared mirror may have taken it in through another process's sync already)."""
        subject = self.remote.subject_of(stream)
        return self._run(lambda: find_msg_id(self.link.jetstream(), self.remote, subject, after, msg_id))

    def _placed(self, stream: str, published: Published, payload: bytes) -> AppendResult:
        """The answer to an append JetStream stored: where it sits in the mirror. Reading that back may
        fail (the server went away right after its acknowledgement); the append was stored all the same,
        so the answer is still ok, saying only what is known."""
        mirror = self.mirror(stream)
        try:
            with self.lock(stream):
                self._sync_locked(stream)
                line = mirror.line_of_seq(published.seq)
                count = self._count(stream)
                stored = mirror.line(line) if line is not None and published.duplicate else None
        except (StoreError, OSError):
            line = stored = None
        if stored is not None and stored != line_of(payload):
            assert line is not None
            return Refused("DUPLICATE_ID", f"{stream} already holds an event with this id, at line {line + 1}, "
                           "with other content; nothing was appended (give the event a new id)",
                           {"line": line + 1})
        if line is None:
            return RemoteAppended(self.uri_of(stream), 0, 0, sequence=published.seq, duplicate=published.duplicate,
                                  placed=False)
        return RemoteAppended(self.uri_of(stream), line + 1, count, sequence=published.seq,
                              duplicate=published.duplicate)

    def publish(self, subject: str, payload: bytes, msg_id: str, expected_last: int | None) -> Published:
        """One publish; it retries by itself, where the Msg-Id makes that safe."""
        js = self.link.jetstream()
        return self._run(lambda: publish(js, self.remote, subject, payload, msg_id, expected_last), retry=False)

    def _count(self, stream: str) -> int:
        """Events in the mirror as it is (callers hold the stream lock, or accept a moving answer)."""
        analysis = self.mirrored(stream)
        return analysis.event_count() if analysis is not None else 0

    def _count_now(self, stream: str) -> int:
        with self.lock(stream):
            self._sync_locked(stream)
            return self._count(stream)

    def msg_id(self, stream: str, event: dict[str, Any], payload: bytes, expected_count: int | None) -> str:
        """A Nats-Msg-Id that is the same for every attempt of one append, even across processes.

        Streams whose events carry unique ids use the id: re-running an append whose answer was lost
        cannot add the event twice. Elsewhere (e.g. entity streams, where many events share an id) the
        event's bytes and expected position are used, so distinct events never collapse into one.
        """
        setup = self.analyses.setup(stream)
        key = field_value(event, setup.rules.line.id_field)  # the stream's own id field
        if setup.rule.unique_ids and key is not None:
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
