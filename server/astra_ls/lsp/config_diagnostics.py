"""Configuration problems as diagnostics on `astra-ls.toml` / `pyproject.toml`, at the key at fault.

What a folder's configuration got wrong is known when it is read; what could not be used (workspace
code in an untrusted workspace, a schema file that does not load) once its stores are set up, so this
is published after every scan of the folders, and cleared from files that no longer have any.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from astra_ls.config import ConfigProblem
from astra_ls.lsp.diagnostics import to_diagnostic

if TYPE_CHECKING:
    from astra_ls.lsp.server import AstraServer


class ConfigDiagnostics:
    def __init__(self, server: AstraServer) -> None:
        self.server = server
        self._published: set[str] = set()  # URIs of configuration files that have diagnostics now

    def gather(self) -> tuple[dict[str, list[ConfigProblem]], list[str]]:
        """Problems by configuration file URI, and the editor settings' own (they have no file)."""
        workspaces = self.server.workspaces
        by_uri: dict[str, list[ConfigProblem]] = {}
        for folder in list(workspaces.folders):
            for found in workspaces.store_at(folder).analyses.config_problems():
                if found.file is not None:
                    by_uri.setdefault(found.file.absolute().as_uri(), []).append(found)
        return by_uri, list(workspaces.config_errors)

    async def publish(self) -> None:
        by_uri, settings_errors = await self.server.checks.run(self.gather)
        for error in settings_errors:
            self.server.log(error, lsp.MessageType.Error)
        for uri in self._published - set(by_uri):
            self.server.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, []))
        for uri, found in by_uri.items():
            diagnostics = [to_diagnostic(uri, f.problem) for f in found]
            self.server.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, diagnostics))
            for f in found:
                self.server.log(f.text(), lsp.MessageType.Warning)
        self._published = set(by_uri)
