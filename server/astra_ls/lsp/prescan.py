"""Scan the workspace's stores into the index cache while the language server is still loading.

A forked process, started as soon as the client's `initialize` names the workspace folders, scans
each store (smallest first) and saves its analysis in the index cache; the server, once loaded,
waits for a store's entry before its own first check of it and then simply loads it. The scan uses the
settings sent along with `initialize` (if any); the entry is only used if it matches the rules and
file the server ends up with, so other settings the client gives later can cost a second scan, never
a wrong one. The engine is imported before the fork, so the
server and the scanning process share one import of it; the LSP library is imported only after.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from astra_ls.hashseed import cache_enabled, hashes_are_stable
from astra_ls.lsp.early_start import ClientOptions, client_options
from astra_ls.store.paths import PathRefused, path_from_uri

PLANNED, DONE = b"+", b"="  # line prefixes on the pipe from the scanning process

_running: Prescan | None = None


class Prescan:
    """The server's view of the scanning process: which stores it will report, and which it has."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid = pid
        self._planned: set[str] = set()
        self._done: set[str] = set()
        self._planning = True
        self._finished = False
        self._changed = threading.Condition()
        threading.Thread(target=self._follow, args=(pipe,), name="astra-prescan", daemon=True).start()

    def wait_for(self, path: Path) -> None:
        """Return once the scan of `path` is in the index cache, or once it is clear it will not be."""
        key = os.path.realpath(path)
        with self._changed:
            self._changed.wait_for(lambda: self._finished or key in self._done
                                   or (not self._planning and key not in self._planned))

    def stop(self) -> None:
        """The server is leaving: a scan nobody waits for any more is not worth finishing."""
        with self._changed:
            if self._finished:
                return
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGTERM)

    def _follow(self, pipe: int) -> None:
        with os.fdopen(pipe, "rb") as lines:
            for line in lines:
                self._note(line.rstrip(b"\n"))
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        with self._changed:
            self._finished = True
            self._changed.notify_all()

    def _note(self, line: bytes) -> None:
        kind, path = line[:1], os.fsdecode(line[1:])
        with self._changed:
            if kind == PLANNED and path:
                self._planned.add(path)
            elif kind == PLANNED:
                self._planning = False  # an empty entry ends the plan
            elif kind == DONE:
                self._done.add(path)
            self._changed.notify_all()


def running() -> Prescan | None:
    return _running


def start_prescan(params: dict[str, Any]) -> Prescan | None:
    """Fork the scanning process for the folders of these `initialize` params, when the index cache
    is in use (the scan's only output is cache entries)."""
    global _running
    options = client_options(params.get("initializationOptions"))
    folders = workspace_folders(params)
    if not (folders and options.index_cache and cache_enabled() and hashes_are_stable() and hasattr(os, "fork")):
        return None
    importlib.import_module("astra_ls.lsp.workspace_state")  # the engine: loaded once, for both processes

    sys.stdout.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(folders, options, write_end)
    os.close(write_end)
    _running = Prescan(pid, read_end)
    return _running


def workspace_folders(params: dict[str, Any]) -> list[Path]:
    """The folders the server will serve: the workspace folders, else the root."""
    listed = params.get("workspaceFolders")
    uris = [f["uri"] for f in listed if isinstance(f, dict) and isinstance(f.get("uri"), str)] \
        if isinstance(listed, list) else []
    if not uris and isinstance(params.get("rootUri"), str):
        uris = [params["rootUri"]]
    folders = []
    for uri in uris:
        with contextlib.suppress(PathRefused, TypeError, ValueError):
            folders.append(path_from_uri(uri))
    if not folders and isinstance(params.get("rootPath"), str):
        folders.append(Path(params["rootPath"]))
    return folders


def _child(folders: list[Path], options: ClientOptions, pipe: int) -> None:
    """The scanning process: never touches the JSON-RPC streams, always ends with os._exit."""
    code = 1
    try:
        os.setsid()  # its own process group, worker pool included: the server can stop it all at once
        quiet = os.open(os.devnull, os.O_RDWR)
        os.dup2(quiet, 0)
        os.dup2(quiet, 1)
        _scan_into_cache(folders, options, pipe)
        code = 0
    except BaseException:  # nothing to report to: the server scans what it does not find
        pass
    finally:
        os._exit(code)


def _scan_into_cache(folders: list[Path], options: ClientOptions, pipe: int) -> None:
    from astra_ls.lsp.workspace_state import Workspaces
    from astra_ls.store.index_cache import open_index_cache

    cache = open_index_cache(options.cache_dir)
    workspaces = Workspaces()
    workspaces.index_cache = cache
    workspaces.configure(folders, options.settings, options.trusted is True)
    # a store whose cache would lie inside its workspace gets none: nothing to scan it for
    stores = [located for located in sorted(workspaces.discover(), key=lambda located: _size(located.path))
              if located.store.analyses.index_cache is not None]
    for located in stores:
        os.write(pipe, PLANNED + os.fsencode(os.path.realpath(located.path)) + b"\n")
    os.write(pipe, PLANNED + b"\n")
    for located in stores:
        with contextlib.suppress(Exception):
            located.store.refresh(located.stream)
            located.store.analyses.index_cache.wait()  # type: ignore[union-attr]
        os.write(pipe, DONE + os.fsencode(os.path.realpath(located.path)) + b"\n")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
