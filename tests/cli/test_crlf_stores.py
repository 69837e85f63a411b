"""Stores written on Windows (CRLF line endings) through the CLI: counted, appended to, quarantined and
compacted without any of their bytes rewritten."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

CRLF_STORE = (b'{"type":"Tick","id":"a"}\r\n{"type":"Tick","id":"b"}\r\nnot json\r\n'
              b'{"type":"Tick","id":"c"}\r\n')


def astra(ws: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "astra_ls", *args, "--workspace", str(ws), "--format", "json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_crlf_store_round_trip(tmp_path: Path) -> None:
    (tmp_path / ".astra").mkdir()
    store = tmp_path / ".astra" / "s.jsonl"
    store.write_bytes(CRLF_STORE)
    assert astra(tmp_path, "count", "s")["count"] == 3
    assert astra(tmp_path, "append", "s", '{"type":"Tick","id":"d"}')["count"] == 4
    moved = astra(tmp_path, "quarantine", "s")
    assert moved["moved"] == 1
    assert store.read_bytes() == (b'{"type":"Tick","id":"a"}\r\n{"type":"Tick","id":"b"}\r\n'
                                  b'{"type":"Tick","id":"c"}\r\n{"type":"Tick","id":"d"}\n')
    [record] = (tmp_path / ".astra" / "quarantine" / "s.jsonl").read_text().splitlines()
    assert json.loads(record)["raw"] == "not json\r"
    before = store.read_bytes()
    compacted = astra(tmp_path, "compact", "s")
    assert compacted["compactedEvents"] == 4
    assert gzip.decompress(Path(compacted["archivePath"]).read_bytes()) == before
    assert astra(tmp_path, "count", "s")["count"] == 4
