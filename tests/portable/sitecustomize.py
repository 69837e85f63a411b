"""The portable test mode: with ASTRA_PORTABLE_TEST=1, every Python process started with this folder on
PYTHONPATH (pytest and the servers and CLIs the tests spawn) loses the POSIX-only calls Windows lacks,
so astra-ls takes its Windows code paths on any machine:

- no `fcntl` (importing it fails), a stand-in `msvcrt` with `locking` instead (byte-range locks are
  emulated with flock on the descriptor: exclusive per open file, like Windows' per-handle locks);
- no `os.fork`, `os.pread`, `os.O_NOFOLLOW`, `os.O_NONBLOCK`;
- multiprocessing starts its processes by spawning only;
- astra-ls's rewrites take Windows' way of replacing a store (`HOLD_OPEN_ACROSS_RENAME` false: the old
  file moved aside, then drained), since this system would let them rename over an open file.
(`subprocess` is imported first: it decides it runs on Windows when `msvcrt` exists.)

Test-only: never installed, never imported by astra-ls itself.
"""

from __future__ import annotations

import os
import sys
import types


def _install() -> None:
    import errno
    import fcntl as real_fcntl  # kept here only, for the stand-in below
    import multiprocessing
    import subprocess  # noqa: F401 - it takes a present `msvcrt` for Windows: let it look before there is one

    msvcrt = types.ModuleType("msvcrt")
    msvcrt.LK_UNLCK, msvcrt.LK_LOCK, msvcrt.LK_NBLCK, msvcrt.LK_RLCK, msvcrt.LK_NBRLCK = 0, 1, 2, 3, 4  # type: ignore[attr-defined]

    def locking(fd: int, mode: int, nbytes: int) -> None:
        if mode == msvcrt.LK_UNLCK:  # type: ignore[attr-defined]
            real_fcntl.flock(fd, real_fcntl.LOCK_UN)
            return
        try:
            real_fcntl.flock(fd, real_fcntl.LOCK_EX | real_fcntl.LOCK_NB)
        except BlockingIOError:
            raise PermissionError(errno.EACCES, "Permission denied") from None  # what Windows raises

    msvcrt.locking = locking  # type: ignore[attr-defined]
    sys.modules["msvcrt"] = msvcrt
    sys.modules["fcntl"] = None  # type: ignore[assignment]  # `import fcntl` now raises ImportError
    for name in ("fork", "pread", "O_NOFOLLOW", "O_NONBLOCK"):
        if hasattr(os, name):
            delattr(os, name)
    multiprocessing.set_start_method("spawn", force=True)
    sys.meta_path.insert(0, _WindowsRenames())


class _WindowsRenames:
    """Sets `HOLD_OPEN_ACROSS_RENAME = False` in astra_ls.store.fileio as soon as it is loaded (before any
    module takes the name from it)."""

    TARGET = "astra_ls.store.fileio"

    def find_spec(self, name: str, path: object, target: object = None) -> object:
        if name != self.TARGET:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path)  # type: ignore[arg-type]
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: types.ModuleType) -> None:
            original(module)
            module.HOLD_OPEN_ACROSS_RENAME = False  # type: ignore[attr-defined]

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if os.environ.get("ASTRA_PORTABLE_TEST") == "1":
    _install()
