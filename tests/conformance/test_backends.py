"""The conformance suite (contract.py), run against each backend: the JSONL files and JetStream."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from astra_ls.config import load_config
from astra_ls.remote.store import RemoteStore, find_remote
from astra_ls.store.base import EventStore
from astra_ls.store.file_store import FileEventStore

from .contract import MAX_LINE_BYTES, EventStoreContract

_names = itertools.count()


class TestFileEventStore(EventStoreContract):
    @pytest.fixture(autouse=True)
    def _workspace(self, tmp_path: Path) -> None:
        self.workspace = tmp_path / "ws"
        (self.workspace / ".astra").mkdir(parents=True)
        (self.workspace / "astra-ls.toml").write_text(f"max_line_bytes = {MAX_LINE_BYTES}\n")

    def open_store(self) -> EventStore:
        return FileEventStore(self.workspace)


class TestRemoteStore(EventStoreContract):
    @pytest.fixture(autouse=True)
    def _workspace(self, tmp_path: Path, single: Any) -> None:
        self.workspace = tmp_path / "ws"
        self.workspace.mkdir()
        self.remote = f"conf{next(_names)}-{tmp_path.name[-8:].replace('_', '-').lower()}".rstrip("-")
        servers = ", ".join(f'"{url}"' for url in single.urls)
        (self.workspace / "astra-ls.toml").write_text(
            f'max_line_bytes = {MAX_LINE_BYTES}\n\n[[remote]]\nname = "{self.remote}"\nservers = [{servers}]\n')

    def open_store(self) -> EventStore:
        config = load_config(self.workspace)
        return RemoteStore(find_remote(config, self.remote), self.workspace, config, trusted=True)
