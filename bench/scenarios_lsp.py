"""Measurements of the language server process, driven through a minimal stdio LSP client."""

from __future__ import annotations

from report import Row, not_available
from workspace import Context


def server_start(ctx: Context) -> list[Row]:
    return [not_available("4", "server start to first diagnostics", "not wired yet")]


def proportional_to_change(ctx: Context) -> list[Row]:
    return [not_available("3", "server work proportional to change", "not wired yet")]
