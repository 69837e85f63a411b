"""`workspace/executeCommand`: the shared command layer, run in a worker, per store file under its lock."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from astra_ls.commands import ALL_STORES, COMMANDS, Answer, execute, listing, validate_args
from astra_ls.lsp.checks import Checks
from astra_ls.lsp.documents import OpenDocuments
from astra_ls.lsp.remote import RemoteStores
from astra_ls.lsp.workers import Workers
from astra_ls.lsp.workspace_state import Workspaces
from astra_ls.store.base import EventStore
from astra_ls.store.follow import read_range
from astra_ls.store.results import InvalidArguments, Refused

log = logging.getLogger(__name__)

CHANGING = frozenset({"astra.append", "astra.quarantine", "astra.compact", "astra.convertEncoding", "astra.upcast"})


class Commands:
    def __init__(self, workspaces: Workspaces, documents: OpenDocuments, checks: Checks, workers: Workers,
                 remote: RemoteStores) -> None:
        self._workspaces = workspaces
        self._documents = documents
        self._checks = checks
        self._workers = workers
        self._remote = remote

    def register(self, server: LanguageServer) -> None:
        def handler(command: str) -> Callable[..., Awaitable[Answer]]:
            # pygls passes the server first to a parameter named `ls`; every other argument is the client's.
            async def run(ls: object, *args: object) -> Answer:
                return await self.run(command, args)

            return run

        for command in COMMANDS:
            server.command(command)(handler(command))

    async def run(self, command: str, args: tuple[object, ...]) -> Answer:
        raw = self._one_argument(command, args)
        try:
            validate_args(command, raw)
        except InvalidArguments as error:
            raise JsonRpcInvalidParams(str(error)) from None
        if command == "astra.listStores":
            return await self._list_stores()
        assert isinstance(raw, dict)
        ref = _routing_ref(raw)
        owner = self._workspaces.locate_ref(ref)
        if owner is None:
            return Refused("STORE_NOT_FOUND", f"no workspace folder is open to hold {ref!r}").to_json()
        store, ref = owner
        if raw.get("store") is not None:  # a query across stores names them in `stores` instead
            raw = {**raw, "store": ref}
        path = _path_of(store, ref)
        if command in CHANGING and path is not None:
            refused = await self._unsaved(path)
            if refused is not None:
                return refused
        answer = await self._workers.run(lambda: self._execute(store, _paths_of(store, ref, raw), command, raw))
        if command in CHANGING and path is not None and answer.get("ok"):
            located = self._workspaces.locate_path(path)
            if located is not None:
                await self._checks.check_disk(located, changed=True)
        return answer

    @staticmethod
    def _one_argument(command: str, args: tuple[object, ...]) -> object:
        if command == "astra.listStores" and not args:
            return {}
        if len(args) != 1:
            raise JsonRpcInvalidParams(f"{command} takes exactly one JSON object argument, not {len(args)} "
                                       "(see docs/protocol.md)")
        return args[0]

    def _execute(self, store: EventStore, paths: list[Path], command: str, raw: Any) -> Answer:
        try:
            with ExitStack() as locks:
                for path in paths:  # in one order (sorted), so two commands never wait on each other
                    locks.enter_context(self._workspaces.lock(path))
                return execute(store, command, raw)
        except InvalidArguments as error:
            raise JsonRpcInvalidParams(str(error)) from None

    async def _unsaved(self, path: Path) -> Answer | None:
        """A store open with unsaved edits is not written behind the editor's back."""
        uri = path.absolute().as_uri()
        doc = self._documents.get(uri)
        if doc is None or not doc.dirty:
            return None
        data = doc.buffer.data
        try:
            same = await self._workers.run(lambda: read_range(path, 0, len(data) + 1) == data)
        except OSError:
            same = False
        if same:  # edited and then undone: nothing would be lost
            doc.dirty = False
            return None
        return Refused("UNSAVED_CHANGES",
                       f"{path.name} is open with unsaved changes: save or revert it first, then try again",
                       {"uri": uri}).to_json()

    async def _list_stores(self) -> Answer:
        def work() -> Answer:
            workspaces = self._workspaces
            found, skipped = workspaces.discovery()
            answer = listing([(located.store, located.stream, name) for located, name in found], skipped,
                             workspaces.lock)
            answer["stores"].extend(self._remote.listed())  # remote stores, beside the local ones
            answer["skipped"].extend(self._remote.skipped())
            return answer

        return await self._workers.run(work)


def _routing_ref(raw: dict[str, Any]) -> str:
    """The reference that names the workspace a command runs in: its `store`, else the first of its
    `stores` (a query across stores), else "" (the first folder)."""
    if raw.get("store") is not None:
        return str(raw["store"])
    named = [str(ref) for ref in raw.get("stores") or [] if ref != ALL_STORES]
    return named[0] if named else ""


def _paths_of(store: EventStore, ref: str, raw: dict[str, Any]) -> list[Path]:
    """The files a command reads or writes, for their locks, sorted."""
    if raw.get("stores") is None:
        path = _path_of(store, ref)
        return [] if path is None else [path]
    refs = store.streams() if ALL_STORES in raw["stores"] else [str(r) for r in raw["stores"]]
    return sorted({p for p in (_path_of(store, r) for r in refs) if p is not None})


def _path_of(store: EventStore, ref: str) -> Path | None:
    """The file a command will touch, for its lock; None when the reference is bad (the command says why)."""
    try:
        return store.path_of(store.resolve(ref)).absolute()
    except Exception as error:
        log.debug("no file to lock for %r (%r): the command says why", ref, error)
        return None
