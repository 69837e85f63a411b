"""Confinement: nothing is read or written outside `<workspace>/.astra/`; untrusted code is never imported."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from astra_ls.commands import execute
from astra_ls.store.file_store import FileEventStore

from .conftest import Board
from .support import Workspace, cli

EVENT = {"type": "Tick", "id": "escape"}


def tree_digest(top: Path, skip: Path) -> dict[str, str]:
    """Every file under `top` (links not followed) except under `skip`, with a digest of its content."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(top):
        if Path(folder).is_relative_to(skip):
            continue
        for name in files + [d for d in dirs if (Path(folder) / d).is_symlink()]:
            path = Path(folder) / name
            content = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            found[str(path)] = hashlib.sha256(content).hexdigest()
    return found


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    target = tmp_path / "outside"
    target.mkdir()
    (target / "victim.jsonl").write_bytes(b'{"type":"Original"}\n')
    return target


ESCAPING_NAMES = [
    "../escaped", "../../escaped", "..", "a/../../escaped", "/tmp/escaped", "..\\escaped", "a\\..\\..\\escaped",
    "C:\\escaped", "%2e%2e%2fescaped", "..%2Fescaped", "a%2F..%2F..%2Fescaped", "%2E%2E/escaped.jsonl",
    ".astra/../escaped.jsonl", ".astra/../../outside/victim.jsonl", "file:///etc/escaped.jsonl",
    "file:///tmp/escaped.jsonl", "http://example.com/x.jsonl", "", " ", ".", ".hidden", "a\x00b",
]


@pytest.mark.scenario("confinement: escaping names")
@pytest.mark.parametrize("name", ESCAPING_NAMES)
def test_escaping_stream_names_are_refused_with_a_reason(workspace: Workspace, outside: Path, name: str,
                                                         board: Board) -> None:
    """A name or URI that tries to leave .astra/ is refused (PATH_REFUSED/invalid) and writes nothing."""
    before = tree_digest(workspace.root.parent, workspace.astra)
    store = FileEventStore(workspace.root)
    try:
        answer = execute(store, "astra.append", {"store": name, "event": EVENT})
    except Exception as error:  # argument validation (empty name) is an answer too, as long as it says why
        answer = {"ok": False, "code": type(error).__name__, "message": str(error)}
    assert answer["ok"] is False, f"{name!r} was accepted: {answer}"
    assert answer["message"].strip(), "a refusal must say why"
    if name.strip():
        assert answer["code"] in ("PATH_REFUSED", "InvalidArguments"), answer
    assert tree_digest(workspace.root.parent, workspace.astra) == before, f"{name!r} wrote outside .astra/"
    assert not any(p.name.startswith("escaped") for p in workspace.root.parent.rglob("*"))
    board.ran()


@pytest.mark.scenario("confinement: escaping names")
def test_encoded_uri_inside_astra_that_climbs_out_is_refused(workspace: Workspace, outside: Path,
                                                             board: Board) -> None:
    """file:// URIs with %2e%2e, %2f or '..' that start inside .astra/ but end outside are refused."""
    astra_uri = workspace.astra.as_uri()
    store = FileEventStore(workspace.root)
    for uri in (f"{astra_uri}/../../outside/victim.jsonl", f"{astra_uri}/%2e%2e/%2e%2e/outside/victim.jsonl",
                f"{astra_uri}/..%2F..%2Foutside%2Fvictim.jsonl", f"{astra_uri}/sub%5C..%5C..%5Cvictim.jsonl"):
        answer = execute(store, "astra.append", {"store": uri, "event": EVENT})
        assert answer["ok"] is False and answer["code"] == "PATH_REFUSED", (uri, answer)
        board.ran()
    assert (outside / "victim.jsonl").read_bytes() == b'{"type":"Original"}\n'


@pytest.mark.scenario("confinement: symlinks")
def test_symlinked_store_pointing_out_is_refused(workspace: Workspace, outside: Path, board: Board) -> None:
    """.astra/evil.jsonl -> ../outside/victim.jsonl: append, count and quarantine refuse; victim untouched."""
    (workspace.astra / "evil.jsonl").symlink_to(outside / "victim.jsonl")
    (workspace.astra / "sub").symlink_to(outside, target_is_directory=True)
    store = FileEventStore(workspace.root)
    for command, args in [("astra.append", {"store": "evil", "event": EVENT}), ("astra.count", {"store": "evil"}),
                          ("astra.quarantine", {"store": "evil"}), ("astra.compact", {"store": "evil"}),
                          ("astra.append", {"store": ".astra/sub/victim.jsonl", "event": EVENT}),
                          ("astra.append", {"store": ".astra/sub/new.jsonl", "event": EVENT}),
                          ("astra.append", {"store": (workspace.astra / "sub" / "new.jsonl").as_uri(), "event": EVENT}),
                          ("astra.append", {"store": "sub/new", "event": EVENT})]:
        answer = execute(store, command, args)
        assert answer["ok"] is False and answer["code"] == "PATH_REFUSED", (command, args, answer)
        assert "outside" in answer["message"] or "not inside" in answer["message"], answer["message"]
        board.ran()
    assert sorted(p.name for p in outside.iterdir()) == ["victim.jsonl"]
    assert (outside / "victim.jsonl").read_bytes() == b'{"type":"Original"}\n'
    done = cli("append", "evil", '{"type":"Tick"}', "--workspace", workspace.root)
    assert done.returncode != 0 and "outside" in done.stderr, done
    assert (outside / "victim.jsonl").read_bytes() == b'{"type":"Original"}\n'


@pytest.mark.scenario("confinement: symlinks")
def test_astra_folder_that_is_a_link_out_is_refused(tmp_path: Path, outside: Path, board: Board) -> None:
    """A workspace whose .astra is a symlink out of it: every command refuses, nothing appears outside."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / ".astra").symlink_to(outside, target_is_directory=True)
    before = tree_digest(tmp_path, tmp_path / "none")
    store = FileEventStore(root)
    for command, args in [("astra.append", {"store": "victim", "event": EVENT}),
                          ("astra.append", {"store": "fresh", "event": EVENT}),
                          ("astra.count", {"store": "victim"}), ("astra.quarantine", {"store": "victim"}),
                          ("astra.listStores", {})]:
        answer = execute(store, command, args)
        assert answer["ok"] is False and answer["code"] == "PATH_REFUSED", (command, answer)
        assert "outside the workspace" in answer["message"]
        board.ran()
    done = cli("check", root)
    assert done.returncode == 2 and "outside the workspace" in done.stderr, done
    assert tree_digest(tmp_path, tmp_path / "none") == before


# --- trust -----------------------------------------------------------------------------------------------

@pytest.fixture
def booby_trapped(workspace: Workspace) -> Path:
    """A workspace configuring a schema and a projector from a package that leaves a marker on import."""
    marker = workspace.root.parent / "IMPORTED"
    package = workspace.root / "trap"
    package.mkdir()
    (package / "__init__.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('workspace code ran')\n"
        "from pydantic import BaseModel\n"
        "class Tick(BaseModel):\n    type: str\n"
        "def project(state, event):\n    return state\n")
    (workspace.root / "astra-ls.toml").write_text(
        '[[stores]]\nglob = "trapped*.jsonl"\nschema = "trap:Tick"\nprojector = "trap:project"\n')
    workspace.write("trapped", b'{"type":"Tick","id":"t1"}\n')
    return marker


@pytest.mark.scenario("confinement: untrusted workspace code")
def test_untrusted_workspace_code_is_never_imported(workspace: Workspace, booby_trapped: Path,
                                                    board: Board) -> None:
    """Untrusted: check/count/project/quarantine work with the built-in schema and say what was skipped and
    how to trust; append (which the skipped schema would have judged) refuses; the marker never appears."""
    root = workspace.root
    runs = [("check", str(workspace.path("trapped"))), ("check", str(root)), ("count", "trapped"),
            ("append", "trapped", '{"type":"Tick","id":"t2"}'), ("project", "trapped"), ("quarantine", "trapped")]
    for args in runs:
        done = cli(*args, "--workspace", root, cwd=root)  # cwd first on sys.path: an import would succeed
        assert not booby_trapped.exists(), f"astra-ls {' '.join(args)} imported workspace code"
        refused = args[0] == "append"
        assert (done.returncode != 0) == refused, f"astra-ls {' '.join(args)}: exit {done.returncode}: {done.stderr}"
        assert "trust" in (done.stderr + done.stdout).lower(), f"no word about trust: {done.stderr}"
        board.ran()
    store = FileEventStore(root)
    answer = execute(store, "astra.append", {"store": "trapped", "event": {"type": "Tick"}})
    assert answer["ok"] is False and "trust" in answer["message"]
    assert not booby_trapped.exists()
    assert workspace.read("trapped") == b'{"type":"Tick","id":"t1"}\n'


@pytest.mark.scenario("confinement: untrusted workspace code")
def test_trusted_workspace_does_import_the_code(workspace: Workspace, booby_trapped: Path, board: Board) -> None:
    """Control: with --trust the same workspace imports the package, so the marker check can see imports."""
    done = cli("count", "trapped", "--workspace", workspace.root, "--trust", cwd=workspace.root)
    assert done.returncode == 0, done.stderr
    assert booby_trapped.exists()
    board.ran()
