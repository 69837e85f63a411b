"""The language server's shape: features are handed what they use, and none holds the server.

Only lsp/server.py (which builds the features) and lsp/connection.py (the server itself) may name the
server; every other module of lsp/ gets its collaborators through its constructor, the client through
a narrow interface of lsp/client.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import astra_ls.lsp

LSP = Path(astra_ls.lsp.__file__).parent
BUILDERS = {"server.py", "connection.py"}
SERVER_MODULES = {"astra_ls.lsp.server", "astra_ls.lsp.connection"}


def feature_modules() -> list[Path]:
    return sorted(p for p in LSP.glob("*.py") if p.name not in BUILDERS)


def test_no_feature_module_imports_the_server() -> None:
    offending = []
    for path in feature_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in SERVER_MODULES:
                offending.append(f"{path.name}:{node.lineno} imports {node.module}")
            if isinstance(node, ast.Import):
                offending.extend(f"{path.name}:{node.lineno} imports {alias.name}"
                                 for alias in node.names if alias.name in SERVER_MODULES)
    assert offending == []


def test_no_feature_reaches_through_a_server_attribute() -> None:
    offending = []
    for path in feature_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("server", "_server") and \
                    isinstance(node.value, ast.Name) and node.value.id == "self":
                offending.append(f"{path.name}:{node.lineno}")
    assert offending == []
