"""Stores in UTF-16/UTF-32 and with CRLF line endings, through the `astra-ls` process (issue 15.6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .test_cli import astra

EVENTS = [json.dumps({"id": f"m{n}", "type": "UserMessageSent", "timestamp": 1_700_000_000_000 + n,
                      "content": f"안녕 😀 {n}"}, ensure_ascii=False) for n in range(40)]
TEXT = "\r\n".join(EVENTS) + "\r\n"  # as PowerShell writes it


@pytest.mark.parametrize(("codec", "bom", "named"), [
    ("utf-16-le", b"\xff\xfe", "UTF-16 LE with a byte-order mark"),  # Windows PowerShell 5's `>`
    ("utf-16-be", b"\xfe\xff", "UTF-16 BE with a byte-order mark"),
    ("utf-16-le", b"", "UTF-16 LE"),
    ("utf-16-be", b"", "UTF-16 BE"),
    ("utf-32-le", b"\xff\xfe\x00\x00", "UTF-32 LE with a byte-order mark"),
    ("utf-32-be", b"", "UTF-32 BE"),
])
def test_a_store_in_another_encoding_gets_one_problem_and_converts_losslessly(
        tmp_path: Path, codec: str, bom: bytes, named: str) -> None:
    (tmp_path / ".astra").mkdir()
    store = tmp_path / ".astra" / "conversation.jsonl"
    original = bom + TEXT.encode(codec)
    store.write_bytes(original)
    checked = astra("check", str(store))
    assert checked.returncode == 1
    [line] = checked.stdout.splitlines()  # not a NUL/CR/final-newline problem per line
    assert line.startswith(f"{store}:1:1: ASTRA004 [error] the file is {named}, not UTF-8")

    converted = json.loads(astra("convert", str(store), "--to", "utf-8", "--format", "json").stdout)
    assert converted["ok"] and converted["changed"] and converted["from"] == named
    assert converted["crlfConverted"] == len(EVENTS)
    assert store.read_bytes() == ("\n".join(EVENTS) + "\n").encode()  # every character kept
    archived = Path(converted["archivePath"])
    assert archived.parent == tmp_path / ".astra" / "archive" and archived.read_bytes() == original
    after = astra("check", str(store))
    assert (after.returncode, after.stdout) == (0, "")
    assert json.loads(astra("count", str(store), "--format", "json").stdout)["count"] == len(EVENTS)


def test_a_crlf_store_converts_to_lf_and_a_broken_utf16_file_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / ".astra").mkdir()
    crlf = tmp_path / ".astra" / "feed.jsonl"
    crlf.write_bytes(TEXT.encode())
    assert astra("check", str(crlf)).stdout.count("ASTRA031") == len(EVENTS)
    text = astra("convert", "feed", "--workspace", str(tmp_path))
    assert text.returncode == 0 and '"crlfConverted": 40' in text.stdout
    assert crlf.read_bytes() == TEXT.replace("\r\n", "\n").encode()
    again = json.loads(astra("convert", "feed", "--workspace", str(tmp_path), "--format", "json").stdout)
    assert again["changed"] is False  # nothing left to do: nothing archived twice

    broken = tmp_path / ".astra" / "broken.jsonl"
    damaged = b"\xff\xfe" + TEXT.encode("utf-16-le") + b"\x00\xd8\x41\x00"  # a lone high surrogate
    broken.write_bytes(damaged)
    refused = json.loads(astra("convert", "broken", "--workspace", str(tmp_path), "--format", "json").stdout)
    assert refused["ok"] is False and refused["code"] == "NOT_CONVERTIBLE"
    assert broken.read_bytes() == damaged
    assert not any(p.name.startswith("broken-") for p in (tmp_path / ".astra" / "archive").iterdir())
