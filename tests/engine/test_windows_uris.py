"""File URIs as VS Code on Windows sends them, turned into Windows paths (run here through the same function the
server uses on Windows, with Windows path rules)."""

from __future__ import annotations

from pathlib import PureWindowsPath

import pytest

from astra_ls.store.paths import PathRefused, local_path_text, path_from_uri


@pytest.mark.parametrize(("uri_path", "host", "expected"), [
    ("/c:/Users/ana/ws/.astra/run.jsonl", "", r"C:\Users\ana\ws\.astra\run.jsonl"),  # file:///c%3A/... decoded
    ("/C:/ws/.astra/x.jsonl", "", r"C:\ws\.astra\x.jsonl"),
    ("/share/ws/.astra/x.jsonl", "server", r"\\server\share\ws\.astra\x.jsonl"),  # UNC
    ("/d:/données/.astra/événements.jsonl", "localhost", r"D:\données\.astra\événements.jsonl"),
])
def test_drive_letters_and_unc_shares(uri_path: str, host: str, expected: str) -> None:
    path = PureWindowsPath(local_path_text("file://x", uri_path, host, windows=True))
    assert path == PureWindowsPath(expected)


def test_case_insensitive_containment_on_windows() -> None:
    """What the editor sends and what the folder was opened as may differ in case: the same file on Windows."""
    store = PureWindowsPath(local_path_text("u", "/c:/WS/.astra/run.jsonl", "", windows=True))
    folder = PureWindowsPath(local_path_text("u", "/C:/ws", "", windows=True))
    assert store.is_relative_to(folder)


def test_an_encoded_drive_colon_is_decoded_before_the_path_is_read() -> None:
    path = path_from_uri("file:///c%3A/ws/.astra/run.jsonl")
    assert path.as_posix().endswith("c:/ws/.astra/run.jsonl")  # on POSIX: a plain (odd) absolute path


def test_another_host_is_refused_off_windows() -> None:
    with pytest.raises(PathRefused, match="another host"):
        local_path_text("file://server/share/x", "/share/x", "server", windows=False)
