"""The VSIX files as built by `npm run package -- --all-targets`: one per platform, each carrying the server
and every runtime dependency as wheels for that platform and every Python it claims, installable offline.

Skipped when no VSIX was built (a plain `pytest` run); `scripts/test.sh` builds them all and sets
ASTRA_REQUIRE_VSIX=1, so there a missing VSIX fails instead.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "client-extension"
BUNDLER = EXTENSION / "scripts" / "bundle_wheels.py"
TARGETS = ("win32-x64", "win32-arm64", "darwin-x64", "darwin-arm64", "linux-x64", "linux-arm64")
VERSION = json.loads((EXTENSION / "package.json").read_text())["version"]


def vsix(target: str) -> Path:
    path = EXTENSION / f"astra-ls-{target}-{VERSION}.vsix"
    if not path.is_file():
        if os.environ.get("ASTRA_REQUIRE_VSIX") == "1":
            pytest.fail(f"{path.name} was not built")
        pytest.skip(f"{path.name} not built (npm run package -- --all-targets)")
    return path


def unpack(path: Path, into: Path) -> Path:
    with zipfile.ZipFile(path) as zf:
        zf.extractall(into)
    return into


@pytest.mark.parametrize("target", TARGETS)
def test_platform_vsix_declares_its_target_and_ships_a_complete_wheel_set(target: str, tmp_path: Path) -> None:
    root = unpack(vsix(target), tmp_path)
    manifest = (root / "extension.vsixmanifest").read_text()
    assert re.search(rf'TargetPlatform="{re.escape(target)}"', manifest), "manifest names no (or another) target"
    wheels = root / "extension" / "server-wheel"
    bundle = json.loads((wheels / "bundle.json").read_text())
    assert bundle["target"] == target
    assert {"3.11", "3.12", "3.13"} <= set(bundle["pythons"]), f"{target} serves only {bundle['pythons']}"
    assert any(wheels.glob("astra_ls-*.whl")) and any(wheels.glob("pip-*.whl"))
    # Every dependency resolves from the shipped wheels alone, for this platform and every claimed Python.
    verified = subprocess.run([sys.executable, str(BUNDLER), "--verify", str(wheels)], capture_output=True,
                              text=True, timeout=600, check=False)
    assert verified.returncode == 0, verified.stderr
    for name in ("sample-workspace/.astra/conversation.jsonl", "schemas/astra-ls.schema.json", "images/icon.png"):
        assert (root / "extension" / name).is_file(), name


def test_universal_vsix_ships_only_the_server_wheel(tmp_path: Path) -> None:
    path = EXTENSION / f"astra-ls-{VERSION}.vsix"
    if not path.is_file():
        if os.environ.get("ASTRA_REQUIRE_VSIX") == "1":
            pytest.fail(f"{path.name} was not built")
        pytest.skip(f"{path.name} not built")
    root = unpack(path, tmp_path)
    assert "TargetPlatform" not in (root / "extension.vsixmanifest").read_text()
    wheels = sorted(p.name for p in (root / "extension" / "server-wheel").glob("*.whl"))
    assert len(wheels) == 1 and wheels[0].startswith("astra_ls-")


def read_message(stream: object) -> dict[str, object]:
    assert hasattr(stream, "readline") and hasattr(stream, "read")
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    message: dict[str, object] = json.loads(stream.read(length))
    return message


@pytest.mark.skipif(sys.platform != "linux" or os.uname().machine != "x86_64", reason="installs the linux-x64 set")
def test_linux_vsix_installs_offline_and_the_server_answers_initialize(tmp_path: Path) -> None:
    """What the extension does at first run, with the network out of reach: a venv without pip, pip run
    from its shipped wheel, `--no-index`; then the real server answers `initialize`."""
    root = unpack(vsix("linux-x64"), tmp_path / "vsix")
    wheels = root / "extension" / "server-wheel"
    venv.create(tmp_path / "env", with_pip=False)
    python = tmp_path / "env" / "bin" / "python"
    pip = next(wheels.glob("pip-*.whl")) / "pip"
    dead = "http://127.0.0.1:9"  # any attempt to reach an index fails at once
    offline = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "HTTP_PROXY": dead,
               "HTTPS_PROXY": dead, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    installed = subprocess.run([str(python), str(pip), "install", "-q", "--no-index", "--find-links", str(wheels),
                                "astra-ls"], capture_output=True, text=True, env=offline, timeout=600, check=False)
    assert installed.returncode == 0, installed.stderr
    server = subprocess.Popen([str(python), "-m", "astra_ls", "serve"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tmp_path,
                              env={**offline, "ASTRA_LS_CACHE_DIR": str(tmp_path / "cache")})
    assert server.stdin and server.stdout
    try:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                           "params": {"processId": None, "rootUri": None, "capabilities": {}}}).encode()
        server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        server.stdin.flush()
        answer = read_message(server.stdout)
        while "id" not in answer:  # log messages before the answer
            answer = read_message(server.stdout)
        assert answer["id"] == 1
        result = answer["result"]
        assert isinstance(result, dict) and "capabilities" in result
    finally:
        server.kill()
        server.wait(timeout=30)
