"""The `astra_ls` loggers, forwarded to the client's output panel (`window/logMessage`).

Engine modules log with the standard `logging` module and know nothing of LSP; this handler carries
their records to the client, from whichever thread logged them, at the level the client chose
(`initializationOptions.logLevel`).
"""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types as lsp

from astra_ls.lsp.client import ClientLog

LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}
ROOT = "astra_ls"


def message_type(level: int) -> lsp.MessageType:
    if level >= logging.ERROR:
        return lsp.MessageType.Error
    if level >= logging.WARNING:
        return lsp.MessageType.Warning
    if level >= logging.INFO:
        return lsp.MessageType.Info
    return lsp.MessageType.Log


class ClientLogHandler(logging.Handler):
    """Sends each record as a `window/logMessage`, on the server's event loop."""

    def __init__(self, client: ClientLog, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.client = client
        self.loop = loop
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            kind = message_type(record.levelno)
            if _running_loop() is self.loop:
                self.client.log(text, kind)
            elif not self.loop.is_closed():
                self.loop.call_soon_threadsafe(self.client.log, text, kind)
        except Exception:  # logging must never take the server down: the standard fallback prints to stderr
            self.handleError(record)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def forward_logging(client: ClientLog, level: str) -> None:
    """Forward the `astra_ls` loggers to the client from now on, at `level` and above (once per server)."""
    logger = logging.getLogger(ROOT)
    logger.setLevel(LEVELS.get(level, logging.INFO))
    if not any(isinstance(h, ClientLogHandler) and h.client is client for h in logger.handlers):
        logger.addHandler(ClientLogHandler(client, asyncio.get_running_loop()))
    logger.propagate = False  # stderr is not the client's output panel: no second copy there
