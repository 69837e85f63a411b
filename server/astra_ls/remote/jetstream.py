"""The JetStream requests astra-ls makes: stream set-up, a subject's tail, reading in order, publishing.

Everything here is a coroutine run on the `Link`'s loop; errors are turned into `StoreError`s with the
codes the rest of astra-ls reports (UNREACHABLE, STORE_NOT_FOUND, EXPECTED_COUNT_MISMATCH, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext, api

from astra_ls.remote.link import TRANSIENT
from astra_ls.remote.settings import RemoteConfig
from astra_ls.store.results import StoreError

# JetStream API error codes (nats-server's errors.json).
STREAM_NOT_FOUND = 10059
NO_MESSAGE_FOUND = 10037
WRONG_LAST_SEQUENCE = 10071
STREAM_IN_USE = 10058

MSG_ID = "Nats-Msg-Id"
EXPECTED_LAST_SUBJECT_SEQUENCE = "Nats-Expected-Last-Subject-Sequence"
# Retries rely on JetStream's de-duplication by Nats-Msg-Id, which only spans this window: astra-ls never
# retries for longer than a fraction of it.
DUPLICATE_WINDOW = 120.0
FETCH_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Message:
    seq: int  # the stream sequence: JetStream's order, and what expected-last-sequence compares with
    data: bytes
    msg_id: str | None
    subject: str | None = None  # known when the message was fetched by sequence alone


@dataclass(frozen=True, slots=True)
class Published:
    seq: int
    duplicate: bool  # JetStream had this Msg-Id already: an earlier attempt landed, nothing was added


class WrongLastSequence(Exception):
    """Another writer appended to the subject after the sequence the publish expected."""


def _not_found(remote: RemoteConfig) -> StoreError:
    return StoreError("STORE_NOT_FOUND", f"remote store {remote.name!r}: JetStream stream {remote.js_stream!r} "
                      "does not exist (push or append to create it)", {"remote": remote.name})


async def ensure_stream(js: JetStreamContext, remote: RemoteConfig) -> None:
    """Create the JetStream stream on first write; an existing one is used as it is configured."""
    try:
        await js.stream_info(remote.js_stream)
        return
    except nats.js.errors.NotFoundError:
        pass
    config = api.StreamConfig(
        name=remote.js_stream,
        subjects=[f"{remote.prefix}.>"],
        num_replicas=remote.replicas,
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        discard=api.DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW,
        allow_direct=True,
    )
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError as error:
        if error.err_code != STREAM_IN_USE:  # another writer created it first: fine
            raise


async def subjects(js: JetStreamContext, remote: RemoteConfig) -> dict[str, int]:
    """Message counts of every subject under the remote's prefix."""
    try:
        info = await js.stream_info(remote.js_stream, subjects_filter=f"{remote.prefix}.>")
    except nats.js.errors.NotFoundError:
        raise _not_found(remote) from None
    return dict(info.state.subjects or {})


async def last_sequence(js: JetStreamContext, remote: RemoteConfig, subject: str) -> int:
    """The stream sequence of the subject's last message; 0 when it has none."""
    try:
        message = await js.get_last_msg(remote.js_stream, subject)
    except nats.js.errors.NotFoundError as error:
        if error.err_code == STREAM_NOT_FOUND:
            raise _not_found(remote) from None
        return 0
    return int(message.seq or 0)


async def message_at(js: JetStreamContext, remote: RemoteConfig, seq: int) -> Message | None:
    """The message stored at stream sequence `seq` with its subject; None when there is none (purged, or a
    re-created stream that has not reached it). Asked of the stream leader, like `last_sequence`."""
    try:
        message = await js.get_msg(remote.js_stream, seq)
    except nats.js.errors.NotFoundError as error:
        if error.err_code == STREAM_NOT_FOUND:
            raise _not_found(remote) from None
        return None
    return Message(int(message.seq or seq), message.data or b"", (message.headers or {}).get(MSG_ID),
                   message.subject)


async def find_msg_id(js: JetStreamContext, remote: RemoteConfig, subject: str, after: int,
                      msg_id: str) -> int | None:
    """The stream sequence of the subject's message carrying `msg_id` above sequence `after`, if any."""
    until = await last_sequence(js, remote, subject)
    async with contextlib.aclosing(read_after(js, remote, subject, after, until)) as batches:
        async for batch in batches:
            for message in batch:
                if message.msg_id == msg_id:
                    return message.seq
    return None


async def read_after(js: JetStreamContext, remote: RemoteConfig, subject: str, after: int,
                     until: int) -> AsyncGenerator[list[Message], None]:
    """The subject's messages with a stream sequence above `after`, through at least `until`, in batches.

    An ordered consumer delivers in sequence order and restarts itself on a gap, so nothing is skipped
    even when the server it reads from fails over.
    """
    if until <= after:
        return
    sub = await js.subscribe(subject, stream=remote.js_stream, ordered_consumer=True,
                             deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
                             config=api.ConsumerConfig(opt_start_seq=after + 1), idle_heartbeat=2.0)
    try:
        batch: list[Message] = []
        while True:
            msg = await sub.next_msg(timeout=remote.timeout)
            meta = msg.metadata
            headers = msg.headers or {}
            batch.append(Message(meta.sequence.stream, msg.data, headers.get(MSG_ID)))
            done = meta.sequence.stream >= until and not meta.num_pending
            if done or len(batch) >= FETCH_BATCH:
                yield batch
                batch = []
            if done:
                return
    finally:
        with contextlib.suppress(nats.errors.Error):
            await sub.unsubscribe()


async def publish(js: JetStreamContext, remote: RemoteConfig, subject: str, data: bytes, msg_id: str,
                  expected_last: int | None) -> Published:
    """Publish once, retrying with backoff on transient failures (safe: the Msg-Id de-duplicates).

    A wrong-last-sequence answer to a retry may mean our own earlier attempt landed: the caller checks
    the subject's new messages for our Msg-Id before calling it a conflict.
    """
    headers = {MSG_ID: msg_id}
    if expected_last is not None:
        headers[EXPECTED_LAST_SUBJECT_SEQUENCE] = str(expected_last)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(remote.retry_seconds, DUPLICATE_WINDOW / 2)
    delay = 0.1
    while True:
        try:
            ack = await js.publish(subject, data, timeout=remote.timeout, stream=remote.js_stream, headers=headers)
            return Published(int(ack.seq), bool(ack.duplicate))
        except nats.js.errors.APIError as error:
            if error.err_code == WRONG_LAST_SEQUENCE:
                raise WrongLastSequence(error.description or "wrong last sequence") from None
            if error.err_code == STREAM_NOT_FOUND:
                raise _not_found(remote) from None
            if not isinstance(error, nats.js.errors.ServiceUnavailableError) and error.code != 503:
                raise StoreError("REMOTE_REFUSED", f"JetStream refused the append: {error.description or error}",
                                 {"code": error.code, "errCode": error.err_code}) from None
            failure: BaseException = error
        except TRANSIENT as error:
            failure = error
        if loop.time() + delay > deadline:
            raise StoreError("UNREACHABLE", f"remote store {remote.name!r}: append not acknowledged after "
                             f"retrying for {remote.retry_seconds:g}s ({type(failure).__name__}: {failure}); "
                             "it may or may not have landed: re-read before appending it again",
                             {"remote": remote.name, "msgId": msg_id})
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)
