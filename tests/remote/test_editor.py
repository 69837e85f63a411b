"""The language server with a remote store: listed beside local ones, read-only document, live updates."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from astra_ls.config import load_config
from astra_ls.remote.store import RemoteStore, find_remote

MakeWorkspace = Callable[..., tuple[Path, str]]
WAIT_S = 20.0


async def until(check: Callable[[], Any], what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not (found := check()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return found


async def test_remote_streams_in_the_editor(make_workspace: MakeWorkspace, tmp_path: Path, single: Any) -> None:
    root, remote = make_workspace(tmp_path / "ws", single.urls)
    config = load_config(root)
    other_machine = RemoteStore(find_remote(config, remote), root, config, trusted=True)
    good = {"type": "Noted", "id": "e-1", "timestamp": 1_700_000_000_000}
    assert other_machine.append("notes", good).ok
    subject = other_machine.remote.subject_of("notes")
    other_machine.publish(subject, b"{not json", "raw-1", None)
    uri = f"astra-remote://{remote}/notes"

    client = await ClientServerConfig(server_command=[sys.executable, "-m", "astra_ls"]).start()
    assert isinstance(client, LanguageClient)
    changes: list[Any] = []
    client.feature("astra/storeChanged")(lambda params: changes.append(params))
    try:
        await asyncio.wait_for(client.initialize_session(lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(), root_uri=root.as_uri(),
            workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name="ws")],
            initialization_options={"trusted": True})), WAIT_S)
        diagnostics = await until(lambda: client.diagnostics.get(uri), "diagnostics of the remote stream")
        assert [d.range.start.line for d in diagnostics] == [1]

        listed = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("astra.listStores", [{}]))
        (entry,) = [s for s in listed["stores"] if s.get("remote")]
        assert entry["uri"] == uri and entry["events"] == 1 and entry["problems"] == 1
        count = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("astra.count", [{"store": uri}]))
        assert count["count"] == 1

        document = await client.protocol.send_request_async("astra/remoteDocument", {"uri": uri})
        assert document.readOnly and document.text.splitlines() == [json.dumps(good).replace(" ", ""), "{not json"]

        # Another machine appends: the server's JetStream consumer sees it and republishes diagnostics.
        other_machine.publish(subject, b"[1, 2]", "raw-2", None)
        await until(lambda: len(client.diagnostics.get(uri, [])) == 2, "diagnostics after a remote append")
        await until(lambda: changes, "astra/storeChanged")
    finally:
        other_machine.close()
        await asyncio.wait_for(client.shutdown_session(), WAIT_S)
        await client.stop()
