"""For every test: a user cache folder of its own, so servers started by tests never read or write the
real one (their index cache and string-hash seed live there)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "user-cache"
    monkeypatch.setenv("ASTRA_LS_CACHE_DIR", str(folder))
    return folder
