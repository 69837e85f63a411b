"""A cache of the code attrs and cattrs generate, so the language server loads faster.

lsprotocol defines some 600 attrs classes; attrs writes each one's methods as Python source and compiles
it while the module loads, which is about half of the LSP library's load time. The same source always
compiles to the same code, so the compiled code is kept in a marshal file beside the installation's
bytecode (`__pycache__`, named for this interpreter, like a .pyc), keyed by the source, file name,
mode and compiler flags. It is written where Python would write bytecode, or by `python -m
astra_ls.lsp.generated_code` at set-up time; a file that is missing, damaged or from another interpreter
is simply not used. Light on imports: it runs before the heavy ones.
"""

from __future__ import annotations
import __future__

import builtins
import contextlib
import importlib
import importlib.util
import marshal
import sys
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

# modules that compile generated source with the builtin compile(), looked up as a global
GENERATORS = ("attr._make", "cattrs.gen", "cattrs.gen.typeddicts")
FORMAT = 1
FEATURE = type(__future__.annotations)

Key = tuple[str, str, str, int]


def cache_file() -> Path:
    folder = Path(__file__).resolve().parent.parent / "__pycache__"
    return folder / f"generated-code.{sys.implementation.cache_tag}.marshal"


class GeneratedCode:
    """Stands in for compile() in the generator modules: known source is answered from the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known = _load(path)
        self.missed = 0  # compiled here: not in the file yet

    def compiler_for(self, module: ModuleType) -> Any:
        """compile() as `module` would call it (its __future__ flags: compile inherits the caller's)."""
        flags = 0
        for value in vars(module).values():
            if isinstance(value, FEATURE):
                flags |= value.compiler_flag

        def compile(source: Any, filename: Any, mode: str, *args: Any, **kwargs: Any) -> Any:
            if args or kwargs or not isinstance(source, str) or not isinstance(filename, str):
                return builtins.compile(source, filename, mode, *args, **kwargs)
            key = (source, filename, mode, flags)
            code = self._known.get(key)
            if code is None:
                code = self._known[key] = builtins.compile(source, filename, mode, flags, dont_inherit=True)
                self.missed += 1
            return code

        return compile

    def save(self) -> None:
        """Write what this process compiled, when some of it was not in the file yet."""
        if not self.missed:
            return
        from astra_ls.store.cache_files import write_cache_file  # only when saving: a full cache never does

        entries = [(*key, code) for key, code in self._known.items()]
        with contextlib.suppress(OSError):  # not writable (an installation of another user's): compile next time
            write_cache_file(self.path, [marshal.dumps((FORMAT, importlib.util.MAGIC_NUMBER, entries))], shared=True)
        self.missed = 0


def _load(path: Path) -> dict[Key, CodeType]:
    try:
        found, magic, entries = marshal.loads(path.read_bytes())
        if found != FORMAT or magic != importlib.util.MAGIC_NUMBER:
            return {}
        return {(source, filename, mode, flags): code for source, filename, mode, flags, code in entries}
    except Exception:  # damaged, unreadable or missing: compile as usual
        return {}


_installed: GeneratedCode | None = None


def install(path: Path | None = None) -> GeneratedCode | None:
    """Answer the generators' compile() from the cache (once per process); None when they cannot be
    found or already define a compile of their own."""
    global _installed
    if _installed is not None:
        return _installed
    cache = GeneratedCode(path or cache_file())
    modules = []
    for name in GENERATORS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if "compile" in vars(module):
            return None
        modules.append(module)
    for module in modules:
        module.compile = cache.compiler_for(module)  # type: ignore[attr-defined]
    _installed = cache
    return cache


def save_if_allowed() -> None:
    """Save where Python would save bytecode: not when it is told not to (PYTHONDONTWRITEBYTECODE)."""
    if _installed is not None and not sys.dont_write_bytecode:
        _installed.save()


def build() -> int:
    """Compile what loading the language server generates, into the installation's cache file."""
    cache = install()
    if cache is None:
        return 1
    importlib.import_module("astra_ls.lsp.server")
    cache.save()
    return 0


if __name__ == "__main__":
    sys.exit(build())
