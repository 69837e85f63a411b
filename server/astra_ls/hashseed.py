"""A per-user string-hash seed, so id hashes saved by one process compare equal in the next.

Id hashes are Python's `hash()` of the id (the fastest per-line hash there is), which is salted per
process. Rather than pay for a portable hash on every line of every scan, the commands that use the
index cache re-run themselves once at start with PYTHONHASHSEED set to a secret random seed kept
(0600) in the user's cache folder: hashes stay unpredictable to whoever writes the ids, yet stable
for this user. Light on imports: it runs before the heavy ones.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

CACHE_DIR_ENV = "ASTRA_LS_CACHE_DIR"  # where the cache lives (tests, or a user's choice)
CACHE_OFF_ENV = "ASTRA_LS_INDEX_CACHE"  # "0": no index cache, no re-run
SEED_ENV = "PYTHONHASHSEED"
SEED_FILE = "hash-seed"
PROBE = "astra-ls index cache probe"


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


def hashes_are_stable() -> bool:
    """This process's string hashes repeat in the next one run with the same environment."""
    return os.environ.get(SEED_ENV, "").isdigit()


def hash_probe() -> int:
    """A fixed string's hash: equal in two processes exactly when their id hashes are comparable."""
    return hash(PROBE)


def pin_hash_seed() -> None:
    """Re-run this process with the user's seed unless a seed is already set (or this is impossible)."""
    if SEED_ENV in os.environ or os.name != "posix" or not cache_enabled():
        return
    seed = user_seed(cache_home())
    if seed is None:
        return
    os.environ[SEED_ENV] = str(seed)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
    except OSError:
        del os.environ[SEED_ENV]  # carry on with a random seed: the cache is simply not used


def user_seed(folder: Path) -> int | None:
    """The seed kept in `folder`, created on first use; None when it can be neither read nor made."""
    path = folder / SEED_FILE
    try:
        return _read_seed(path)
    except (OSError, ValueError):
        pass
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = folder / f".{SEED_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{secrets.randbelow(2**32)}\n")
        try:
            os.link(temp, path)  # never replaces a seed another process made meanwhile
        except FileExistsError:
            pass
        finally:
            os.unlink(temp)
        return _read_seed(path)
    except (OSError, ValueError):
        return None


def _read_seed(path: Path) -> int:
    seed = int(path.read_text().strip())
    if not 0 <= seed < 2**32:
        raise ValueError("seed out of range")
    return seed
