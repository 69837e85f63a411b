"""Live updates: a JetStream consumer that says which event streams of a remote store just grew.

An ordered push consumer on `<prefix>.>` delivering only new messages, headers only (the payloads are
fetched by the next mirror sync, in order, so a lost notification costs nothing but latency).
"""

from __future__ import annotations

from collections.abc import Callable

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext, api

from astra_ls.remote.store import RemoteStore


async def follow(store: RemoteStore, js: JetStreamContext, on_change: Callable[[str], None]) -> Subscription:
    """Call `on_change(stream)` (on the link's loop) for each message appended to any stream of `store`.

    `js` comes from the caller's thread: connecting waits on the link's loop, which this coroutine runs on.
    """
    prefix = store.remote.prefix + "."

    async def delivered(msg: Msg) -> None:
        if msg.subject.startswith(prefix):
            on_change(msg.subject.removeprefix(prefix))

    return await js.subscribe(f"{prefix}>", stream=store.remote.js_stream, cb=delivered, ordered_consumer=True,
                              deliver_policy=api.DeliverPolicy.NEW, headers_only=True, idle_heartbeat=5.0)
