"""What features may say to the client, as narrow interfaces: each feature is handed the one it needs.

The server (lsp/connection.py) implements them all; a feature typed against one of these can send what
its interface names and nothing else, and cannot reach through the server to another feature's state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

from lsprotocol import types as lsp
from pygls.progress import Progress
from pygls.workspace import Workspace

from astra_ls.lsp.diagnostics import Converted


class ClientLog(Protocol):
    def log(self, message: str, level: lsp.MessageType = lsp.MessageType.Info) -> None:
        """A line in the client's output panel (never a pop-up)."""


class DiagnosticsClient(ClientLog, Protocol):
    """Diagnostics and store notifications, pushed to the client."""

    def publish_diagnostics(self, uri: str, diagnostics: list[lsp.Diagnostic]) -> None: ...

    def publish_converted(self, uri: str, converted: list[Converted]) -> None:
        """Diagnostics already serialised once (see diagnostics.DiagnosticCache)."""

    def refresh_diagnostics(self) -> None:
        """Ask a pulling client to pull again."""

    def notify(self, method: str, payload: dict[str, Any]) -> None: ...


class ProgressClient(Protocol):
    """Work-done progress the server starts itself."""

    @property
    def client_capabilities(self) -> lsp.ClientCapabilities: ...

    @property
    def work_done_progress(self) -> Progress: ...


class RegistrationClient(ClientLog, Protocol):
    """Capabilities registered with the client once it is running (file watchers, settings changes)."""

    @property
    def client_capabilities(self) -> lsp.ClientCapabilities: ...

    def client_register_capability_async(self, params: lsp.RegistrationParams) -> Awaitable[None]: ...

    def client_unregister_capability_async(self, params: lsp.UnregistrationParams) -> Awaitable[None]: ...


class SessionClient(RegistrationClient, Protocol):
    """What the session's start, settings and end need of the client."""

    @property
    def workspace(self) -> Workspace:
        """The workspace folders the client named."""

    def workspace_configuration_async(self, params: lsp.ConfigurationParams) -> Awaitable[Sequence[Any | None]]: ...

    def cancel_requests(self) -> None:
        """Cancel every request still being handled (at `shutdown`)."""
