"""The server never outlives its client.

LSP says a server should exit when the process named by `initialize`'s `processId` dies, and a client
whose stdin closed is gone too. Either way nothing is left to answer: the process ends at once, without
waiting for checks still running in worker threads (a check of a huge store, a slow user projector),
which would otherwise keep it alive as an orphan using CPU.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable

POLL_S = 1.0  # how often the client's process is looked at


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs (portable: no signal is ever sent)."""
    if sys.platform == "win32":
        import ctypes

        synchronize, query_limited, access_denied, wait_timeout = 0x00100000, 0x1000, 5, 0x102
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(synchronize | query_limited, False, pid)
        if not handle:
            return ctypes.get_last_error() == access_denied  # it exists, it is just not ours to open
        try:
            return bool(kernel32.WaitForSingleObject(handle, 0) == wait_timeout)
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def watch_client(pid: int | None, gone: Callable[[], None] | None = None) -> threading.Thread | None:
    """Poll the client's process in a daemon thread and call `gone` (default: `end_now(1)`) once it
    died; also when it was this process's parent and this process was handed to another one."""
    if pid is None or pid <= 0 or pid == os.getpid():
        return None
    parent = os.getppid() if sys.platform != "win32" else None
    stopped = gone if gone is not None else lambda: end_now(1)

    def poll() -> None:
        stop = threading.Event()
        while not stop.wait(POLL_S):
            orphaned = parent is not None and parent == pid and os.getppid() != parent
            if orphaned or not process_alive(pid):
                print(f"astra-ls: the client's process {pid} is gone; stopping", file=sys.stderr)
                stopped()
                return

    thread = threading.Thread(target=poll, name="astra-client-watch", daemon=True)
    thread.start()
    return thread


def end_now(code: int) -> None:
    """End the process now: worker threads still busy are not waited for (the client is gone)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
