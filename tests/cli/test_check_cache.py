"""`astra-ls check --cache`: the same report from the index cache; plain `check` never touches it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LINES = [b'{"id":"a","type":"UserMessageSent","timestamp":1,"content":"hi"}', b'{"id":"a"', b"",
         b'{"id":"a","type":"UserMessageSent","timestamp":0,"content":"again"}']


def check(*args: str, seed: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ) if seed is None else {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run([sys.executable, "-m", "astra_ls", "check", *args, "--format", "json"],
                          capture_output=True, text=True, timeout=120, env=env)


def test_check_with_and_without_the_cache(tmp_path: Path, user_cache: Path) -> None:
    workspace = tmp_path / "ws"
    store = workspace / ".astra" / "conversation.jsonl"
    store.parent.mkdir(parents=True)
    store.write_bytes(b"\n".join(LINES) + b"\n")
    plain = check(str(workspace))
    assert plain.returncode == 1 and not user_cache.exists()
    first = check(str(workspace), "--cache")
    [entry] = (user_cache / "index").glob("*.idx")
    os.utime(entry, (1, 1))  # a load marks its entry used: the mtime tells whether the check read it
    second = check(str(workspace), "--cache")
    assert entry.stat().st_mtime > 1
    assert first.stdout == second.stdout == plain.stdout
    assert (first.returncode, second.returncode) == (1, 1)
    assert sorted(p.name for p in workspace.rglob("*")) == [".astra", "conversation.jsonl"]
    with store.open("ab") as handle:
        handle.write(b'{"id":"b","type":"UserMessageSent","timestamp":5,"content":"more"}\n')
    grown = check(str(workspace), "--cache")
    assert grown.stdout == check(str(workspace)).stdout


def test_a_plain_check_reports_what_a_cached_one_does_on_a_damaged_log(tmp_path: Path, user_cache: Path) -> None:
    """The plain check keeps only what problems need; every problem of the benchmark's damaged log (bad
    lines of every kind, duplicate ids, timestamps going backwards) is the same as with the full analysis."""
    store = tmp_path / "ws" / ".astra" / "conversation.jsonl"
    store.parent.mkdir(parents=True)
    generator = Path(__file__).parents[2] / "bench" / "generate.py"
    subprocess.run([sys.executable, str(generator), "--events", "30000", "--out", str(store)], check=True,
                   capture_output=True, timeout=120)
    plain, cached = check(str(store)), check(str(store), "--cache")
    codes = {problem["code"] for problem in json.loads(plain.stdout)["files"][0]["problems"]}
    assert {"ASTRA020", "ASTRA021"} <= codes and len(codes) > 5
    assert plain.stdout == cached.stdout


def test_a_cached_check_sees_a_store_saved_in_place_and_grown(tmp_path: Path, user_cache: Path) -> None:
    """An editor saving in place changed one line in the middle (its length kept) and added one at the end:
    the cache's analysis of the old bytes must not be used. Before, a sampled fingerprint of the old
    bytes missed the change and `check --cache` exited 0 where `check` exits 1."""
    store = tmp_path / "ws" / ".astra" / "conversation.jsonl"
    store.parent.mkdir(parents=True)
    lines = [json.dumps({"id": f"m{n}", "type": "UserMessageSent", "timestamp": n, "content": "x" * 200})
             for n in range(20_000)]
    data = "".join(f"{line}\n" for line in lines).encode()
    store.write_bytes(data)
    assert check(str(store), "--cache").returncode == 0
    [entry] = (user_cache / "index").glob("*.idx")
    # the middle of the gap between the old fingerprint's 32nd and 33rd sampled blocks
    size = len(data)
    middle = (size * 32 // 65 + 4096 + size * 33 // 65) // 2
    start = data.rfind(b"\n", 0, middle) + 1
    with store.open("r+b") as handle:
        handle.seek(start)
        handle.write(b"{" + b" " * (data.index(b"\n", start) - start - 1))  # malformed, same length
        handle.seek(0, os.SEEK_END)
        handle.write(lines[-1].replace('"m19999"', '"m20000"').encode() + b"\n")
    plain, cached = check(str(store)), check(str(store), "--cache")
    assert plain.returncode == 1
    assert (cached.returncode, cached.stdout) == (1, plain.stdout)
    assert entry.exists()


def test_a_process_with_another_hash_seed_reuses_the_cache(tmp_path: Path, user_cache: Path) -> None:
    """Id hashes do not depend on the process: an entry written under one PYTHONHASHSEED (or none) is read
    under another, and duplicates are still told apart from ids that merely look alike."""
    store = tmp_path / "ws" / ".astra" / "conversation.jsonl"
    store.parent.mkdir(parents=True)
    store.write_bytes(b"\n".join([*LINES, b'{"id":5,"type":"UserMessageSent","timestamp":6,"content":"n"}',
                                  b'{"id":"5","type":"UserMessageSent","timestamp":7,"content":"s"}']) + b"\n")
    first = check(str(store), "--cache", seed="1")
    [entry] = (user_cache / "index").glob("*.idx")
    written = entry.stat().st_ino
    for seed in ("2", "random"):
        os.utime(entry, (1, 1))  # a load marks its entry used: the mtime tells whether the check read it
        again = check(str(store), "--cache", seed=seed)
        # read (mtime), not scanned again and rewritten (a rewrite renames a new file over it)
        assert entry.stat().st_mtime > 1 and entry.stat().st_ino == written, f"PYTHONHASHSEED={seed}: scanned"
        assert again.stdout == first.stdout
    duplicates = [p for p in json.loads(first.stdout)["files"][0]["problems"] if p["code"] == "ASTRA020"]
    assert [p["line"] for p in duplicates] == [4]  # "a" again; 5 and "5" are different ids
