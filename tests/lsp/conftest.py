from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace folder of its own for each test (stores are written into its `.astra/`)."""
    root = tmp_path / "ws"
    root.mkdir()
    return root
