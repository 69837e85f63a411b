"""A NATS connection usable from plain threads: nats-py is asyncio, the engine and its callers are not.

The connection lives on a private event loop in a daemon thread; `run` hands it a coroutine and waits.
The language server's worker threads and the CLI both call the store synchronously, so this is the one
place where the two worlds meet.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from astra_ls.remote.settings import RemoteConfig
from astra_ls.store.results import StoreError

T = TypeVar("T")

# Failures after which the request may be sent again: the server did not answer or is electing a leader.
TRANSIENT: tuple[type[BaseException], ...] = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    asyncio.TimeoutError,
    ConnectionError,
)


class Link:
    """One lazily opened connection to a remote's servers, on its own event loop thread."""

    def __init__(self, remote: RemoteConfig, root: Path, trusted: bool) -> None:
        self.remote = remote
        self.root = root
        self.trusted = trusted  # an untrusted workspace's configuration opens no connection, reads no credentials
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"nats-{remote.name}", daemon=True)
        self._thread.start()
        self._client: Client | None = None
        self._connecting = threading.Lock()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coroutine` on the link's loop and wait for it; a hung server becomes UNREACHABLE."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            # nats-py's own timeouts are TimeoutErrors too: only a future still running is ours.
            if future.done():
                raise
            future.cancel()
            raise self.unreachable("no answer in time") from None

    def unreachable(self, why: object) -> StoreError:
        servers = ", ".join(self.remote.servers)
        return StoreError("UNREACHABLE", f"remote store {self.remote.name!r} ({servers}): {why}",
                          {"remote": self.remote.name, "servers": self.remote.servers})

    def untrusted(self) -> StoreError:
        return StoreError("UNTRUSTED", f"remote store {self.remote.name!r} is declared by the configuration of a "
                          "workspace that is not trusted: astra-ls contacts no server and reads no credentials "
                          "file for it until you trust the folder (in the editor: trust the workspace; on the "
                          "command line: --trust)", {"remote": self.remote.name})

    def client(self) -> Client:
        if not self.trusted:  # the one place a connection is made: nothing below runs for an untrusted workspace
            raise self.untrusted()
        with self._connecting:
            if self._client is None or self._client.is_closed:
                self._client = self.run(self._connect(), timeout=self.remote.timeout + 2)
            return self._client

    def jetstream(self) -> JetStreamContext:
        return self.client().jetstream(timeout=self.remote.timeout)

    async def _connect(self) -> Client:
        creds = self.remote.credentials_path(self.root)
        if creds is not None and not creds.is_file():
            raise StoreError("CONFIG_ERROR", f"remote {self.remote.name!r}: credentials file {creds} not found")

        async def quiet(error: Exception) -> None:
            # nats-py logs every failed reconnect attempt; failures reach callers as exceptions instead.
            return None

        try:
            # With endless reconnects nats-py also retries the first connection forever: bound it here.
            return await asyncio.wait_for(nats.connect(
                servers=self.remote.servers,
                user_credentials=str(creds) if creds else None,
                connect_timeout=min(2.0, self.remote.timeout),
                # Keep reconnecting (to any server of the cluster) while the process lives: a node that
                # restarts or a leader that moves must not end a language server session.
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.25,
                error_cb=quiet,
                name="astra-ls",
            ), timeout=self.remote.timeout)
        except (TimeoutError, nats.errors.NoServersError, OSError, nats.errors.Error) as error:
            raise self.unreachable(f"cannot connect: {connect_failure(error, self.remote.timeout)}") from None

    def close(self) -> None:
        client = self._client
        if client is not None and not client.is_closed:
            with contextlib.suppress(StoreError):
                self.run(client.close(), timeout=2)
        self._client = None
        self.loop.call_soon_threadsafe(self.loop.stop)


def connect_failure(error: BaseException, timeout: float) -> str:
    """Why a connection failed, never empty (a timeout's own text is)."""
    if isinstance(error, TimeoutError):
        return (f"no server answered within {timeout:g} s (is NATS running there, and reachable from "
                "here?)")
    text = str(error).strip()
    return text or f"{type(error).__name__} (no details given)"
