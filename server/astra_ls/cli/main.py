"""`astra-ls`: check stores in CI, and count, project, query, append, quarantine, compact from a shell."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson

from astra_ls import __version__
from astra_ls.cli.checking import FileReport, ProgressBar, check_file, config_problems, expand
from astra_ls.cli.tail import interval_seconds, lines_count
from astra_ls.config import ConfigError
from astra_ls.core.codes import Severity
from astra_ls.core.facts import canonical_json
from astra_ls.core.jsontext import encode
from astra_ls.store.discovery import Skipped
from astra_ls.store.file_store import FileEventStore
from astra_ls.store.index_cache import open_index_cache
from astra_ls.store.paths import ASTRA_DIR, PathRefused, split_store_path
from astra_ls.store.results import InvalidArguments, os_error_code

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _counted(least: int, what: str) -> Callable[[str], int]:
    """An argparse type for whole numbers from `least` on, refused in the flag's own terms."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give {what}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is out of range; give {what}")
        return value
    return parse


LINE_NUMBER = _counted(1, "a 1-based line number (the first line is 1)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="astra-ls", description=__doc__)
    parser.add_argument("--version", action="version", version=f"astra-ls {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(sub: argparse.ArgumentParser, formats: tuple[str, ...] = ("text", "json")) -> None:
        sub.add_argument("--workspace", type=Path, default=Path.cwd(), help="workspace root (default: .)")
        named = f"{', '.join(formats[:-1])} or {formats[-1]} (default %(default)s)"
        sub.add_argument("--format", choices=formats, default="text",
                         help=f"{named}; json gives the language server's answers, errors included"
                              if "json" in formats else f"{named}: jsonl prints each event as a line")
        sub.add_argument("--trust", action="store_true",
                         help="allow importing workspace code (package.module:Name schemas and projectors)")
        sub.add_argument("--remote", metavar="NAME",
                         help="a remote store declared in astra-ls.toml ([[remote]]); names are its streams")

    def command(name: str, help_text: str, store: bool = True,
                formats: tuple[str, ...] = ("text", "json")) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if store:
            sub.add_argument("store", help="a .jsonl file, or a stream name in --workspace")
        common(sub, formats)
        return sub

    check = command("check", "report every problem in the given stores (sarif: SARIF 2.1.0 for code scanning; "
                    "github: workflow annotations; junit: JUnit XML)", store=False,
                    formats=("text", "json", "sarif", "github", "junit"))
    check.add_argument("paths", nargs="*", type=Path, help="files, or directories holding .astra/")
    check.add_argument("--cache", action="store_true",
                       help="start from the index cache the language server keeps (in the user cache folder), "
                            "and update it")
    count = command("count", "count events, in total and by type")
    count.add_argument("--all", action="store_true",
                       help="read the events compaction archived (.astra/archive/) too, not the snapshot's counts")
    append = command("append", "validate and append one event")
    append.add_argument("event", help="the event as a JSON object")
    append.add_argument("--expected-count", type=_counted(0, "a number of events, 0 or more"),
                        help="refuse unless the stream has this many events")
    project = command("project", "the projected state, now or in the past")
    when = project.add_mutually_exclusive_group()
    when.add_argument("--at-line", type=LINE_NUMBER, help="state after this 1-based line")
    when.add_argument("--at-time", help="state at this time (epoch ms or ISO 8601)")
    query = command("query", "events by type, time range and field conditions, in one store or several",
                    store=False, formats=("text", "json", "jsonl"))
    query.add_argument("store", nargs="?", help="a .jsonl file, or a stream name in --workspace")
    query.add_argument("--store", dest="stores", action="append", metavar="STORE",
                       help="query this store too (repeat it); matches come in time order, each naming its store")
    query.add_argument("--all-stores", action="store_true", help="query every store of the workspace")
    query.add_argument("--type", help="only events of this type (the store's type field)")
    query.add_argument("--from", dest="since", help="epoch ms or ISO 8601, inclusive")
    query.add_argument("--to", dest="until", help="epoch ms or ISO 8601, inclusive")
    query.add_argument("--where", action="append", default=[], metavar="CONDITION",
                       help='PATH OP VALUE, with OP one of = != < <= > >= exists in (repeat: all must hold); '
                            'PATH is dotted keys, a key with dots quoted: metadata.annotations."a.b/c"=allow; '
                            "VALUE is JSON or plain text; in takes [1,2] or a,b")
    query.add_argument("--limit", type=_counted(1, "a number of events, 1 or more"),
                       help="list at most this many events (default 1000; jsonl: 1,000,000); the total counts them all")
    trace = command("trace", "a decision's context, the decision, its outcomes and the state before and after")
    trace.add_argument("--at", required=True, metavar="LINE|TIME",
                       help="the decision: its 1-based line (a number below 10^9), or its exact time (epoch ms or "
                            "ISO 8601)")
    trace.add_argument("--window", default="60s", help="outcomes are the events up to this long after it "
                                                       "(ms, or 60s, 2m, 1h; default 60s)")
    trace.add_argument("--limit", type=int, default=50, help="events listed before and after (default 50)")
    tail = command("tail", "the latest events of a store; with --follow, each event as it is appended",
                   formats=("text", "jsonl"))
    tail.add_argument("-f", "--follow", action="store_true",
                      help="keep printing events as any process appends them (Ctrl-C ends it)")
    tail.add_argument("-n", "--lines", type=lines_count, default=10, metavar="N",
                      help="how many of the existing events to show first (default 10; 'all' for every one)")
    tail.add_argument("--type", help="only events of this type")
    tail.add_argument("--where", action="append", default=[], metavar="PATH=VALUE",
                      help="dotted field path equal to a JSON value (or a plain string)")
    tail.add_argument("--problems", action="store_true", help="also print problems as they appear")
    tail.add_argument("--interval", type=interval_seconds, default=0.2,
                      help="seconds between looks at the store (default 0.2)")
    diff = command("diff", "how the projected state changed between two points of a store (RFC 6902 JSON Patch)",
                   formats=("patch", "text", "json"))
    diff.add_argument("--from", dest="diff_from", required=True, metavar="POINT",
                      help="a line number (the state after it; 0: the start) or a time: ISO 8601, or @epoch-ms")
    diff.add_argument("--to", dest="diff_to", required=True, metavar="POINT", help="like --from")
    diff.set_defaults(format="patch")
    diff.epilog = "--format patch (default) prints the JSON Patch, text a unified diff of the two states"
    related = command("related", "the events linked to one: its chain up to the root, the tree below it, and "
                      "the events sharing its correlation id, across the workspace's stores")
    related.add_argument("--line", type=int, required=True, help="1-based line of the event")
    command("quarantine", "move malformed and invalid lines into .astra/quarantine/")
    compact = command("compact", "replace old events by a snapshot; archive the original")
    compact.add_argument("--up-to-line", type=LINE_NUMBER, help="compact through this 1-based line (default: all)")
    command("upcast", "rewrite a versioned store with every event at its current version; archive the original")
    convert = command("convert", "rewrite a UTF-16/UTF-32 store as UTF-8 (and CR LF as LF); the original is kept "
                      "in .astra/archive/")
    convert.add_argument("--to", choices=("utf-8",), default="utf-8", help="the encoding to write (utf-8)")
    convert.add_argument("--line-endings", choices=("lf", "keep"), default="lf",
                         help="lf (default): CR LF pairs become LF; keep: leave them")
    command("stores", "list the workspace's stores: events, problems, schema, fields", store=False)
    command("schema", "the event types the store's schema knows, with their fields")
    timeline = command("timeline", "events per time bucket and type")
    timeline.add_argument("--buckets", type=_counted(1, "a number of buckets, 1 or more"), default=40,
                          help="how many time buckets (default 40)")
    for name, text in (("push", "copy workspace streams into the --remote store (idempotent, resumable)"),
                       ("pull", "copy streams of the --remote store into workspace files (idempotent, resumable)")):
        transfer = commands.add_parser(name, help=text, description=text)
        transfer.add_argument("streams", nargs="*", help="stream names (default: every stream of the source)")
        transfer.add_argument("--to", help="the target stream's name, when it differs (one stream only)")
        common(transfer)
    serve_help = "run the language server over stdio (what an editor starts; any LSP client can)"
    commands.add_parser("serve", help=serve_help, description=serve_help)
    return parser


def main(argv: list[str] | None = None) -> int:
    as_json = _wants_json(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        if args.command == "serve":
            from astra_ls.lsp.server import serve

            serve()
            return EXIT_OK
        if args.command == "tail":
            return _run_tail(args)
        if args.command == "check" and args.remote and args.format not in ("text", "json"):
            raise UsageError(f"astra-ls check --remote: --format {args.format} is for workspace files; use text "
                             "or json, or pull the streams first (astra-ls pull)")
        if args.command in ("push", "pull") or getattr(args, "remote", None):
            from astra_ls.remote.settings import remote_client_missing

            if missing := remote_client_missing():
                print(f"astra-ls {args.command}: {missing}", file=sys.stderr)
                return EXIT_USAGE
            from astra_ls.cli.remote import run_remote
            from astra_ls.commands import execute

            return run_remote(args, _command_args, execute, _print_text)
        if args.command == "check":
            return run_check(args)
        return run_store_command(args)
    except UsageError as error:
        return _fail("USAGE", str(error), as_json, prefix=False)
    except (InvalidArguments, ConfigError, PathRefused, FileNotFoundError) as error:
        code = {InvalidArguments: "INVALID_ARGUMENTS", ConfigError: "CONFIG_ERROR", PathRefused: "PATH_REFUSED"}
        return _fail(code.get(type(error), "STORE_NOT_FOUND"), str(error), as_json)
    except OSError as error:
        return _fail(os_error_code(error), f"{error.filename or ''}: {error.strerror or error}", as_json)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug: say so in one line; the traceback only on request
        if os.environ.get("ASTRA_DEBUG"):
            raise
        return _fail("INTERNAL_ERROR", f"internal error: {type(error).__name__}: {error} (set ASTRA_DEBUG=1 for "
                     "details)", as_json)


def _wants_json(argv: list[str]) -> bool:
    """Whether errors must be JSON too: `--format json` anywhere (the arguments may not even parse)."""
    return "--format=json" in argv or any(pair == ("--format", "json") for pair in pairwise(argv))


def _fail(code: str, message: str, as_json: bool, prefix: bool = True) -> int:
    """A usage or I/O error: `{ok: false, code, message}` on stdout with --format json, else a line on stderr."""
    if as_json:
        sys.stdout.buffer.write(canonical_json({"ok": False, "code": code, "message": message}) + b"\n")
    else:
        print(f"astra-ls: {message}" if prefix else message, file=sys.stderr)
    return EXIT_USAGE


def run_check(args: argparse.Namespace) -> int:
    paths = args.paths or [args.workspace]
    cache = open_index_cache(None) if args.cache else None
    files, skipped = expand(paths)
    reports, seconds = [], []
    failed = False  # a store that could not be checked at all: exit 2, after reporting every other one
    for path in files:
        started = time.perf_counter()
        try:
            reports.append(check_file(path, args.trust, ProgressBar(f"checking {path.name}"), cache))
        except (ConfigError, PathRefused, InvalidArguments, OSError) as error:
            skipped.append(Skipped(path, _reason(error)))
            failed = True
            continue
        seconds.append(time.perf_counter() - started)
    if cache is not None:
        cache.wait()
    config = config_problems(reports)
    worst = any(p.severity is Severity.ERROR for r in reports for p in r.problems) or \
        any(c.problem.severity is Severity.ERROR for c in config)
    if args.format == "json":
        by_file: dict[str, list[dict[str, Any]]] = {}
        for found in config:
            by_file.setdefault(str(found.file or "editor settings"), []).append(found.problem.to_json())
        document = {"files": [{"path": str(r.path), "events": r.events,
                               "problems": [p.to_json() for p in r.problems]} for r in reports],
                    "configuration": [{"path": path, "problems": listed} for path, listed in by_file.items()],
                    "skipped": [entry.to_json() for entry in skipped]}
        sys.stdout.buffer.write(canonical_json(document) + b"\n")
    elif args.format in ("sarif", "github", "junit"):
        _write_ci_report(args.format, reports, seconds)
    else:
        for found in config:
            print(found.text())
        for report in reports:
            for problem in report.problems:
                print(f"{report.path}:{problem.line + 1}:{problem.start + 1}: {problem.code} "
                      f"[{problem.severity.label}] {problem.message}")
        total = sum(len(r.problems) for r in reports) + len(config)
        events = sum(r.events for r in reports)
        print(f"{len(reports)} file(s), {events:,} event(s), {total:,} problem(s)"
              + (f", {len(skipped)} skipped" if skipped else ""), file=sys.stderr)
    if args.format != "json":  # beside any report format: these entries were not checked
        for entry in skipped:
            print(f"astra-ls: warning: {entry.path}: skipped: {entry.reason}", file=sys.stderr)
    return EXIT_USAGE if failed else EXIT_PROBLEMS if worst else EXIT_OK


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"cannot be read: {error.strerror}"
    return str(error)


def _run_tail(args: argparse.Namespace) -> int:
    from astra_ls.cli.tail import run_tail

    if args.remote:
        from astra_ls.cli.remote import open_remote

        remote = open_remote(args)
        try:
            return run_tail(args, remote, remote.resolve(args.store))
        finally:
            remote.close()
    store, name = _store_and_name(args)
    return run_tail(args, store, name)


def _write_ci_report(kind: str, reports: list[FileReport], seconds: list[float]) -> None:
    from astra_ls.cli import reports as ci  # only for these formats: `check` stays light

    base = Path.cwd()  # the checkout CI runs in: paths under it are given relative to it
    if kind == "sarif":
        sys.stdout.buffer.write(orjson.dumps(ci.sarif(reports, base), option=orjson.OPT_INDENT_2) + b"\n")
    elif kind == "github":
        sys.stdout.writelines(line + "\n" for line in ci.github_annotations(reports, base))
    else:
        sys.stdout.buffer.write(ci.junit(reports, seconds, base))
    total = sum(len(r.problems) for r in reports)
    print(f"{len(reports)} file(s), {sum(r.events for r in reports):,} event(s), {total:,} problem(s)",
          file=sys.stderr)


def _store_and_name(args: argparse.Namespace) -> tuple[FileEventStore, str]:
    """A stream name (`sub/nested` in a sub-folder of `.astra/`) means the --workspace's store; a path
    (from here, else from the workspace; `pkg/a/.astra/x` as `astra.listStores` names a nested store)
    means the store of the `.astra/` folder holding it."""
    if args.command == "stores":
        return FileEventStore(args.workspace, trusted=args.trust), ""
    if args.command == "query" and args.store is None:
        if not args.stores and not args.all_stores:
            raise UsageError("astra-ls query: give a STORE, --store STORE (repeatable) or --all-stores")
        if not args.stores:
            return FileEventStore(args.workspace, trusted=args.trust), ""
        store, _ = _store_and_name(argparse.Namespace(**{**vars(args), "store": args.stores[0]}))
        return store, ""
    ref: str = args.store
    if not (ref.endswith(".jsonl") or "/" in ref or os.sep in ref):
        return FileEventStore(args.workspace, trusted=args.trust), ref
    given = Path(ref if ref.endswith(".jsonl") or ASTRA_DIR not in Path(ref).parts else f"{ref}.jsonl")
    candidates = [given] if given.is_absolute() else [given, args.workspace / given]
    path = next((c for c in candidates if c.exists()), None)
    if path is None:
        if ASTRA_DIR not in given.parts:
            return FileEventStore(args.workspace, trusted=args.trust), ref
        if args.command != "append":
            raise FileNotFoundError(f"{ref}: no such store file")
        path = given
    root, name = split_store_path(path)
    return FileEventStore(root, trusted=args.trust), name


def _name_in(args: argparse.Namespace, ref: str) -> str:
    """A further --store: a stream name, or a file inside the same workspace as the first."""
    if ref.endswith(".jsonl") or "/" in ref:
        if not Path(ref).exists():
            raise FileNotFoundError(f"{ref}: no such store file")
        return str(Path(ref).absolute().as_uri())
    return ref


def _command_args(args: argparse.Namespace, name: str) -> tuple[str, dict[str, Any]]:
    base: dict[str, Any] = {"store": name}
    if args.command == "append":
        try:
            event = orjson.loads(args.event)
        except orjson.JSONDecodeError as error:
            raise InvalidArguments(f"EVENT is not valid JSON: {error}") from None
        return "astra.append", {**base, "event": event, "expectedCount": args.expected_count}
    if args.command == "project":
        if args.at_line is not None or args.at_time is not None:
            at_time = _number_or_text(args.at_time) if args.at_time is not None else None
            return "astra.projectAt", {**base, "line": args.at_line, "timestamp": at_time}
        return "astra.project", base
    if args.command == "query":
        limit = args.limit if args.limit is not None else (1_000_000 if args.format == "jsonl" else 1000)
        where = {"type": args.type, "from": _number_or_text(args.since), "to": _number_or_text(args.until),
                 "where": args.where, "limit": limit, "text": args.format == "jsonl"}
        if args.stores or args.all_stores:
            named = ([name] if args.store is not None else []) + [_name_in(args, ref) for ref in args.stores or []]
            return "astra.query", {"stores": ["*"] if args.all_stores else named, **where}
        return "astra.query", {**base, **where}
    if args.command == "count":
        return "astra.count", {**base, "all": True} if args.all else base
    if args.command == "trace":
        at = _number_or_text(args.at)
        where = {"line": int(at)} if isinstance(at, float) and at.is_integer() and 0 < at < 1e9 else {"timestamp": at}
        return "astra.traceDecision", {**base, **where, "window": _number_or_text(args.window), "limit": args.limit,
                                       "markdown": args.format == "text"}
    if args.command == "compact":
        return "astra.compact", {**base, "upToLine": args.up_to_line}
    if args.command == "stores":
        return "astra.listStores", {}
    if args.command == "convert":
        return "astra.convertEncoding", {**base, "to": args.to, "lineEndings": args.line_endings}
    if args.command == "schema":
        return "astra.schemaFor", base
    if args.command == "timeline":
        return "astra.timeline", {**base, "buckets": args.buckets}
    if args.command == "diff":
        return "astra.diff", {**base, "from": _point(args.diff_from, "--from"), "to": _point(args.diff_to, "--to")}
    if args.command == "related":
        return "astra.related", {**base, "line": args.line}
    return f"astra.{args.command}", base


def _number_or_text(value: str | None) -> float | str | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return value


def _point(value: str, flag: str) -> dict[str, Any]:
    """A point of a store on the command line: digits are a line, `@N` epoch ms, anything else ISO 8601."""
    text = value.strip()
    if text.isdigit():
        return {"line": int(text)}
    if text.startswith("@"):
        try:
            return {"timestamp": float(text[1:])}
        except ValueError:
            raise InvalidArguments(f"{flag} {value!r}: after @ comes a time in epoch milliseconds") from None
    return {"timestamp": text}


def run_store_command(args: argparse.Namespace) -> int:
    from astra_ls.commands import execute  # with the imports of every command: not loaded by `check`

    store, name = _store_and_name(args)
    command, payload = _command_args(args, name)
    answer = execute(store, command, payload)
    for found in store.analyses.config_problems():  # what of the configuration is not in use: said every time
        print(found.text(), file=sys.stderr)
    if args.format == "jsonl":
        return _print_jsonl(answer)
    if args.format == "text" and "markdown" in answer:
        sys.stdout.write(answer["markdown"])
        return EXIT_OK
    if args.format == "json":
        sys.stdout.buffer.write(canonical_json(answer) + b"\n")
    elif args.command == "stores" and answer.get("ok"):
        _print_stores(answer)
    elif command == "astra.diff" and answer.get("ok"):
        _print_diff(answer, args.format)
    elif command == "astra.related" and answer.get("ok") and args.format == "text":
        _print_related(answer)
    else:
        _print_text(answer)
    return EXIT_OK if answer.get("ok") else EXIT_PROBLEMS


def _print_stores(answer: dict[str, Any]) -> None:
    """One line per store: name, events, problems, schema (and where it came from)."""
    rows = [(s["name"], f"{s['events']:,}", f"{s['problems']:,}",
             s["schema"] + (" (by content)" if s.get("schemaOrigin") == "content" else "")) for s in answer["stores"]]
    header = ("STORE", "EVENTS", "PROBLEMS", "SCHEMA")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip())


def _print_jsonl(answer: dict[str, Any]) -> int:
    """Matching events as their exact lines, nothing else on stdout (what a pipe to another tool wants)."""
    if not answer.get("ok"):
        _print_text(answer)
        return EXIT_PROBLEMS
    out = sys.stdout.buffer
    for found in answer["events"]:
        out.write(found["text"].encode() + b"\n")
    if answer["total"] > len(answer["events"]):
        print(f"note: {answer['total']:,} events matched; only the first {len(answer['events']):,} were printed "
              "(raise --limit)", file=sys.stderr)
    return EXIT_OK


def _print_diff(answer: dict[str, Any], kind: str) -> None:
    if kind == "patch":
        sys.stdout.buffer.write(canonical_json(answer["patch"]) + b"\n")
        return
    from astra_ls.projections.patch import readable_diff

    before, after = answer["from"], answer["to"]
    text = readable_diff(answer["before"], answer["after"], f"after line {before['line']}",
                         f"after line {after['line']}")
    print(text or "(no change)")


def _print_related(answer: dict[str, Any]) -> None:
    def show(entry: dict[str, Any], indent: str = "  ") -> str:
        event = entry["event"]
        kind = event.get("type", "(untyped)") if isinstance(event, dict) else "(not an event)"
        role = f" ({entry['role']})" if entry.get("role") else ""
        return f"{indent}{entry['store']}:{entry['line']}  {kind}{role}"

    fields = answer["fields"]
    print(f"event: {show(answer['event'], '')}")
    print(f"up to the root, by {fields['parent']} / {fields['causation']}:")
    for entry in answer["ancestors"] or []:
        print(show(entry))
    if not answer["ancestors"]:
        print("  (none: this is a root)")
    print("below:")
    for entry in answer["descendants"]:
        print(show(entry, "  " * entry["depth"]))
    if not answer["descendants"]:
        print("  (nothing points at this event)")
    correlation = answer["correlationId"]
    print(f"sharing {fields['correlation']} = {correlation!r}: {len(answer['correlated'])} event(s)"
          if correlation is not None else f"no {fields['correlation']}")


def _print_text(answer: dict[str, Any]) -> None:
    if not answer.get("ok"):
        print(f"refused ({answer['code']}): {answer['message']}", file=sys.stderr)
        for error in answer.get("details", {}).get("errors", []):
            print(f"  {error['path']}: {error['message']}", file=sys.stderr)
        return
    shown = {k: v for k, v in answer.items() if k != "ok"}
    sys.stdout.buffer.write(encode(shown, indent=True) + b"\n")
    if answer.get("outOfOrder"):
        skipped = answer.get("skippedEvents")
        print(f"note: the store is not in time order ({answer['outOfOrderEvents']:,} event(s) earlier than the one "
              "before them)" + (f"; {skipped:,} event(s) above the last one folded are later than the time asked "
                                "(or have no time) and were left out" if skipped else ""), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
