"""Importing workspace code (user schemas and projectors) happens only in trusted workspaces."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any


class UntrustedImport(Exception):
    """A `package.module:Name` reference in a workspace that is not trusted."""


def import_reference(reference: str, root: Path, trusted: bool) -> Any:
    """Resolve `package.module:Name` with the workspace root importable, only when trusted."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{reference!r} is not of the form package.module:Name")
    if not trusted:
        raise UntrustedImport(
            f"{reference} is workspace code: astra-ls imports it only in a trusted workspace "
            "(trust the folder in the editor, or pass --trust on the command line)"
        )
    added = str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    finally:
        if added:
            sys.path.remove(str(root))
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"{module_name} has no attribute {attribute!r}") from None
