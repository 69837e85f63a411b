"""What the extension and the Python package declare: one set of URLs, every server setting, the config schema.

These read the shipped files (package.json, pyproject.toml, the generated schema) as a marketplace or an
editor would, and run the interpreter probe the extension runs before it starts the server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

from astra_ls.config import WorkspaceConfig
from astra_ls.config_schema import SHIPPED, render
from astra_ls.core.codes import CODES, REPOSITORY_URL

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "client-extension"
PACKAGE = json.loads((EXTENSION / "package.json").read_text())
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_one_set_of_urls_in_package_json_and_pyproject() -> None:
    urls = PYPROJECT["project"]["urls"]
    assert PACKAGE["homepage"] == urls["Homepage"]
    assert PACKAGE["repository"]["url"] == urls["Repository"]
    assert PACKAGE["bugs"]["url"] == urls["Issues"]
    # Problem codes link into the documentation the package declares.
    assert CODES["ASTRA001"].url == f"{urls['Documentation']}#astra001"
    assert urls["Homepage"] == urls["Repository"] == REPOSITORY_URL


def test_marketplace_fields_are_present_and_shipped() -> None:
    for field in ("publisher", "icon", "repository", "bugs", "homepage", "license", "categories"):
        assert PACKAGE.get(field), field
    ignore = (EXTENSION / ".vscodeignore").read_text().splitlines()
    shipped = [line[1:] for line in ignore if line.startswith("!")]

    def is_shipped(relative: str) -> bool:
        return any(Path(relative).match(pattern) or relative == pattern for pattern in shipped)

    referenced = [PACKAGE["icon"], *(v["url"].removeprefix("./") for v in PACKAGE["contributes"]["tomlValidation"])]
    for walkthrough in PACKAGE["contributes"]["walkthroughs"]:
        referenced += [step["media"]["markdown"] for step in walkthrough["steps"]]
    for relative in referenced:
        assert (EXTENSION / relative).is_file(), relative
        assert is_shipped(relative), f"{relative} is not packaged (.vscodeignore)"


def test_engine_is_what_the_typings_allow() -> None:
    """`@types/vscode` is pinned to the oldest VS Code we claim: the compiler then refuses any newer API."""
    engine = re.match(r"\^(\d+\.\d+)\.", PACKAGE["engines"]["vscode"])
    types = re.match(r"~(\d+\.\d+)\.", PACKAGE["devDependencies"]["@types/vscode"])
    assert engine and types and engine.group(1) == types.group(1)


def test_every_setting_the_server_reads_is_declared() -> None:
    declared = PACKAGE["contributes"]["configuration"]["properties"]
    for field in WorkspaceConfig.model_fields:
        key = f"astra.{field}"
        assert key in declared, f"{key} is read by the server but not declared in package.json"
        setting = declared[key]
        assert setting.get("markdownDescription") or setting.get("description"), key
        # A default other than null would be sent always and hide astra-ls.toml's value.
        assert setting.get("default") is None, f"{key} must default to null"


def test_shipped_config_schema_matches_the_models() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == render(), (
        "client-extension/schemas/astra-ls.schema.json is stale: run `python -m astra_ls.config_schema`"
    )


def probe(python: str, env: dict[str, str] | None = None) -> dict[str, object]:
    done = subprocess.run([python, "-m", "astra_ls.probe"], capture_output=True, text=True, timeout=60,
                          env=env, check=False)
    answer: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    assert (done.returncode == 0) == answer["ok"]
    return answer


def test_probe_says_ready_for_this_interpreter() -> None:
    answer = probe(sys.executable)
    assert answer["ok"] is True
    assert answer["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"


def test_probe_names_what_is_missing(tmp_path: Path) -> None:
    """An interpreter that sees astra-ls but none of its libraries: the probe says which, in words."""
    venv.create(tmp_path / "bare", with_pip=False)
    python = tmp_path / "bare" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    env = {**os.environ, "PYTHONPATH": str(REPO / "server")}
    answer = probe(str(python), env)
    assert answer["ok"] is False
    problems = answer["problems"]
    assert isinstance(problems, list)
    assert any("numpy is not installed" in p for p in problems)
    assert not any("Traceback" in p for p in problems)
