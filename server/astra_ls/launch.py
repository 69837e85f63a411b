"""The `astra-ls` entry point: hands the command line over to the CLI."""

from __future__ import annotations

import sys


def main(default: str | None = None) -> int:
    """Runs the command line of this process (`default` when it names none)."""
    from astra_ls.cli.main import main as cli_main

    return cli_main(sys.argv[1:] or ([default] if default else []))
