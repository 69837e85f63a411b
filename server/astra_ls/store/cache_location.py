"""Where astra-ls keeps what it caches for a user (index entries, remote mirrors): never in a workspace."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_DIR_ENV = "ASTRA_LS_CACHE_DIR"  # where the cache lives (tests, or a user's choice)
CACHE_OFF_ENV = "ASTRA_LS_INDEX_CACHE"  # "0": no index cache


def cache_home() -> Path:
    """The user cache folder of astra-ls: $ASTRA_LS_CACHE_DIR, else $XDG_CACHE_HOME/astra-ls, else
    ~/.cache/astra-ls."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "astra-ls"


def cache_root(folder: str | None = None) -> Path:
    """Where the language server keeps its caches: $ASTRA_LS_CACHE_DIR, else `folder` (the editor's
    storage for the extension), else the user cache folder."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    base = Path(explicit) if explicit else Path(folder) if folder else cache_home()
    return base.expanduser().absolute()


def cache_enabled() -> bool:
    return os.environ.get(CACHE_OFF_ENV, "1").strip().lower() not in ("0", "false", "no", "off")
