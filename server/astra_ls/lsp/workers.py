"""The worker threads engine work runs in, so the message loop stays free for hovers and keystrokes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Workers:
    def __init__(self, count: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="astra-check")

    async def run(self, work: Callable[[], T]) -> T:
        """`work`'s result, computed in a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    def submit(self, work: Callable[..., Any], *args: Any) -> None:
        """Run `work` in a worker thread; nobody waits for it."""
        self._pool.submit(work, *args)

    def stop(self) -> None:
        """Work not started yet is dropped; work under way is not waited for (see client_watch.py)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
