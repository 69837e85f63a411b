"""Messages and help of the `astra-ls` command line, run as a process (issue 15.10): every error says
what is wrong in the user's terms, `--format json` errors are JSON, every flag has help, and the CLI has
the server's store list, schema and timeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from astra_ls.cli.main import build_parser

from .test_cli import astra, write


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / ".astra").mkdir()
    return tmp_path

FEED = (b'{"id":"m1","type":"UserMessageSent","timestamp":1700000000000,"content":"hi"}\n'
        b'{"id":"f1","type":"FeedbackGiven","timestamp":1700000001000,"messageIndex":0,"rating":"great"}\n')


def test_a_line_number_of_0_is_refused_in_the_flags_terms(ws: Path) -> None:
    write(ws, "conversation", FEED)
    result = astra("project", "conversation", "--at-line", "0", "--workspace", str(ws))
    assert result.returncode == 2
    assert result.stderr.strip() == ("astra-ls project: argument --at-line: 0 is out of range; give a 1-based line "
                                     "number (the first line is 1)")
    assert "astra.projectAt" not in result.stderr and "Input should" not in result.stderr


@pytest.mark.parametrize("args", [
    ["project", "conversation", "--at-line", "0"],
    ["count", "nothere"],
    ["append", "conversation", "{not json"],
    ["append", "conversation", '{"type":"UserMessageSent"}'],
    ["frobnicate"],
    ["query", "conversation", "--limit", "x"],
    ["check", "/no/such/file.jsonl"],
])
def test_errors_are_json_with_format_json(ws: Path, args: list[str]) -> None:
    write(ws, "conversation", FEED)
    result = astra(*args, "--workspace", str(ws), "--format", "json", cwd=ws)
    assert result.returncode in (1, 2)
    answer = json.loads(result.stdout)
    assert answer["ok"] is False and answer["code"] and answer["message"]
    assert "Traceback" not in result.stderr


def test_every_option_and_command_has_help() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.choices and isinstance(a.choices, dict))
    assert isinstance(subparsers.choices, dict)
    listed = {choice.dest: choice.help for choice in subparsers._choices_actions}
    assert all(listed.values()) and {"serve", "stores", "schema", "timeline"} <= set(listed)
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            assert action.help, f"astra-ls {name} {'/'.join(action.option_strings) or action.dest} has no help"
    shown = " ".join(astra("query", "--help").stdout.split())
    for said in ["--type TYPE only events of this type", "--limit LIMIT list at most this many events",
                 "--format {text,json,jsonl} text, json or jsonl (default text); json gives the language server's "
                 "answers"]:
        assert said in shown
    assert "run the language server over stdio" in astra("--help").stdout


def test_a_wrong_value_is_shown_in_the_message(ws: Path) -> None:
    path = write(ws, "conversation", FEED)
    result = astra("check", str(path))
    [line] = result.stdout.splitlines()
    assert line.endswith("ASTRA010 [error] field 'rating': input should be 'positive' or 'negative', "
                         "got a string \"great\"")


def test_stores_schema_and_timeline(ws: Path) -> None:
    write(ws, "conversation", FEED[: FEED.index(b"\n") + 1])
    write(ws, "feed", b'{"id":"a","type":"x","timestamp":1700000000000}\n{"id":"b","type":"y"}\n')
    listed = json.loads(astra("stores", "--workspace", str(ws), "--format", "json").stdout)
    assert [(s["name"], s["events"], s["schema"]) for s in listed["stores"]] == [
        ("conversation", 1, "conversation"), ("feed", 2, "generic")]
    table = astra("stores", "--workspace", str(ws)).stdout.splitlines()
    assert table[0].split() == ["STORE", "EVENTS", "PROBLEMS", "SCHEMA"]
    assert table[2].split() == ["feed", "2", "0", "generic"]

    schema = json.loads(astra("schema", "conversation", "--workspace", str(ws), "--format", "json").stdout)
    assert schema["family"] == "conversation"
    assert "UserMessageSent" in [t["name"] for t in schema["types"]]

    timeline = json.loads(astra("timeline", "feed", "--workspace", str(ws), "--buckets", "3", "--format",
                                "json").stdout)
    assert (timeline["types"], len(timeline["buckets"]), timeline["untimed"]) == (["x"], 3, 1)


def test_a_remote_that_cannot_be_reached_says_why(ws: Path) -> None:
    (ws / "astra-ls.toml").write_text('[[remote]]\nname = "prod"\nservers = ["nats://127.0.0.1:9"]\n'
                                      'timeout = 0.5\nretry_seconds = 0.5\n')
    result = astra("count", "conversation", "--remote", "prod", "--trust", "--workspace", str(ws), "--format", "json",
                   cwd=ws)
    answer = json.loads(result.stdout)
    assert answer["code"] == "UNREACHABLE"
    reason = answer["message"].split("cannot connect:", 1)[1].strip()
    assert reason, answer["message"]
