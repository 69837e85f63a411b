"""Memory of a big store open in the editor: proportional to the store, not to the number of edits.

A real `astra-ls serve` holds a 16 MB conversation store open while edits land far apart in it (so each
re-check covers a wide range) and hovers replay its state. Before, the scanner's work arrays were kept
per thread at the size of the widest range ever re-checked, and glibc kept what big transient copies
freed: a 50 MB store grew from 0.48 GB after opening to 1.0 GB after 200 edits.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .rawlsp import RawServer, server_unavailable

GENERATOR = Path(__file__).parents[2] / "bench" / "generate.py"
EDITS = 120

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def hover(server: RawServer, uri: str, line: int) -> str:
    answer = server.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                   "position": {"line": line, "character": 3}}, timeout_s=120)
    return "" if answer is None else str(answer["contents"]["value"])


def settle(server: RawServer, uri: str, lines: int) -> None:
    """Hovers on the last event until its state shows: the pending check ran and the open store's time-travel
    checkpoints cover it all, so what is measured next is the memory of the edits, not of checkpoints to come."""
    for _ in range(200):
        if "Still being computed" not in hover(server, uri, lines - 2):
            break
    time.sleep(3)  # past the trailing give-back after a burst of edits


def test_edits_far_apart_in_a_big_open_store_do_not_grow_the_server(tmp_path: Path) -> None:
    if (why := server_unavailable()) is not None:
        pytest.skip(why)
    store = tmp_path / ".astra" / "conversation.jsonl"
    store.parent.mkdir()
    subprocess.run([sys.executable, str(GENERATOR), "--events", "120000", "--out", str(store)], check=True,
                   capture_output=True, timeout=300)
    data = store.read_bytes()
    size_mb = len(data) / 2**20
    text = data.decode("utf-8", "replace")
    lines = text.count("\n")
    uri = store.as_uri()
    rng = random.Random(7)
    with RawServer(tmp_path, trusted=True) as server:
        server.initialize()
        server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "jsonl", "version": 1,
                                                                "text": text}})
        del text
        settle(server, uri, lines)
        opened = rss_mb(server.process.pid)
        halfway = 0.0
        for edit in range(EDITS):
            if edit == EDITS // 2:
                settle(server, uri, lines)
                halfway = rss_mb(server.process.pid)
            # alternately near the start and near the end: every debounced re-check spans most of the store
            line = rng.randrange(lines // 10) if edit % 2 else lines - 1 - rng.randrange(lines // 10)
            server.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": edit + 2},
                "contentChanges": [{"range": {"start": {"line": line, "character": 5},
                                              "end": {"line": line, "character": 5}}, "text": "x"}]})
            if edit % 4 == 3:
                hover(server, uri, rng.randrange(lines))
        settle(server, uri, lines)
        edited = rss_mb(server.process.pid)
        server.shutdown()
    # Once the open store's time-travel checkpoints exist and a second copy of its text is in flight, the
    # server stops growing: a bound in store sizes (about 4x here), and no growth from more edits.
    grown = edited - opened
    said = (f"edits grew the server from {opened:.0f} MB (opened) to {halfway:.0f} MB ({EDITS // 2} edits) and "
            f"{edited:.0f} MB ({EDITS} edits), the store being {size_mb:.0f} MB")
    assert grown < 6 * size_mb, said
    assert edited - halfway < size_mb, said
