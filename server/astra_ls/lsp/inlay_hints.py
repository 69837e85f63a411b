"""Placeholder."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from astra_ls.lsp.server import AstraServer


def register(server: AstraServer) -> None:
    return None
