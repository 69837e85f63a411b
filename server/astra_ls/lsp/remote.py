"""Remote stores in the editor: checked beside local ones, shown read-only, updated live.

- `astra/remoteDocument {uri}` answers the mirror's text of an `astra-remote://<remote>/<stream>` URI,
  for the client's read-only virtual document (hover and diagnostics then work as on files).
- Each remote store gets a JetStream consumer (see `remote/live.py`); when another machine appends, the
  stream's mirror is synced and its diagnostics republished, and `astra/storeChanged` tells the client.
"""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from functools import partial
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from astra_ls.commands import execute
from astra_ls.lsp.checks import Checks
from astra_ls.lsp.client import ClientLog
from astra_ls.lsp.workers import Workers
from astra_ls.lsp.workspace_state import Located, Workspaces
from astra_ls.remote.settings import SCHEME
from astra_ls.store.results import StoreError

if TYPE_CHECKING:
    from astra_ls.remote.store import RemoteStore

REMOTE_DOCUMENT = "astra/remoteDocument"
SETTLE_S = 0.05  # a burst of appends from another machine costs one sync


class RemoteStores:
    def __init__(self, workspaces: Workspaces, checks: Checks, workers: Workers, client: ClientLog) -> None:
        self._workspaces = workspaces
        self._checks = checks
        self._workers = workers
        self._client = client
        self._following: dict[RemoteStore, Any] = {}  # store -> its live subscription
        self._pending: set[str] = set()
        self._flush: asyncio.TimerHandle | None = None
        self._recheck_task: asyncio.Task[None] | None = None

    def located(self) -> list[Located]:
        """Every stream of every reachable remote store (worker thread: this asks the servers)."""
        found: list[Located] = []
        for name, store in self._workspaces.remote_stores().items():
            try:
                streams = store.streams()
            except StoreError as error:
                if error.refused.code != "STORE_NOT_FOUND":  # a remote nobody has written to yet is empty
                    self._client.log(f"remote store {name}: {error.refused.message}", lsp.MessageType.Warning)
                continue
            for stream in streams:
                located = self._workspaces.locate_uri(store.uri_of(stream))
                if located is not None:
                    found.append(located)
        return found

    async def scan(self) -> None:
        """Check every remote stream and start following the stores (after each (re)configuration)."""
        stores = await self._workers.run(lambda: self._workspaces.remote_stores())
        if stores and not self._workspaces.trusted:  # no connection until the folder is trusted
            for store in stores.values():
                self._client.log(store.link.untrusted().refused.message, lsp.MessageType.Warning)
            return
        for store in stores.values():
            await self._start_following(store)
        for located in await self._workers.run(self.located):
            await self.check(located)

    def skipped(self) -> list[dict[str, Any]]:
        """astra.listStores `skipped` entries for the remote stores an untrusted workspace declares."""
        if self._workspaces.trusted:
            return []
        return [{"path": f"{SCHEME}://{name}/", "reason": store.link.untrusted().refused.message}
                for name, store in self._workspaces.remote_stores().items()]

    def listed(self) -> list[dict[str, Any]]:
        """astra.listStores entries of every remote stream (worker thread), each store under its locks."""
        entries: list[dict[str, Any]] = []
        if not self._workspaces.trusted:
            return entries
        located = self.located()
        for name, store in self._workspaces.remote_stores().items():
            with ExitStack() as locks:
                for item in sorted((i for i in located if i.store is store), key=lambda i: str(i.path)):
                    locks.enter_context(self._workspaces.lock(item.path))
                answer = execute(store, "astra.listStores", {})
            if answer.get("ok"):
                entries.extend(answer["stores"])
            elif answer.get("code") != "STORE_NOT_FOUND":
                self._client.log(f"remote store {name}: {answer.get('message')}", lsp.MessageType.Warning)
        return entries

    async def check(self, located: Located) -> None:
        try:
            await self._checks.check_disk(located)
        except StoreError as error:
            self._client.log(f"{located.uri}: {error.refused.message}", lsp.MessageType.Warning)

    async def _start_following(self, store: RemoteStore) -> None:
        if store in self._following:
            return
        from astra_ls.remote.live import follow

        loop = asyncio.get_running_loop()

        def changed(stream: str) -> None:  # on the link's loop: hand over to the server's
            loop.call_soon_threadsafe(self._changed, store.uri_of(stream))

        try:
            self._following[store] = await self._workers.run(
                lambda: store.link.run(follow(store, store.link.jetstream(), changed)))
        except Exception as error:  # no stream yet, or unreachable: checks still work on request
            self._client.log(f"remote store {store.remote.name}: not following live updates ({error!r})",
                            lsp.MessageType.Warning)

    def _changed(self, uri: str) -> None:
        self._pending.add(uri)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(SETTLE_S, self._start_flush)

    def _start_flush(self) -> None:
        self._flush = None
        self._recheck_task = asyncio.ensure_future(self._recheck())

    async def _recheck(self) -> None:
        uris, self._pending = self._pending, set()
        workspaces = self._workspaces
        for uri in sorted(uris):
            located = await self._workers.run(partial(workspaces.locate_uri, uri))
            if located is not None:
                await self.check(located)

    async def document(self, uri: str) -> dict[str, Any]:
        if not uri.startswith(f"{SCHEME}:"):
            raise JsonRpcInvalidParams(f"{REMOTE_DOCUMENT}: {uri!r} is not an {SCHEME}: URI")

        def work() -> dict[str, Any]:
            located = self._workspaces.locate_uri(uri)
            if located is None:
                return {"ok": False, "code": "STORE_NOT_FOUND",
                        "message": f"no remote store in astra-ls.toml answers to {uri}", "details": {}}
            try:
                with self._workspaces.lock(located.path):
                    analysis = located.store.analysis(located.stream)
                    text = located.path.read_bytes()[: analysis.size].decode("utf-8", "replace")
            except StoreError as error:
                return error.refused.to_json()
            return {"ok": True, "uri": uri, "text": text, "events": analysis.event_count(), "readOnly": True}

        return await self._workers.run(work)


    def register(self, server: LanguageServer) -> None:
        @server.feature(REMOTE_DOCUMENT)
        async def remote_document(ls: object, params: Any) -> dict[str, Any]:
            uri = getattr(params, "uri", None)
            if not isinstance(uri, str):
                raise JsonRpcInvalidParams(f"{REMOTE_DOCUMENT} takes {{uri: 'astra-remote://<remote>/<stream>'}}")
            return await self.document(uri)
