"""The CLI on remote stores: `--remote NAME` for check/count/project/query/append, and push/pull."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from astra_ls.cli.checking import FileReport
from astra_ls.config import load_config
from astra_ls.core.codes import Severity
from astra_ls.core.facts import canonical_json
from astra_ls.remote.store import RemoteStore, find_remote
from astra_ls.remote.transfer import pull, push
from astra_ls.store.file_store import FileEventStore
from astra_ls.store.results import StoreError

EXIT_OK, EXIT_PROBLEMS = 0, 1


def open_remote(args: argparse.Namespace) -> RemoteStore:
    config = load_config(args.workspace)
    return RemoteStore(find_remote(config, args.remote), args.workspace, config, trusted=args.trust)


def run_remote(args: argparse.Namespace, command_args: Callable[[argparse.Namespace, str], tuple[str, Any]],
               execute: Callable[[Any, str, Any], dict[str, Any]], show: Callable[[dict[str, Any]], None]) -> int:
    if not args.remote:
        print(f"astra-ls {args.command}: --remote NAME is required", file=sys.stderr)
        return 2
    store = open_remote(args)
    try:
        if args.command == "check":
            return _check(store, args)
        if args.command in ("push", "pull"):
            answer = _transfer(store, args)
        else:
            command, payload = command_args(args, args.store)
            answer = execute(store, command, payload)
    except StoreError as error:
        answer = error.refused.to_json()
    finally:
        store.close()
    if args.format == "json":
        sys.stdout.buffer.write(canonical_json(answer) + b"\n")
    else:
        show(answer)
    return EXIT_OK if answer.get("ok") else EXIT_PROBLEMS


def _transfer(store: RemoteStore, args: argparse.Namespace) -> dict[str, Any]:
    local = FileEventStore(args.workspace, trusted=args.trust)
    names = args.streams or (local.streams() if args.command == "push" else store.streams())
    if args.to and len(names) != 1:
        return {"ok": False, "code": "INVALID_ARGUMENTS", "message": "--to needs exactly one stream",
                "details": {}}
    results = []
    for name in names:
        result = push(local, name, store, args.to) if args.command == "push" else pull(store, name, local, args.to)
        results.append({"stream": name, **result})
    failed = [r for r in results if not r.get("ok")]
    if failed:
        first = failed[0]
        return {"ok": False, "code": first["code"], "message": f"{first['stream']}: {first['message']}",
                "details": {"streams": results}}
    return {"ok": True, "streams": results}


def _check(store: RemoteStore, args: argparse.Namespace) -> int:
    try:
        names = [store.resolve(str(name)) for name in args.paths] or store.streams()
        reports = []
        for name in names:
            analysis = store.analysis(name)
            reports.append((store.uri_of(name), FileReport(store.path_of(name), analysis.event_count(),
                                                           store.problems(name))))
    except StoreError as error:
        print(f"refused ({error.refused.code}): {error.refused.message}", file=sys.stderr)
        return 2
    worst = any(p.severity is Severity.ERROR for _, r in reports for p in r.problems)
    if args.format == "json":
        document = {"files": [{"path": uri, "events": r.events, "problems": [p.to_json() for p in r.problems]}
                              for uri, r in reports]}
        sys.stdout.buffer.write(canonical_json(document) + b"\n")
    else:
        for uri, report in reports:
            for problem in report.problems:
                print(f"{uri}:{problem.line + 1}:{problem.start + 1}: {problem.code} "
                      f"[{problem.severity.label}] {problem.message}")
        total = sum(len(r.problems) for _, r in reports)
        events = sum(r.events for _, r in reports)
        print(f"{len(reports)} stream(s), {events:,} event(s), {total:,} problem(s)", file=sys.stderr)
    return EXIT_PROBLEMS if worst else EXIT_OK
