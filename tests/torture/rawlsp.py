"""A real `astra-ls serve` process over its stdio, for the torture tests, on the repository's one JSON-RPC
client (bench/lsp_client.py).

Deliberately not an LSP library: the torture tests need to send bytes no well-behaved client would.
Server-to-client requests (registerCapability, workspace/configuration, progress creation) are answered
so that the server can run its normal start-up, except those named in `hold`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from lsp_client import LspClient, ServerGone, frame

from .support import ASTRA_LS, child_env

__all__ = ["WAIT_S", "RawServer", "ServerGone", "frame", "server_unavailable"]

WAIT_S = 60.0  # hang detector for a single answer, not a timing assertion


def server_unavailable() -> str | None:
    """Why the language server cannot be built in this checkout, or None when it can."""
    done = subprocess.run([*ASTRA_LS[:1], "-c", "from astra_ls.lsp.server import build; build()"],
                          capture_output=True, text=True, env=child_env(), timeout=120, check=False)
    if done.returncode == 0:
        return None
    last = (done.stderr.strip().splitlines() or ["?"])[-1]
    return f"the language server cannot be built in this checkout: {last}"


class RawServer(LspClient):
    def __init__(self, root: Path, *, trusted: bool = False, watch_by_client: bool = False,
                 hold: frozenset[str] = frozenset()) -> None:
        super().__init__([*ASTRA_LS, "serve"], root, env=child_env(), own_group=False, hold=hold)
        self.root = root
        self.trusted = trusted
        self.watch_by_client = watch_by_client

    def answer_to(self, request: dict[str, Any]) -> Any:
        if request["method"] == "workspace/configuration":
            return [{} for _ in request["params"]["items"]]
        return None

    @property
    def diagnostics(self) -> dict[str, list[dict[str, Any]]]:
        """The diagnostics last published for each URI."""
        return {n["params"]["uri"]: n["params"]["diagnostics"]
                for n in self.notifications("textDocument/publishDiagnostics")}

    # --- requests -------------------------------------------------------------------------------------

    def request_raw(self, method: str, params: Any = None, timeout_s: float = WAIT_S, *,
                    with_params: bool = True) -> dict[str, Any]:
        try:
            return super().request_raw(method, params, timeout_s, with_params=with_params)
        except TimeoutError:
            raise TimeoutError(f"no answer to {method}: the server hangs") from None

    def request(self, method: str, params: Any = None, timeout_s: float = WAIT_S) -> Any:
        answer = self.request_raw(method, params, timeout_s)
        assert "error" not in answer, f"{method} failed: {answer['error']}"
        return answer.get("result")

    def command(self, name: str, argument: dict[str, Any]) -> Any:
        return self.request("workspace/executeCommand", {"command": name, "arguments": [argument]})

    # --- lifecycle ------------------------------------------------------------------------------------

    def initialize(self, root: Path | None = None, timeout_s: float = WAIT_S) -> dict[str, Any]:
        uri = self.root.as_uri()
        capabilities: dict[str, Any] = {
            "workspace": {"configuration": True, "workspaceFolders": True,
                          "didChangeWatchedFiles": {"dynamicRegistration": self.watch_by_client}},
            "textDocument": {"publishDiagnostics": {"relatedInformation": True}},
            "window": {"workDoneProgress": True},
        }
        result: dict[str, Any] = self.request("initialize", {
            "processId": None, "rootUri": uri, "capabilities": capabilities,
            "workspaceFolders": [{"uri": uri, "name": self.root.name}],
            "initializationOptions": {"trusted": self.trusted}}, timeout_s)
        self.notify("initialized", {})
        return result

    def shutdown(self) -> None:
        if not self.alive():
            return
        try:
            self.request("shutdown")
            self.notify("exit")
            self.process.wait(timeout=30)
        except (ServerGone, TimeoutError, subprocess.TimeoutExpired):
            pass
        finally:
            self.kill()
