"""The diagnostics last published for each store file, saved so a restart can publish them again before
the engine is even loaded.

One entry per (workspace folders, store file) in the user's cache folder, never in the workspace: a
header line saying exactly what the diagnostics were computed from, then the `publishDiagnostics`
params as they were sent. The header names the astra-ls installation (its sources and the installed
packages), the workspace folders, the editor settings, the trust, the store file's identity and
sampled content (as the index cache checks it), and every workspace file the store's rules were read
from. An entry is used only when all of it still holds; anything else, a damaged entry included,
means no entry. Light on imports: the start-up path reads entries before the heavy imports.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import astra_ls
from astra_ls.store.cache_files import evict, write_cache_file
from astra_ls.store.fingerprint import content_fingerprint, digest, stamp_sources
from astra_ls.store.paths import ASTRA_DIR, split_store_path

FORMAT = 1
SNAPSHOT_FOLDER = "diagnostics"  # within the cache folder
SUFFIX = ".snap"
MAX_ENTRIES = 256
MAX_TOTAL_BYTES = 512 << 20
MAX_INPUT_BYTES = 16 << 20  # a configuration or schema file larger than this is not taken as an input
INSTALL_MARKS = (".dist-info", ".egg-info", ".egg-link", ".pth")


def canonical(value: Any) -> bytes:
    """One JSON text per value, whatever the key order (raises on what JSON cannot hold)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


@lru_cache(maxsize=1)
def install_key() -> str:
    """This installation: the Python, the astra-ls sources and every installed package (found from
    the import path's package records, without importing any), so an upgrade of either invalidates."""
    hashed = hashlib.blake2b(digest_size=16)
    hashed.update(f"{FORMAT} {astra_ls.__version__} {sys.version} {sys.executable}\n".encode())
    package = Path(astra_ls.__file__).parent
    stamp_sources(hashed, package, package.rglob("*.py"))
    for folder in sys.path:
        with contextlib.suppress(OSError), os.scandir(folder or ".") as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.endswith(INSTALL_MARKS):
                    hashed.update(f"{folder} {entry.name} {entry.stat().st_mtime_ns}\n".encode())
    return hashed.hexdigest()


@dataclass(frozen=True, slots=True)
class Context:
    """What every store's diagnostics in a workspace depend on besides its own files."""

    folders: tuple[str, ...]
    settings: str  # digest of the editor's `astra` settings, canonical JSON
    trusted: bool

    def as_json(self) -> dict[str, Any]:
        return {"folders": list(self.folders), "settings": self.settings, "trusted": self.trusted}

    def prefix(self) -> str:
        """Entries of one set of folders share a name prefix: the start-up path lists only its own."""
        return f"{digest(canonical(list(self.folders)))}-"

    def entry_name(self, path: Path) -> str:
        return f"{self.prefix()}{digest(os.fsencode(path))}{SUFFIX}"


def make_context(folders: Iterable[Path], settings: Any, trusted: bool) -> Context | None:
    """None when the settings are not plain JSON (nothing to compare a later start's settings with)."""
    try:
        settings_key = digest(canonical(settings))
    except (TypeError, ValueError):
        return None
    return Context(tuple(str(folder.absolute()) for folder in folders), settings_key, trusted)


def file_state(path: Path) -> list[Any]:
    """[size, mtime_ns, content digest] of a small file; [] when there is no such file. Raises OSError
    when the file exists but cannot be read whole (the caller then has nothing it can rely on)."""
    return read_input(path)[0]


def read_input(path: Path) -> tuple[list[Any], bytes]:
    """`file_state(path)` and the bytes it describes."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return [], b""
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if info.st_size > MAX_INPUT_BYTES:
            raise OSError(f"{path}: too large to be an input")
        data = handle.read()
    return [len(data), info.st_mtime_ns, digest(data)], data


def links(path: Path) -> list[str]:
    """Where the store file, its `.astra` folder and that folder's parent really are: whether the file
    is confined to `.astra` (and so read at all) depends on nothing else of the links on the way."""
    root = split_store_path(path)[0]
    return [os.path.realpath(p) for p in (path, root / ASTRA_DIR, root)]


def store_identity(path: Path, inode: int, size: int, mtime_ns: int) -> list[Any] | None:
    """[inode, size, mtime_ns, fingerprint] of the store file when it is still in exactly this state
    (checked before and after the fingerprint is taken), else None."""
    expected = (inode, size, mtime_ns)
    try:
        if _stamp(path) != expected:
            return None
        fingerprint = content_fingerprint(path, size)
        return [inode, size, mtime_ns, fingerprint] if _stamp(path) == expected else None
    except OSError:
        return None


def _stamp(path: Path) -> tuple[int, int, int]:
    info = os.stat(path)
    return info.st_ino, info.st_size, info.st_mtime_ns


# --- saving ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    context: Context
    path: Path  # the store file, absolute
    uri: str
    identity: list[Any]  # store_identity(...)
    links: list[str]  # links(path), as the check found them
    inputs: list[list[Any]]  # [path, file_state(path)] of each workspace file the rules were read from
    payload: bytes  # the publishDiagnostics params, as sent


def write_snapshot(folder: Path, snapshot: Snapshot) -> None:
    """Write the entry atomically (a reader sees the old one or the new one), then keep the folder
    within its bounds. An unwritable folder only means no early diagnostics next time."""
    header = {"format": FORMAT, "install": install_key(), "context": snapshot.context.as_json(),
              "path": str(snapshot.path), "uri": snapshot.uri, "file": snapshot.identity, "links": snapshot.links,
              "inputs": snapshot.inputs, "payload": [len(snapshot.payload), digest(snapshot.payload)]}
    try:
        write_cache_file(folder / snapshot.context.entry_name(snapshot.path),
                         [canonical(header), b"\n", snapshot.payload])
        evict(folder, SUFFIX, MAX_ENTRIES, MAX_TOTAL_BYTES)
    except OSError:
        pass


# --- reading -----------------------------------------------------------------------------------------


def valid_payloads(folder: Path, context: Context) -> list[bytes]:
    """The saved params of every store of these folders whose entry still holds in full, by path."""
    prefix = context.prefix()
    try:
        names = sorted(n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(SUFFIX))
    except OSError:
        return []
    found = []
    for name in names:
        with contextlib.suppress(Exception):  # an entry can hold anything at all: it is a hint
            payload = read_valid(folder / name, context)
            if payload is not None:
                found.append(payload)
    return found


def read_valid(entry: Path, context: Context) -> bytes | None:
    """The entry's payload when every fact its header records still holds, else None."""
    with entry.open("rb") as handle:
        data = handle.read()
    cut = data.find(b"\n")
    header, payload = json.loads(data[:cut]), data[cut + 1:]
    path = Path(header["path"])
    if not (header.get("format") == FORMAT and header.get("context") == context.as_json()
            and entry.name == context.entry_name(path) and header.get("install") == install_key()
            and header["payload"] == [len(payload), digest(payload)]):
        return None
    uri = header["uri"]
    if uri != path.as_uri() or not payload.startswith(b'{"uri":' + json.dumps(uri).encode() + b","):
        return None
    if links(path) != header["links"] or any(file_state(Path(name)) != state for name, state in header["inputs"]):
        return None
    inode, size, mtime_ns, fingerprint = header["file"]
    identity = store_identity(path, inode, size, mtime_ns)
    return payload if identity is not None and identity[3] == fingerprint else None
