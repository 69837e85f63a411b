"""What the server publishes for a store on disk, saved as a diagnostics snapshot for the next start to
publish before it is loaded (see `store.diagnostics_snapshot` and `early_answer`).

A snapshot is saved only when everything its diagnostics came from can be written down: the store file
in exactly the state its analysis covers, the folders, settings and trust its rules were made with
(and still current), the configuration files, which must still give the same configuration, and a JSON
Schema file whose content must still be the schema in use. Rules that run workspace code (a
`package.module:Name` schema or projector) read who knows what: no snapshot. Writes run on one
background thread, a second after they are asked for; only the latest request per store is written.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from astra_ls.config import ConfigError, load_config
from astra_ls.hashseed import cache_enabled, cache_root
from astra_ls.lsp.early_start import ClientOptions
from astra_ls.lsp.workspace_state import Located, RemoteLocated, Workspaces
from astra_ls.store.cache_files import lies_within
from astra_ls.store.diagnostics_snapshot import (
    SNAPSHOT_FOLDER,
    Context,
    Snapshot,
    links,
    make_context,
    read_input,
    store_identity,
    write_snapshot,
)
from astra_ls.store.follow import FileStamp

SETTLE_S = 1.0
CONFIG_FILES = ("astra-ls.toml", "pyproject.toml")  # what config.load_config reads, present or not


@dataclass(frozen=True, slots=True)
class Basis:
    """What a check's diagnostics were computed from, taken under the store's lock."""

    stamp: FileStamp  # the file as its analysis covers it, whole
    context: Context
    settings: dict[str, Any]
    links: list[str]  # where the file and its folders really are, as the check found them


class SnapshotKeeper:
    def __init__(self) -> None:
        self.folder: Path | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="astra-snapshots")
        self._latest: dict[Path, tuple[Basis, str]] = {}
        self._pending: list[Future[None]] = []
        self._guard = threading.Lock()
        self._leaving = threading.Event()  # set at shutdown: what is pending is written at once

    def open(self, options: ClientOptions) -> None:
        """Snapshots go with the index cache: same folder, turned off by the same options."""
        enabled = options.index_cache and cache_enabled()
        self.folder = cache_root(options.cache_dir) / SNAPSHOT_FOLDER if enabled else None

    def basis(self, workspaces: Workspaces, located: Located, analysed_size: int) -> Basis | None:
        """Call under the store's lock, right after its check; None when no snapshot can be made."""
        stamp = located.store.stamp(located.stream)
        if self.folder is None or isinstance(located, RemoteLocated) or stamp is None or stamp.size != analysed_size:
            return None
        made_with = workspaces.rules_context(located.store)
        if made_with is None:
            return None
        folders, settings, trusted = made_with
        context = make_context(folders, settings, trusted)
        try:
            found = links(located.path.absolute())
        except (OSError, ValueError):
            return None
        return Basis(stamp, context, settings, found) if context is not None else None

    def keep(self, located: Located, basis: Basis, payload: str) -> None:
        """Save `payload` (the publishDiagnostics params just sent for `located`) in the background."""
        path, entry = located.path.absolute(), (basis, payload)
        with self._guard:
            latest = self._latest.get(path)
            if latest is not None and latest[0] == basis and latest[1] is payload:
                return  # saved already
            self._latest[path] = entry
            future = self._writer.submit(self._save, located, entry)
            self._pending = [f for f in self._pending if not f.done()] + [future]

    def wait(self, timeout: float | None = None) -> None:
        """Write what is pending now (the server is leaving) and wait for it."""
        self._leaving.set()
        with self._guard:
            pending = list(self._pending)
        wait(pending, timeout)

    def _save(self, located: Located, entry: tuple[Basis, str]) -> None:
        self._leaving.wait(SETTLE_S)  # a burst of appends to a store costs one write, not one each
        path, folder = located.path.absolute(), self.folder
        with self._guard:
            if self._latest.get(path) is not entry or folder is None:
                return  # a later request for this store supersedes this one
        basis, payload = entry
        try:
            if lies_within(folder, basis.context.folders):
                return  # never inside a workspace
            inputs = rule_inputs(located, basis.settings)
        except Exception:  # nothing can be vouched for: no snapshot, the next start checks as usual
            return
        stamp = basis.stamp
        identity = store_identity(path, stamp.inode, stamp.size, stamp.mtime_ns)
        if inputs is None or identity is None:
            return
        write_snapshot(folder, Snapshot(basis.context, path, located.uri, identity, basis.links, inputs,
                                        payload.encode()))


def rule_inputs(located: Located, settings: dict[str, Any]) -> list[list[Any]] | None:
    """[path, file_state] of each workspace file the store's rules were read from, when they still give
    those rules; None when that cannot be vouched for."""
    store, root = located.store, located.store.analyses.home
    # stamped before they are read again: a change in between leaves a stamp no later start matches
    inputs: list[list[Any]] = [[str(root / name), read_input(root / name)[0]] for name in CONFIG_FILES]
    try:
        if load_config(root).merged(settings) != store.config:
            return None
    except ConfigError:
        return None
    setup = store.setup(located.stream)
    schema, projector = setup.rule.schema_ or "", setup.rule.projector or ""
    if ":" in schema or ":" in projector:
        return None
    if schema.endswith(".json"):
        where = (store.analyses.home / schema).resolve()
        state, data = read_input(where)
        if not state or orjson.loads(data) != getattr(setup.schema, "_root", None):
            return None
        inputs.append([str(where), state])
    return inputs
