"""Per-store type, id and time fields on logs nobody here wrote (issue 15.4), through the `astra-ls`
process: Kubernetes audit events, a coding agent's transcript, epoch-second times, dotted paths."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .test_cli import astra

START = datetime(2025, 6, 1, 22, 50, tzinfo=UTC)


def iso(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat(timespec="microseconds").replace("+00:00", "Z")


def write(root: Path, name: str, events: list[dict[str, Any]], config: str = "") -> Path:
    (root / ".astra").mkdir(parents=True, exist_ok=True)
    if config:
        (root / "astra-ls.toml").write_text(config)
    path = root / ".astra" / f"{name}.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def run_json(*args: str) -> dict[str, Any]:
    result = astra(*args, "--format", "json")
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def audit_event(n: int, verb: str) -> dict[str, Any]:
    return {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": f"a-{n:04d}",
            "stage": "ResponseComplete", "requestURI": f"/api/v1/namespaces/default/pods/p{n}", "verb": verb,
            "user": {"username": "system:admin"}, "objectRef": {"resource": "pods", "namespace": "default"},
            "responseStatus": {"code": 200}, "requestReceivedTimestamp": iso(n - 0.01), "stageTimestamp": iso(n),
            "annotations": {"authorization.k8s.io/decision": "allow"}}


AUDIT_CONFIG = ('[[stores]]\nglob = "audit.jsonl"\ntype_field = "verb"\nid_field = "auditID"\n'
                'time_field = "stageTimestamp"\n')


def test_kubernetes_audit_events_by_verb_with_their_own_id_and_time(tmp_path: Path) -> None:
    verbs = ["get", "list", "watch", "create", "get", "delete"]
    events = [audit_event(n, verbs[n % len(verbs)]) for n in range(60)]
    path = write(tmp_path, "audit", events, AUDIT_CONFIG)
    counted = run_json("count", str(path))
    assert counted["byType"] == {"get": 20, "create": 10, "delete": 10, "list": 10, "watch": 10}
    assert counted["fields"] == {"type": "verb", "id": "auditID", "time": {
        "field": "stageTimestamp", "format": "iso8601", "detected": True, "untimed": 0}}
    found = run_json("query", str(path), "--type", "create", "--from", iso(10), "--to", iso(40))
    assert [e["event"]["auditID"] for e in found["events"]] == ["a-0015", "a-0021", "a-0027", "a-0033", "a-0039"]
    assert found["untimed"] == 0

    with path.open("a") as handle:  # the same auditID again (a retried write), and a stage going back
        handle.write(json.dumps({**audit_event(3, "get"), "stageTimestamp": iso(1)}) + "\n")
    checked = astra("check", str(path))
    assert checked.returncode == 1
    codes = [line.split(": ")[1].split()[0] for line in checked.stdout.splitlines()]
    assert codes == ["ASTRA020", "ASTRA021"]
    assert '"a-0003"' in checked.stdout and "line 4" in checked.stdout


def transcript(count: int) -> list[dict[str, Any]]:
    """A coding agent's session: user and assistant turns with uuids and ISO times, and summary lines
    that carry neither."""
    events: list[dict[str, Any]] = []
    parent = None
    for n in range(count):
        if n % 12 == 5:
            events.append({"type": "summary", "summary": f"part {n}", "leafUuid": parent})
            continue
        uuid = f"5f0c{n:04d}-aaaa-bbbb-cccc-000000000000"
        role = "user" if n % 2 == 0 else "assistant"
        events.append({"parentUuid": parent, "isSidechain": False, "type": role, "uuid": uuid,
                       "sessionId": "s-1", "timestamp": iso(n * 2), "message": {"role": role, "content": "..."}})
        parent = uuid
    return events


def test_an_agent_transcript_under_an_agent_name_is_not_judged_by_the_agent_family(tmp_path: Path) -> None:
    events = transcript(51)
    assert sum(1 for e in events if "timestamp" not in e) == 4
    path = write(tmp_path, "agent-session", events, '[[stores]]\nglob = "agent-*.jsonl"\nid_field = "uuid"\n')
    checked = astra("check", str(path))
    assert (checked.returncode, checked.stdout) == (0, ""), checked.stdout[:500]
    counted = run_json("count", str(path))
    assert counted["byType"] == {"user": 26, "assistant": 21, "summary": 4}
    assert counted["fields"]["time"] == {"field": "timestamp", "format": "iso8601", "detected": True, "untimed": 4}
    found = run_json("query", str(path), "--from", iso(0), "--to", iso(1000))
    assert (found["total"], found["untimed"]) == (47, 4)  # the four summaries are counted, not dropped in silence


def test_a_declared_family_that_knows_none_of_the_types_gets_one_summary(tmp_path: Path) -> None:
    path = write(tmp_path, "run", transcript(30), '[[stores]]\nglob = "run.jsonl"\nschema = "agent"\n')
    checked = astra("check", str(path))
    assert checked.returncode == 1
    [line] = checked.stdout.splitlines()  # not thirty ASTRA011 lines
    assert line.startswith(f"{path}:1:52: ASTRA012 [error] none of the 30 lines has an event type the agent "
                           "schema knows (user: 15, assistant: 12, summary: 3): is it the right schema?")


def test_epoch_seconds_detected_or_declared_and_dotted_paths(tmp_path: Path) -> None:
    events = [{"metadata": {"uid": f"u{n}", "creationTimestamp": 1_748_818_200 + n}, "reason": "Pulled"}
              for n in range(5)]
    path = write(tmp_path, "events", events, '[[stores]]\nglob = "events.jsonl"\nid_field = "metadata.uid"\n'
                 'time_field = "metadata.creationTimestamp"\ntype_field = "reason"\n')
    counted = run_json("count", str(path))
    assert counted["byType"] == {"Pulled": 5}
    assert counted["fields"]["time"] == {"field": "metadata.creationTimestamp", "format": "epoch_s",
                                         "detected": True, "untimed": 0}
    moment = "2025-06-01T22:50:02Z"  # 1_748_818_202 s
    found = run_json("query", str(path), "--to", moment)
    assert [e["event"]["metadata"]["uid"] for e in found["events"]] == ["u0", "u1", "u2"]

    (tmp_path / "astra-ls.toml").write_text(
        '[[stores]]\nglob = "events.jsonl"\nid_field = "metadata.uid"\ntime_field = "metadata.creationTimestamp"\n'
        'time_format = "epoch_s"\n')
    declared = run_json("count", str(path))["fields"]["time"]
    assert (declared["format"], declared["detected"]) == ("epoch_s", False)
    with path.open("a") as handle:
        handle.write(json.dumps({"metadata": {"uid": "u1", "creationTimestamp": 1_748_818_100}}) + "\n")
    checked = astra("check", str(path))
    assert [line.split(": ")[1].split()[0] for line in checked.stdout.splitlines()] == ["ASTRA020", "ASTRA021"]


def test_a_wrong_time_format_is_a_configuration_error(tmp_path: Path) -> None:
    write(tmp_path, "feed", [{"id": "a"}], '[[stores]]\nglob = "feed.jsonl"\ntime_format = "epochs"\n')
    checked = astra("check", str(tmp_path))
    assert checked.returncode == 1
    assert ":3:1: ASTRA040 [error] [[stores]] #1: time_format: input should be 'auto', 'epoch_ms', 'epoch_s' or " \
        "'iso8601', got \"epochs\"" in checked.stdout
