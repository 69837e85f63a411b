"""The `astra-ls` entry point: pins the string-hash seed for the commands that use the index cache
(before the heavy imports, which a re-run would pay twice), then hands over to the CLI."""

from __future__ import annotations

import sys

from astra_ls.hashseed import pin_hash_seed


def _command(argv: list[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def uses_index_cache(argv: list[str]) -> bool:
    command = _command(argv)
    return command == "serve" or (command == "check" and "--cache" in argv)


def main(default: str | None = None) -> int:
    """Runs the command line of this process (`default` when it names none)."""
    args = sys.argv[1:] or ([default] if default else [])
    if uses_index_cache(args):
        pin_hash_seed()
    if _command(args) == "serve":
        from astra_ls.lsp.early_start import begin

        begin()  # scans the stores while the language-server library loads
    from astra_ls.cli.main import main as cli_main

    return cli_main(args)
