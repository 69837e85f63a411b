"""`python -m astra_ls.probe`: can this interpreter run the language server? One JSON line says.

The editor runs it before starting the server, so a user sees "numpy is missing" or "Python 3.10 is too
old" instead of a server that starts and dies. It must be quick (it runs before every start): libraries
are only looked up, not imported (importing them all takes about a second); our own modules that differ
by platform are imported, since they are what fails on an unsupported one.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys

MINIMUM = (3, 11)

# The libraries `astra-ls serve` imports, and our light modules whose code differs by platform.
LIBRARIES = ("pygls", "lsprotocol", "orjson", "pydantic", "pydantic_core", "msgspec", "jsonschema", "numpy", "xxhash",
             "re2")
PLATFORM_MODULES = ("astra_ls.store.locking", "astra_ls.store.fileio")


def problems() -> list[str]:
    found: list[str] = []
    if sys.version_info < MINIMUM:
        have = ".".join(map(str, sys.version_info[:2]))
        found.append(f"Python {have} is too old: astra-ls needs {MINIMUM[0]}.{MINIMUM[1]} or newer")
        return found
    for name in LIBRARIES:
        if importlib.util.find_spec(name) is None:
            found.append(f"{name} is not installed: reinstall astra-ls for this interpreter")
    for name in PLATFORM_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as error:
            missing = getattr(error, "name", None) or name
            found.append(f"cannot import {missing} ({error}): reinstall astra-ls for this interpreter")
        except Exception as error:  # a broken installation: say what broke, without a traceback
            found.append(f"importing {name} failed: {type(error).__name__}: {error}")
    return found


def main() -> int:
    found = problems()
    print(json.dumps({"ok": not found, "python": ".".join(map(str, sys.version_info[:2])), "problems": found}))
    return 0 if not found else 1


if __name__ == "__main__":
    sys.exit(main())
