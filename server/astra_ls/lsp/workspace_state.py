"""Which stores exist, which engine store owns each, and the settings they are checked with.

One `FileEventStore` per folder that holds a `.astra/` directory (usually the workspace folder itself).
Settings are the folder's `astra-ls.toml` / `[tool.astra-ls]` with the editor's `astra` section on top.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from astra_ls.config import ConfigError, WorkspaceConfig, load_config
from astra_ls.remote.settings import SCHEME, parse_remote_uri
from astra_ls.store.base import EventStore
from astra_ls.store.cache_files import lies_within
from astra_ls.store.discovery import SKIPPED_DIRS, Skipped, discover, matching, split_workspace_name
from astra_ls.store.file_store import FileEventStore
from astra_ls.store.index_cache import IndexCache
from astra_ls.store.paths import (
    ASTRA_DIR,
    PathRefused,
    check_stream_parts,
    normalised,
    path_from_uri,
    split_store_path,
    within,
)

if TYPE_CHECKING:
    from astra_ls.remote.store import RemoteStore

DEFAULT_GLOBS = ("**/.astra/**/*.jsonl",)

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Located:
    """A store file and the engine store that owns it."""

    store: EventStore
    stream: str
    path: Path

    @property
    def uri(self) -> str:
        return self.path.absolute().as_uri()


@dataclass(frozen=True, slots=True)
class RemoteLocated(Located):
    """A stream of a remote store: `path` is its local mirror, the URI is `astra-remote://<remote>/<stream>`."""

    @property
    def uri(self) -> str:
        return self.store.uri_of(self.stream)


@dataclass
class Settings:
    """The editor's `astra` section, as received; unknown keys are the engine's to judge."""

    values: dict[str, Any] = field(default_factory=dict)

    @property
    def globs(self) -> tuple[str, ...]:
        globs = self.values.get("globs")
        if isinstance(globs, list) and globs and all(isinstance(g, str) and g for g in globs):
            return tuple(globs)
        return DEFAULT_GLOBS


class Workspaces:
    """The engine stores of every workspace folder; safe to call from worker threads."""

    def __init__(self) -> None:
        self.folders: list[Path] = []
        self.trusted = False
        self.settings = Settings()
        self.config_errors: list[str] = []
        self._stores: dict[Path, FileEventStore] = {}
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()
        self._remotes: dict[str, RemoteStore] | None = None  # by remote name; built on first use
        self.index_cache: IndexCache | None = None

    def configure(self, folders: list[Path], settings: dict[str, Any], trusted: bool) -> None:
        """Start over with these folders and settings: every store is re-created (and re-checked later)."""
        with self._guard:
            self.folders = [f.absolute() for f in folders]
            self.settings = Settings(settings)
            self.trusted = trusted
            self._stores = {}
            self.config_errors = []
            old, self._remotes = self._remotes, None
        for remote in (old or {}).values():
            remote.close()

    def _config_for(self, root: Path) -> WorkspaceConfig:
        try:
            base = load_config(root)
        except ConfigError as error:
            self.config_errors.append(str(error))
            base = WorkspaceConfig()
        try:
            return base.merged(self.settings.values)
        except ConfigError as error:
            self.config_errors.append(str(error))
            return base

    def rules_context(self, store: EventStore) -> tuple[list[Path], dict[str, Any], bool] | None:
        """The folders, settings and trust `store` was made with; None once a reconfiguration replaced it."""
        with self._guard:
            if all(found is not store for found in self._stores.values()):
                return None
            return list(self.folders), self.settings.values, self.trusted

    def store_at(self, root: Path) -> FileEventStore:
        root = root.absolute()
        with self._guard:
            found = self._stores.get(root)
            if found is None:
                found = self._stores[root] = FileEventStore(root, self._config_for(root), self.trusted,
                                                            self._cache_for(root))
            return found

    def _cache_for(self, root: Path) -> IndexCache | None:
        """The index cache, unless it would live inside the workspace (which it must never write to)."""
        cache = self.index_cache
        if cache is None:
            return None
        return None if lies_within(cache.folder, (*self.folders, root)) else cache

    def save_indexes(self, timeout: float) -> None:
        """Save what the index cache lacks (recent appends) and wait for the writes; a store another
        thread is busy with is skipped (its own scan saves it)."""
        if self.index_cache is None:
            return
        with self._guard:
            stores = list(self._stores.values())
        for store in stores:
            for followed in store.analyses.followed_files():
                lock = self.lock(followed.path)
                if lock.acquire(timeout=0.1):
                    try:
                        followed.flush()
                    finally:
                        lock.release()
        self.index_cache.wait(timeout)

    def default_store(self) -> FileEventStore | None:
        return self.store_at(self.folders[0]) if self.folders else None

    def lock(self, path: Path) -> threading.Lock:
        """One lock per store file: engine state of a store is touched by one thread at a time."""
        key = path.absolute()
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def remote_stores(self) -> dict[str, RemoteStore]:
        """The remote stores the folders' configurations declare (the first folder naming one wins)."""
        with self._guard:
            if self._remotes is not None:
                return self._remotes
        found: dict[str, RemoteStore] = {}
        for folder in self.folders:
            config = self.store_at(folder).config
            if config.remote:
                from astra_ls.remote.settings import remote_client_missing

                if missing := remote_client_missing():
                    _log.warning("%s declares remote stores, skipped: %s", folder / "astra-ls.toml", missing)
                    continue
                from astra_ls.remote.store import RemoteStore  # the NATS client only when a remote is declared

                for remote in config.remote:
                    found.setdefault(remote.name, RemoteStore(remote, folder, config, self.trusted))
        with self._guard:
            if self._remotes is None:
                self._remotes = found
                return found
        for store in found.values():
            store.close()
        return self._remotes

    def locate_remote(self, uri: str) -> Located | None:
        parsed = parse_remote_uri(uri)
        if parsed is None:
            return None
        store = self.remote_stores().get(parsed[0])
        if store is None:
            return None
        try:
            stream = store.resolve(uri)
            return RemoteLocated(store, stream, store.path_of(stream))
        except PathRefused:
            return None

    def locate_uri(self, uri: str) -> Located | None:
        if uri.startswith(f"{SCHEME}:"):
            return self.locate_remote(uri)
        try:
            return self.locate_path(path_from_uri(uri))
        except PathRefused:
            return None

    def locate_path(self, path: Path) -> Located | None:
        """The owner of a `.jsonl` file inside some `.astra/` folder of a workspace folder, else None.

        Decided on the normalised path (no `..`), then on real paths: the store root (the folder holding
        the innermost `.astra/`) must lie inside a workspace folder, and so must the `.astra/` folder and
        the file once links are followed; so a store's configuration is always the workspace's own."""
        try:
            path = normalised(path)
        except PathRefused:
            return None
        if path.suffix != ".jsonl":
            return None
        folder = max((f for f in self.folders if path.is_relative_to(f)), key=lambda f: len(f.parts), default=None)
        if folder is None:
            return None
        try:
            root, stream = split_store_path(path)
            check_stream_parts(stream)
        except PathRefused:
            return None
        parts = stream.split("/")
        if not root.is_relative_to(folder) or parts[0] in SKIPPED_DIRS:
            return None
        if not (within(root / ASTRA_DIR, folder) and within(path, root / ASTRA_DIR)):
            return None
        return Located(self.store_at(root), stream, path)

    def locate_ref(self, ref: str) -> tuple[EventStore, str] | None:
        """The engine store a command's `store` argument points into (a name means the first folder), and
        the reference that store understands. A path no store owns gets the first folder's store, whose
        own checks refuse it and say why."""
        if ref.startswith(f"{SCHEME}:"):
            located = self.locate_remote(ref)
            return (located.store, ref) if located is not None else None
        nested = split_workspace_name(ref)
        if nested is not None and self.folders:  # `pkg/a/.astra/x`: a store of a nested `.astra/`
            located = self.locate_path(self.folders[0] / nested[0] / ASTRA_DIR / f"{nested[1]}.jsonl")
            if located is not None:
                return located.store, located.uri
        elif ref.startswith("file:") or Path(ref).is_absolute():
            try:
                path = path_from_uri(ref) if ref.startswith("file:") else normalised(Path(ref))
            except PathRefused:
                path = None
            located = self.locate_path(path) if path is not None else None
            if located is not None:
                return located.store, ref
            for folder in self.folders:
                if path is not None and path.is_relative_to(folder):
                    return self.store_at(folder), ref
        default = self.default_store()
        return (default, ref) if default is not None else None

    def config_inputs(self) -> list[Path]:
        """The files the folders' rules are read from: each folder's `astra-ls.toml` and `pyproject.toml`
        (present or not) and the JSON Schema files its stores use. A change to any means a reload."""
        from astra_ls.config import CONFIG_FILES

        found: list[Path] = []
        for folder in list(self.folders):
            found.extend(folder / name for name in CONFIG_FILES)
            for rule in self.store_at(folder).config.stores:
                if rule.schema_ is not None and rule.schema_.endswith(".json"):
                    found.append((folder / rule.schema_).absolute())
        return found

    def discover(self) -> Iterator[Located]:
        """Every store under the configured globs, in every folder."""
        return (located for located, _ in self.discovery()[0])

    def discovery(self) -> tuple[list[tuple[Located, str]], list[Skipped]]:
        """Every store (with the name its folder gives it) and every entry skipped, in every folder."""
        found: list[tuple[Located, str]] = []
        skipped: list[Skipped] = []
        seen: set[Path] = set()
        for folder in self.folders:
            walked = discover(folder)
            skipped.extend(walked.skipped)
            for item in matching(walked.stores, folder, self.settings.globs):
                if item.path in seen:  # a folder nested in another one
                    continue
                seen.add(item.path)
                located = self.locate_path(item.path)
                if located is not None:
                    found.append((located, item.name))
        return found, skipped
