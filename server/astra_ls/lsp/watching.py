"""Stores changed by other programs: the client's file watcher when it has one, else a stat poller."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from astra_ls.config import CONFIG_FILES
from astra_ls.lsp.checks import Checks
from astra_ls.lsp.client import RegistrationClient
from astra_ls.lsp.workers import Workers
from astra_ls.lsp.workspace_state import Workspaces
from astra_ls.store.paths import PathRefused, path_from_uri

POLL_INTERVAL_S = 0.5
WATCH_ID = "astra-watch"
CONFIG_WATCH_ID = "astra-watch-config"
Stamp = tuple[int, int, int]  # inode, size, mtime


class StoreWatcher:
    def __init__(self, workspaces: Workspaces, checks: Checks, workers: Workers, client: RegistrationClient,
                 reload: Callable[[], Awaitable[None]]) -> None:
        """`reload`: re-read the settings and files and re-check every store (a configuration file changed)."""
        self._workspaces = workspaces
        self._checks = checks
        self._workers = workers
        self._client = client
        self._reload_all = reload
        self.client_watches = False
        self._poller: asyncio.Task[None] | None = None
        self._stamps: dict[Path, Stamp] = {}
        self._globs: tuple[str, ...] = ()  # what the client's watchers (or the poller) follow
        self._config_inputs: frozenset[Path] = frozenset()  # configuration and schema files followed
        self._config_watched = False
        self._config_stamps: dict[Path, Stamp | None] = {}
        self._reload: asyncio.Task[None] | None = None

    async def watch(self) -> None:
        """Watch the stores the settings name (again after they changed): the client's watchers are
        registered anew when the globs changed; a poller follows the settings by itself."""
        globs = self._workspaces.settings.globs
        if globs == self._globs or self._poller is not None:
            self._globs = globs
            return
        if self.client_watches:
            self.client_watches = False
            await self._unregister(WATCH_ID)
        self._globs = globs
        if self._client_can_watch() and await self._register([lsp.FileSystemWatcher(glob_pattern=glob)
                                                              for glob in globs], WATCH_ID):
            self.client_watches = True
            return
        # What is there now is checked by the scan that follows; the poller reports what moves after this.
        self._stamps = await self._workers.run(self._stat_all)
        self._poller = asyncio.ensure_future(self._poll())

    def _client_can_watch(self) -> bool:
        workspace = self._client.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace else None
        return bool(watched and watched.dynamic_registration)

    async def _register(self, watchers: list[lsp.FileSystemWatcher], registration: str) -> bool:
        try:
            await self._client.client_register_capability_async(lsp.RegistrationParams(registrations=[
                lsp.Registration(id=registration, method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                 register_options=lsp.DidChangeWatchedFilesRegistrationOptions(watchers))]))
        except Exception as error:
            self._client.log(f"the editor refused to watch files ({error}); polling instead", lsp.MessageType.Warning)
            return False
        return True

    async def _unregister(self, registration: str) -> None:
        try:
            await self._client.client_unregister_capability_async(lsp.UnregistrationParams(unregisterations=[
                lsp.Unregistration(id=registration, method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)]))
        except Exception as error:  # the new registration replaces it in the editor's eyes anyway
            self._client.log(f"the editor refused to drop the old file watchers: {error}", lsp.MessageType.Warning)

    async def watch_config(self) -> None:
        """Follow the configuration files and the schema files in use: a change reloads the rules and
        re-checks every store (no restart). The client's watchers when it has them, else the poller."""
        inputs = frozenset(await self._workers.run(self._workspaces.config_inputs))
        self._config_stamps = {p: _stamp(p) for p in inputs}
        if inputs == self._config_inputs and (self._config_watched or self._poller is not None):
            return
        self._config_inputs = inputs
        if not self._client_can_watch():
            return  # the poller stats them with the stores
        if self._config_watched:
            await self._unregister(CONFIG_WATCH_ID)
        watchers = [lsp.FileSystemWatcher(glob_pattern=f"**/{name}") for name in CONFIG_FILES]
        for folder in self._workspaces.folders:
            watchers.extend(lsp.FileSystemWatcher(glob_pattern=lsp.RelativePattern(
                base_uri=folder.as_uri(), pattern=path.relative_to(folder).as_posix()))
                for path in sorted(inputs) if path.name not in CONFIG_FILES and path.is_relative_to(folder))
        self._config_watched = await self._register(watchers, CONFIG_WATCH_ID)

    def _is_config_input(self, path: Path) -> bool:
        path = path.absolute()
        if path.name in CONFIG_FILES and path.parent in self._workspaces.folders:
            return True  # known before the schema files in use are (a change can come that early)
        return path in self._config_inputs

    def _reload_soon(self) -> None:
        """Reload once for a burst of changes (an editor's save can report a file two or three times)."""
        if self._reload is None or self._reload.done():
            self._reload = asyncio.ensure_future(self._reload_after())

    async def _reload_after(self) -> None:
        await asyncio.sleep(0.1)
        try:
            await self._reload_all()
        except Exception as error:
            self._client.log(f"reloading the configuration failed: {error!r}", lsp.MessageType.Error)

    def register(self, server: LanguageServer) -> None:
        @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
        async def watched_files_changed(params: lsp.DidChangeWatchedFilesParams) -> None:
            await self.changed(params)

    def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()

    async def changed(self, params: lsp.DidChangeWatchedFilesParams) -> None:
        for event in params.changes:
            try:
                path = path_from_uri(event.uri)
            except PathRefused:
                continue
            if self._is_config_input(path):
                self._reload_soon()
                continue
            await self.check(path)

    async def check(self, path: Path) -> None:
        located = self._workspaces.locate_path(path)
        if located is not None:
            await self._checks.check_disk(located)

    async def _poll(self) -> None:
        """Stat every store twice a second; only files whose stamp moved are re-checked."""
        while True:
            await asyncio.sleep(POLL_INTERVAL_S)
            try:
                stamps = await self._workers.run(self._stat_all)
                changed = [p for p, s in stamps.items() if self._stamps.get(p) != s]
                gone = [p for p in self._stamps if p not in stamps]
                self._stamps = stamps
                for path in changed + gone:
                    await self.check(path)
                config = {p: _stamp(p) for p in self._config_inputs}
                if config != self._config_stamps:
                    self._config_stamps = config
                    self._reload_soon()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a poll that fails once must not stop watching for good
                self._client.log(f"watching stores failed: {error!r}", lsp.MessageType.Warning)

    def _stat_all(self) -> dict[Path, Stamp]:
        stamps: dict[Path, Stamp] = {}
        for located in self._workspaces.discover():
            try:
                info = os.stat(located.path)
            except OSError:
                continue
            stamps[located.path] = (info.st_ino, info.st_size, info.st_mtime_ns)
        return stamps


def _stamp(path: Path) -> Stamp | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)
