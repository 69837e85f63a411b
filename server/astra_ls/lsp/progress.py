"""Work-done progress the server starts itself (`$/progress`): a status-bar item in editors that show them.

Reports may come from worker threads; each is handed to the message loop, in order, so a report never
overtakes the `begin` (which waits for the client to accept the token) and nothing is written to the
stream from two threads at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from typing import Any

from lsprotocol import types as lsp

from astra_ls.lsp.client import ProgressClient

log = logging.getLogger(__name__)


async def begin_progress(client: ProgressClient, kind: str, title: str, message: str) -> str | None:
    """A new progress item shown at 0%; None when the client does not take server-started progress."""
    window = client.client_capabilities.window
    if window is None or not window.work_done_progress:
        return None
    token = f"astra-{kind}-{uuid.uuid4()}"
    try:
        await client.work_done_progress.create_async(token)
    except Exception as error:  # a client that refuses progress still gets the work done
        log.debug("the client refused a progress item (%r): working without one", error)
        return None
    client.work_done_progress.begin(token, lsp.WorkDoneProgressBegin(title=title, message=message, percentage=0))
    return token


class ThreadedProgress:
    """One progress item driven from a worker thread."""

    def __init__(self, client: ProgressClient, loop: asyncio.AbstractEventLoop, kind: str, title: str) -> None:
        self._client = client
        self._loop = loop
        self._kind = kind
        self._title = title
        self._token: str | None = None
        self._order = asyncio.Lock()  # waiters are served first come, first served: messages keep their order

    def begin(self, message: str) -> None:
        self._submit(self._begin(message))

    def report(self, message: str, percentage: int) -> None:
        self._submit(self._report(lsp.WorkDoneProgressReport(message=message, percentage=percentage)))

    def end(self, message: str) -> None:
        self._submit(self._end(lsp.WorkDoneProgressEnd(message=message)))

    def _submit(self, step: Coroutine[Any, Any, None]) -> None:
        try:
            asyncio.run_coroutine_threadsafe(step, self._loop)
        except RuntimeError:  # the loop has closed: the server is leaving, nobody to tell
            step.close()

    async def _begin(self, message: str) -> None:
        async with self._order:
            self._token = await begin_progress(self._client, self._kind, self._title, message)

    async def _report(self, value: lsp.WorkDoneProgressReport) -> None:
        async with self._order:
            if self._token is not None:
                self._client.work_done_progress.report(self._token, value)

    async def _end(self, value: lsp.WorkDoneProgressEnd) -> None:
        async with self._order:
            if self._token is not None:
                self._client.work_done_progress.end(self._token, value)
