"""The cache of attrs/cattrs generated code: each case runs in a fresh interpreter, as a server start does."""

from __future__ import annotations

import json
import marshal
import subprocess
import sys
from pathlib import Path

# Loads the LSP library with the cache at argv[1]; prints what it compiled and a few of the generated
# methods at work (attrs __init__/__eq__/__repr__, cattrs unstructure).
PROBE = """
import json, sys
from pathlib import Path
from astra_ls.lsp import generated_code
cache = generated_code.install(Path(sys.argv[1]))
from lsprotocol import types
from pygls.protocol import default_converter
position = types.Position(line=1, character=2)
diagnostic = types.Diagnostic(range=types.Range(position, position), message="m", code="ASTRA001")
shown = [repr(position), position == types.Position(1, 2), default_converter().unstructure(diagnostic)]
missed = cache.missed
cache.save()
print(json.dumps({"missed": missed, "shown": shown}))
"""


def run_probe(cache: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE, str(cache)], capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_second_start_compiles_nothing_and_behaves_the_same(tmp_path: Path) -> None:
    cache = tmp_path / "generated.marshal"
    first = run_probe(cache)
    assert isinstance(first["missed"], int) and first["missed"] > 500  # lsprotocol's classes, at least
    assert cache.is_file()
    second = run_probe(cache)
    assert second["missed"] == 0
    assert second["shown"] == first["shown"]


def test_the_cached_code_is_what_compile_makes(tmp_path: Path) -> None:
    cache = tmp_path / "generated.marshal"
    run_probe(cache)
    check = """
import sys
from astra_ls.lsp.generated_code import _load
from pathlib import Path
known = _load(Path(sys.argv[1]))
fresh = {key: compile(key[0], key[1], key[2], key[3], dont_inherit=True) for key in known}
same = all(fresh[key] == code and fresh[key].co_filename == code.co_filename for key, code in known.items())
print(len(known), same)
"""
    done = subprocess.run([sys.executable, "-c", check, str(cache)], capture_output=True, text=True, check=True)
    count, same = done.stdout.split()
    assert int(count) > 500 and same == "True"


def test_methods_from_the_cache_are_those_attrs_makes_without_it(tmp_path: Path) -> None:
    """Compared as code objects (flags included: attrs compiles under `from __future__ import annotations`,
    and compile() would otherwise take the caller's flags)."""
    probe = """
import marshal, sys
from pathlib import Path
if sys.argv[1] != "-":
    from astra_ls.lsp import generated_code
    generated_code.install(Path(sys.argv[1]))
from lsprotocol import types
classes = [types.Position, types.Diagnostic, types.InitializeResult, types.Hover]
sys.stdout.buffer.write(marshal.dumps([f.__code__ for c in classes for f in (c.__init__, c.__eq__, c.__repr__)]))
"""
    cache = tmp_path / "generated.marshal"
    run_probe(cache)
    made = [marshal.loads(subprocess.run([sys.executable, "-c", probe, where], capture_output=True, check=True).stdout)
            for where in ("-", str(cache))]
    assert len(made[0]) == 12 and made[0] == made[1]
    assert [code.co_flags for code in made[0]] == [code.co_flags for code in made[1]]


def test_a_damaged_cache_file_is_compiled_around_and_replaced(tmp_path: Path) -> None:
    cache = tmp_path / "generated.marshal"
    cache.write_bytes(b"\x00not marshal data")
    first = run_probe(cache)
    assert isinstance(first["missed"], int) and first["missed"] > 500
    assert run_probe(cache)["missed"] == 0
