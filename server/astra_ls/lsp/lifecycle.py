"""Start-up, settings and workspace folders: what the client tells the server about the world.

The first scan starts as soon as the client says `initialized`, under the settings sent with
`initialize` (the VS Code extension sends its `astra` section there): stores the index cache holds are
published at once. The settings pulled afterwards only cost a second scan when they differ. A client that
sent none but can be asked is asked first: diagnostics under settings it never had would be wrong for a
moment.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from astra_ls.core.parallel import shutdown_pool
from astra_ls.lsp.checks import Checks
from astra_ls.lsp.client import SessionClient
from astra_ls.lsp.client_watch import watch_client
from astra_ls.lsp.config_diagnostics import ConfigDiagnostics
from astra_ls.lsp.log import forward_logging
from astra_ls.lsp.options import InitializationOptions, parse_options
from astra_ls.lsp.remote import RemoteStores
from astra_ls.lsp.text_sync import TextSync
from astra_ls.lsp.warmup import CheckpointWarmer
from astra_ls.lsp.watching import StoreWatcher
from astra_ls.lsp.workers import Workers
from astra_ls.lsp.workspace_state import Workspaces
from astra_ls.store.index_cache import open_index_cache
from astra_ls.store.paths import PathRefused, path_from_uri

SECTION = "astra"
SAVE_TIMEOUT_S = 10.0  # at shutdown, for the index cache's writes


class Lifecycle:
    def __init__(self, client: SessionClient, workspaces: Workspaces, workers: Workers, checks: Checks,
                 remote: RemoteStores, text_sync: TextSync, watcher: StoreWatcher, warmer: CheckpointWarmer,
                 config_diagnostics: ConfigDiagnostics) -> None:
        self._client = client
        self._workspaces = workspaces
        self._workers = workers
        self._checks = checks
        self._remote = remote
        self._text_sync = text_sync
        self._watcher = watcher
        self._warmer = warmer
        self._config_diagnostics = config_diagnostics
        self.pushed: dict[str, Any] = {}  # settings a client without workspace/configuration pushed
        self.sent_settings = False  # whether `initialize` carried the client's settings
        self.scan: asyncio.Task[None] | None = None

    def register(self, server: LanguageServer) -> None:
        @server.feature(lsp.INITIALIZE)
        def initialize(params: lsp.InitializeParams) -> None:
            self.initialize(params)

        @server.feature(lsp.INITIALIZED)
        async def initialized(params: lsp.InitializedParams) -> None:
            await self.initialized()

        @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
        async def configuration_changed(params: lsp.DidChangeConfigurationParams) -> None:
            await self.configuration_changed(params)

        @server.feature(lsp.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
        async def folders_changed(params: lsp.DidChangeWorkspaceFoldersParams) -> None:
            await self.reload()

        @server.feature(lsp.SHUTDOWN)
        def shutdown(params: None) -> None:
            self.shutdown()

    def initialize(self, params: lsp.InitializeParams) -> None:
        watch_client(params.process_id)  # the server ends when the client's process does
        options, problems = parse_options(params.initialization_options)
        forward_logging(self._client, options.log_level)
        for problem in problems:
            self._client.log(problem, lsp.MessageType.Warning)
        self.open_index_cache(options)
        # the settings the client sent along (if any) until it is asked for them, once initialized; a
        # client that cannot be asked keeps them until it pushes others
        self.pushed = options.settings
        self.sent_settings = params.initialization_options is not None and "settings" in (
            params.initialization_options if isinstance(params.initialization_options, dict) else {})
        self._workspaces.configure(self.folders(), options.settings, options.trusted)
        self._checks.follow_client(params.capabilities)

    def open_index_cache(self, options: InitializationOptions) -> None:
        cache = open_index_cache(options.cache_dir, options.index_cache)
        self._workspaces.index_cache = cache
        self._client.log(f"index cache: {cache.folder if cache else 'off'}", lsp.MessageType.Log)

    def folders(self) -> list[Path]:
        found = []
        for folder in self._client.workspace.folders.values():
            try:
                found.append(path_from_uri(folder.uri))
            except PathRefused:
                self._client.log(f"ignoring workspace folder {folder.uri}: not a file URI", lsp.MessageType.Warning)
        root = self._client.workspace.root_uri
        if not found and root:
            found.append(path_from_uri(root))
        return found

    async def initialized(self) -> None:
        workspace = self._client.client_capabilities.workspace
        if self.sent_settings or not (workspace and workspace.configuration):
            self._start_scan()  # under the settings sent with `initialize`: cached stores are published now
        await self._register_configuration()
        settings = await self.settings()
        if settings != self._workspaces.settings.values or self.scan is None:
            await self.reload(settings)
        else:
            await self._settings_applied()

    async def reload(self, settings: dict[str, Any] | None = None) -> None:
        """Re-read settings (unless given) and files, re-check every store and every open buffer."""
        if settings is None:
            settings = await self.settings()
        workspaces = self._workspaces
        workspaces.configure(self.folders(), settings, workspaces.trusted)
        await self._settings_applied()
        self._start_scan()

    async def _settings_applied(self) -> None:
        """Tell what is wrong in the configuration, watch its globs, re-bind open buffers."""
        workspaces = self._workspaces
        for folder in workspaces.folders:
            workspaces.store_at(folder)  # reads the folder's configuration now, so its errors are told now
        await self._watcher.watch()  # the globs may have changed
        await self._watcher.watch_config()  # and the schema files in use
        self._text_sync.rebind_all()

    def _start_scan(self) -> None:
        if self.scan is not None and not self.scan.done():
            self.scan.cancel()
        self.scan = asyncio.ensure_future(self._scan())

    async def _scan(self) -> None:
        await self._config_diagnostics.publish()  # what the files say at once; what the stores' set-up found
        await self._checks.scan_all()
        await self._remote.scan()  # remote stores (if any are configured) after the local ones
        await self._config_diagnostics.publish()  # after
        self._warmer.start()  # time-travel checkpoints, ahead of the first hovers

    async def settings(self) -> dict[str, Any]:
        workspace = self._client.client_capabilities.workspace
        if not (workspace and workspace.configuration):
            return self.pushed
        try:
            answer = await self._client.workspace_configuration_async(
                lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section=SECTION)]))
        except Exception as error:
            self._client.log(f"could not read the editor's settings: {error}", lsp.MessageType.Warning)
            return {}
        value = answer[0] if answer else None
        return value if isinstance(value, dict) else {}

    async def _register_configuration(self) -> None:
        workspace = self._client.client_capabilities.workspace
        change = workspace.did_change_configuration if workspace else None
        if not (change and change.dynamic_registration):
            return
        await self._client.client_register_capability_async(lsp.RegistrationParams(registrations=[
            lsp.Registration(id="astra-configuration", method=lsp.WORKSPACE_DID_CHANGE_CONFIGURATION,
                             register_options={"section": SECTION})]))

    async def configuration_changed(self, params: lsp.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get(SECTION), dict):
            self.pushed = settings[SECTION]
        await self.reload()

    def shutdown(self) -> None:
        self._client.cancel_requests()
        self._watcher.stop()
        self._warmer.stop()
        if self.scan is not None:
            self.scan.cancel()
        self._workers.stop()
        shutdown_pool()  # the spawned scan workers
        self._workspaces.save_indexes(SAVE_TIMEOUT_S)
