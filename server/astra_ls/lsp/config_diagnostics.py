"""Configuration problems as diagnostics on `astra-ls.toml` / `pyproject.toml`, at the key at fault.

What a folder's configuration got wrong is known when it is read; what could not be used (workspace
code in an untrusted workspace, a schema file that does not load) once its stores are set up, so this
is published after every scan of the folders, and cleared from files that no longer have any.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from astra_ls.config import ConfigProblem
from astra_ls.lsp.client import DiagnosticsClient
from astra_ls.lsp.diagnostics import to_diagnostic
from astra_ls.lsp.workers import Workers
from astra_ls.lsp.workspace_state import Workspaces


class ConfigDiagnostics:
    def __init__(self, workspaces: Workspaces, workers: Workers, client: DiagnosticsClient) -> None:
        self._workspaces = workspaces
        self._workers = workers
        self._client = client
        self._published: set[str] = set()  # URIs of configuration files that have diagnostics now

    def gather(self) -> tuple[dict[str, list[ConfigProblem]], list[str]]:
        """Problems by configuration file URI, and the editor settings' own (they have no file)."""
        workspaces = self._workspaces
        by_uri: dict[str, list[ConfigProblem]] = {}
        for folder in list(workspaces.folders):
            for found in workspaces.store_at(folder).analyses.config_problems():
                if found.file is not None:
                    by_uri.setdefault(found.file.absolute().as_uri(), []).append(found)
        return by_uri, list(workspaces.config_errors)

    async def publish(self) -> None:
        by_uri, settings_errors = await self._workers.run(self.gather)
        for error in settings_errors:
            self._client.log(error, lsp.MessageType.Error)
        for uri in self._published - set(by_uri):
            self._client.publish_diagnostics(uri, [])
        for uri, found in by_uri.items():
            diagnostics = [to_diagnostic(uri, f.problem) for f in found]
            self._client.publish_diagnostics(uri, diagnostics)
            for f in found:
                self._client.log(f.text(), lsp.MessageType.Warning)
        self._published = set(by_uri)
