"""`astra-ls check --format sarif|github|junit` as a process, validated against the formats' own schemas
(the official SARIF 2.1.0 JSON Schema and Ant's JUnit XSD, both in tests/data), and the pre-commit hook
run by pre-commit itself in a temporary git repository."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest
import xmlschema
import yaml

from astra_ls.core.codes import CODES, README_URL, REPOSITORY_URL

from .test_cli import astra

DATA = Path(__file__).parent.parent / "data"
ROOT = Path(__file__).parent.parent.parent

# Line 2: a non-BMP character before the error, so UTF-16 columns differ from code points and bytes.
# Line 3: a duplicate id (a related location). Line 4: a backwards timestamp (a warning).
STORE = ('{"id":"a","timestamp":5}\n{"k":"한🙂", "v": }\n{"id":"a","timestamp":6}\n'
         '{"id":"b","timestamp":1}\n').encode()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / ".astra").mkdir()
    (tmp_path / ".astra" / "feed.jsonl").write_bytes(STORE)
    (tmp_path / ".astra" / "clean.jsonl").write_bytes(b'{"id":"x"}\n')
    return tmp_path


def text_problems(cwd: Path) -> list[tuple[str, int, int, str]]:
    """(path, line, column, code) from the text format: the reference the other formats must agree with."""
    out = astra("check", ".", cwd=cwd).stdout
    found = []
    for line in out.splitlines():
        path, number, column, rest = line.split(":", 3)
        found.append((path, int(number), int(column), rest.split()[0]))
    return found


def test_sarif_is_valid_and_agrees_with_the_text_format(checkout: Path) -> None:
    result = astra("check", "--format", "sarif", ".", cwd=checkout)
    assert result.returncode == 1, result.stderr
    log = json.loads(result.stdout)
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(log)

    [run] = log["runs"]
    assert run["columnKind"] == "utf16CodeUnits"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == checkout.absolute().as_uri() + "/"
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(CODES)
    readme = (ROOT / "README.md").read_text()
    for rule in rules:
        anchor = rule["id"].lower()
        assert rule["helpUri"] == f"{README_URL}#{anchor}"
        assert f'<a id="{anchor}"></a>' in readme  # the link lands on the code's section
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert rules[list(CODES).index("ASTRA021")]["defaultConfiguration"]["level"] == "warning"

    results = run["results"]
    located = [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"],
                r["locations"][0]["physicalLocation"]["region"]["startColumn"], r["ruleId"]) for r in results]
    assert located == [(p.replace("\\", "/"), line, column, code) for p, line, column, code in text_problems(checkout)]
    malformed = next(r for r in results if r["ruleId"] == "ASTRA001")
    assert malformed["locations"][0]["physicalLocation"]["region"]["startColumn"] == \
        len('{"k":"한🙂", "v": '.encode("utf-16-le")) // 2 + 1
    duplicate = next(r for r in results if r["ruleId"] == "ASTRA020")
    assert duplicate["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert {r["ruleId"]: r["level"] for r in results}["ASTRA021"] == "warning"
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)


def test_sarif_of_a_clean_store_is_valid_and_exits_0(checkout: Path) -> None:
    result = astra("check", "--format", "sarif", ".astra/clean.jsonl", cwd=checkout)
    assert result.returncode == 0
    log = json.loads(result.stdout)
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft7Validator(schema).validate(log)
    assert log["runs"][0]["results"] == []


def test_help_links_come_from_the_project_urls() -> None:
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert urls["Repository"] == REPOSITORY_URL
    assert README_URL.startswith(REPOSITORY_URL + "/")


def test_github_annotations_escape_data_and_properties(tmp_path: Path) -> None:
    # A path with ',' and ':' (escaped as properties) and a message with '%' (escaped as data).
    folder = tmp_path / "we,ird:dir"
    folder.mkdir()
    (folder / "log.jsonl").write_bytes(b'{"id":"a","timestamp":2}\n{"id":"b","timestamp":1}\n[1]\n'
                                       b'{"id":"c","type":"100%"}\n')
    result = astra("check", "--format", "github", str(folder / "log.jsonl"), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == ("::warning file=we%2Cird%3Adir/log.jsonl,line=2,col=23,endLine=2,endColumn=24,"
                        "title=ASTRA021::timestamp 1 is earlier than the previous event's 2 (line 1): "
                        "events must be appended in time order")
    assert lines[1].startswith("::error file=we%2Cird%3Adir/log.jsonl,line=3,col=1,endLine=3,endColumn=4,"
                               "title=ASTRA002::")
    for line in lines:  # every annotation is one workflow command on one line
        assert re.fullmatch(r"::(error|warning|notice) file=[^:,]+(,(line|col|endLine|endColumn)=\d+)+"
                            r",title=ASTRA\d{3}::[^\r\n]*", line), line


def test_github_escaping_rules() -> None:
    from astra_ls.cli.reports import _escape_data, _escape_property

    assert _escape_data("50% done\r\nnext: a,b") == "50%25 done%0D%0Anext: a,b"
    assert _escape_property("50% a:b,c\n") == "50%25 a%3Ab%2Cc%0A"


def test_junit_is_valid_against_the_ant_schema(checkout: Path) -> None:
    # A control character in a message (XML 1.0 cannot carry it) must not break the document.
    (checkout / ".astra" / "ctl.jsonl").write_bytes(b'{"id":"a","type":"x\\u0001y"}\n{"id":"a"}\n')
    result = astra("check", "--format", "junit", ".", cwd=checkout)
    assert result.returncode == 1, result.stderr
    schema = xmlschema.XMLSchema(DATA / "JUnit.xsd")
    schema.validate(result.stdout)
    document = schema.to_dict(result.stdout)
    suites = {s["@name"]: s for s in document["testsuite"]}
    assert set(suites) == {".astra/clean.jsonl", ".astra/ctl.jsonl", ".astra/feed.jsonl"}
    clean = suites[".astra/clean.jsonl"]
    assert (clean["@tests"], clean["@failures"]) == (1, 0)
    assert [case["@name"] for case in clean["testcase"]] == ["no problems"]
    feed = suites[".astra/feed.jsonl"]
    codes = [p[3] for p in text_problems(checkout) if p[0] == ".astra/feed.jsonl"]
    assert feed["@tests"] == len(codes) == 3
    assert feed["@failures"] == 2  # the backwards timestamp is a warning: a passing testcase
    failing = [case["failure"]["@type"] for case in feed["testcase"] if "failure" in case]
    assert failing == ["ASTRA001", "ASTRA020"]


def test_shipped_pre_commit_hook_names_the_check() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "astra-ls-check"
    assert hook["entry"] == "astra-ls check"
    assert hook["language"] == "python"
    files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])
    staged = [".astra/conversation.jsonl", "app/.astra/agents/a.jsonl", ".astra/quarantine/x.jsonl",
              "data/x.jsonl", ".astra/archive/x.jsonl.gz", "x.astra/y.jsonl"]
    picked = [f for f in staged if files.search(f) and not exclude.search(f)]
    assert picked == [".astra/conversation.jsonl", "app/.astra/agents/a.jsonl"]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_pre_commit_blocks_a_broken_store_and_passes_a_fixed_one(tmp_path: Path) -> None:
    """pre-commit itself, in a fresh git repository, running the shipped hook's entry and file filter
    (as a `local` hook calling this installation's astra-ls: no network)."""
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    executable = shutil.which("astra-ls", path=str(Path(sys.executable).parent))  # astra-ls.exe on Windows
    assert executable is not None
    local = {**hook, "language": "system", "entry": f"{Path(executable).as_posix()} {hook['entry'].split(' ', 1)[1]}"}
    repo = tmp_path / "repo"
    (repo / ".astra").mkdir(parents=True)
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": [local]}]}))
    (repo / ".astra" / "feed.jsonl").write_bytes(b'{"id":"a"}\n{"id":"a"\n')
    (repo / "notes.jsonl").write_bytes(b"not json\n")  # outside .astra/: not a store, not checked
    git(repo, "init", "-q")
    git(repo, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    run = [sys.executable, "-m", "pre_commit", "run", "--color", "never"]
    failed = subprocess.run(run, cwd=repo, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert ".astra/feed.jsonl:2:" in failed.stdout and "ASTRA001" in failed.stdout
    assert "notes.jsonl" not in failed.stdout

    (repo / ".astra" / "feed.jsonl").write_bytes(b'{"id":"a"}\n{"id":"b"}\n')
    git(repo, "add", ".")
    passed = subprocess.run(run, cwd=repo, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout


def test_ci_formats_of_a_remote_store_are_refused_clearly(checkout: Path) -> None:
    result = astra("check", "--remote", "prod", "--format", "sarif", cwd=checkout)
    assert result.returncode == 2 and result.stdout == ""
    assert "--format sarif is for workspace files" in result.stderr and "Traceback" not in result.stderr
