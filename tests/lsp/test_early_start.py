"""Start-up before the language-server library is loaded: the client's first message is read early (and
handed back to the server byte for byte), and a forked process scans the stores into the index cache
meanwhile; the server's results never depend on whether that scan was used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from astra_ls.lsp.early_start import PrefixedStream, read_first_message

from .editor import message, start_editor, write_store

OFF = {"trusted": False, "indexCache": False}


def framed(payload: dict[str, Any], extra_header: bytes = b"") -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n" % len(body) + extra_header + b"\r\n" + body


def through_a_pipe(data: bytes) -> Any:
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    return os.fdopen(read_end, "rb")


def read_everything(stream: PrefixedStream) -> bytes:
    """What a JSON-RPC reader does: header lines up to a blank one, then the body, until the end."""
    out = b""
    while True:
        length = 0
        while (header := stream.readline()) not in (b"\r\n", b""):
            out += header
            if header.lower().startswith(b"content-length:"):
                length = int(header.split(b":")[1])
        out += header
        if not header:
            return out
        out += stream.read(length)


def test_the_first_message_is_read_and_handed_back_byte_for_byte() -> None:
    initialize = framed({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                         "params": {"rootUri": "file:///w", "initializationOptions": {"trusted": False}}},
                        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n")
    rest = framed({"jsonrpc": "2.0", "method": "initialized", "params": {}}) + framed({"jsonrpc": "2.0", "id": 2,
                                                                                     "method": "shutdown"})
    with through_a_pipe(initialize + rest) as stdin:
        first = read_first_message(stdin)
        assert first.raw == initialize
        assert first.params == {"rootUri": "file:///w", "initializationOptions": {"trusted": False}}
        assert read_everything(PrefixedStream(first.raw, stdin)) == initialize + rest


def test_a_first_message_that_is_not_initialize_is_left_for_the_server_to_judge() -> None:
    for data in (framed({"jsonrpc": "2.0", "id": 1, "method": "shutdown"}), b"Content-Length: 5\r\n\r\n{nope",
                 b"no header at all\r\n\r\n", b"Content-Length: 99\r\n\r\n{}", b""):
        with through_a_pipe(data) as stdin:
            first = read_first_message(stdin)
            assert first.params is None
            assert first.raw + stdin.read() == data


def store_lines() -> list[str]:
    lines = [message(n) for n in range(60)]
    lines[9] = message(2)  # a duplicate id
    lines[33] = '{"id": "torn'
    return lines


PRESCAN = """
import json, sys
from pathlib import Path
from astra_ls.lsp.prescan import start_prescan
from astra_ls.lsp.workspace_state import Workspaces

params = json.loads(sys.argv[1])
prescan = start_prescan(params)
report = {"started": prescan is not None, "stores": {}}
if prescan is not None:
    workspaces = Workspaces()
    workspaces.configure([Path(p) for p in sys.argv[2:]], params["initializationOptions"].get("settings", {}), False)
    from astra_ls.store.index_cache import open_index_cache
    cache = open_index_cache(None)
    for located in workspaces.discover():
        prescan.wait_for(located.path)
        loaded = cache.load(located.path, located.store.setup(located.stream).rules)
        report["stores"][located.stream] = None if loaded is None else (
            [[p.line, p.code] for p in loaded.analysis.problems(located.store.reader(located.stream))]
            == [[p.line, p.code] for p in located.store.problems(located.stream)])
    later = Path(sys.argv[2]) / ".astra" / "later.jsonl"
    later.write_text("{}\\n")
    prescan.wait_for(later)  # made after the scan's plan: nothing to wait for
    report["later"] = cache.load(later, workspaces.locate_path(later).store.setup("later").rules) is None
print(json.dumps(report))
"""


def run_prescan(workspace: Path, cache: Path, options: dict[str, Any]) -> dict[str, Any]:
    params = {"rootUri": workspace.as_uri(), "initializationOptions": options}
    env = {**os.environ, "PYTHONHASHSEED": "12345", "ASTRA_LS_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-c", PRESCAN, json.dumps(params), str(workspace)], env=env,
                          capture_output=True, check=True, timeout=120)
    return json.loads(done.stdout)


def test_the_scan_made_ahead_leaves_entries_equal_to_a_fresh_check(workspace: Path, user_cache: Path) -> None:
    write_store(workspace, "conversation", store_lines())
    write_store(workspace, "agent-runs", [message(n) for n in range(5)])
    report = run_prescan(workspace, user_cache, {"trusted": False})
    assert report == {"started": True, "stores": {"agent-runs": True, "conversation": True}, "later": True}


def test_the_scan_made_ahead_uses_the_settings_sent_with_initialize(workspace: Path, user_cache: Path) -> None:
    write_store(workspace, "conversation", store_lines())
    settings = {"stores": [{"glob": "conversation*", "unique_ids": False}]}
    report = run_prescan(workspace, user_cache, {"trusted": False, "settings": settings})
    assert report == {"started": True, "stores": {"conversation": True}, "later": True}


def test_no_scan_ahead_without_the_index_cache(workspace: Path, user_cache: Path) -> None:
    write_store(workspace, "conversation", store_lines())
    assert run_prescan(workspace, user_cache, OFF) == {"started": False, "stores": {}}
    assert not (user_cache / "index").exists()


def shapes(diagnostics: Sequence[lsp.Diagnostic]) -> list[Any]:
    return [(d.range, d.code, d.message, d.severity) for d in diagnostics]


async def test_settings_sent_after_the_scan_ahead_still_decide_the_diagnostics(workspace: Path) -> None:
    """The scan made ahead used the workspace's files only; the editor's settings change the rules, so
    its entry is not used and the server checks the store itself."""
    path = write_store(workspace, "conversation", store_lines())
    settings = {"stores": [{"glob": "conversation*", "unique_ids": False}]}
    async with start_editor(workspace, settings=settings) as editor:
        warm = shapes(await editor.diagnostics(path, lambda d: len(d) > 0))
    async with start_editor(workspace, settings=settings, initialization_options=OFF) as editor:
        cold = shapes(await editor.diagnostics(path, lambda d: len(d) > 0))
    assert warm == cold
    assert sorted(d[1] for d in warm) == ["ASTRA001", "ASTRA021"]  # no ASTRA020: ids need not be unique
