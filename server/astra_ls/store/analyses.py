"""The engine's side of a backend: each stream's configured checks, its followed analysis and its replayer.

A backend keeps a stream's bytes somewhere local (the file store: the workspace's `.astra/` files; the
JetStream store: its mirror) and composes one `StreamAnalyses` that analyses those bytes. The engine
never asks where the bytes came from.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from astra_ls.config import UNTRUSTED_CODE, ConfigError, ConfigProblem, StoreRule, WorkspaceConfig, default_projector
from astra_ls.core.analysis import AnalysisRules, BaseAnalysis, ReadRange, StoreAnalysis
from astra_ls.core.encoding import HEAD_BYTES, detect_encoding, encoding_problem
from astra_ls.core.facts import canonical_json, field_value
from astra_ls.core.linecheck import SNAPSHOT_TYPE, LineRules
from astra_ls.core.problems import Problem
from astra_ls.core.unknown_types import summarise_unknown_types
from astra_ls.projections.base import Projector
from astra_ls.projections.registry import ProjectorError, load_projector
from astra_ls.projections.replay import Replayer
from astra_ls.schemas.base import EventSchema, GenericSchema
from astra_ls.schemas.families import builtin_schema, default_family
from astra_ls.schemas.loader import SchemaError, load_schema
from astra_ls.store.follow import Change, FollowedFile
from astra_ls.store.index_cache import IndexCache
from astra_ls.store.paths import PathRefused
from astra_ls.store.results import StoreError
from astra_ls.trust import UntrustedImport
from astra_ls.upcasting import UpcastingSchema, build_upcaster, upcasting_projector, workspace_loader

SNIFF_BYTES, SNIFF_LINES = 64 * 1024, 50  # what decides whether a store's events fit its name's family
GENERIC = GenericSchema()


@dataclass(frozen=True, slots=True)
class StreamSetup:
    """What the configuration says about one stream: its schema, projector and check rules."""

    rule: StoreRule  # as configured
    schema: EventSchema
    projector: Projector
    rules: AnalysisRules
    schema_name: str  # what is in use: the configured one, or the built-in one it fell back to
    projector_name: str
    refused: str | None = None  # why the configured schema is not in use (appends are refused meanwhile)
    schema_origin: str = "configured"  # configured | name (the family the file name implies) | content

    @property
    def skipped(self) -> list[str]:
        """The configured references not in use."""
        return [ref for ref, used in ((self.rule.schema_, self.schema_name),
                                      (self.rule.projector, self.projector_name)) if ref and ref != used]


def not_found(stream: str, change: Change, describe: str) -> StoreError:
    return StoreError("STORE_NOT_FOUND", f"no store {stream!r}: {describe} does not exist"
                      if change is Change.MISSING else f"store {stream!r} was deleted")


class StreamAnalyses:
    """Analyses of the streams whose bytes lie at `path_of(stream)`, configured by `config`; workspace
    schemas and projectors are looked up in `home` (imported only when `trusted`)."""

    def __init__(self, home: Path, config: WorkspaceConfig, trusted: bool, path_of: Callable[[str], Path],
                 index_cache: IndexCache | None = None) -> None:
        self.home = home
        self.config = config
        self.trusted = trusted
        self.index_cache = index_cache
        self._path_of = path_of
        self._followed: dict[str, FollowedFile] = {}
        self._setups: dict[str, StreamSetup] = {}
        self._setup_problems: dict[tuple[str, str], ConfigProblem] = {}  # (reference, why) -> its problem
        self.replayers: dict[str, Replayer] = {}

    def setup(self, stream: str) -> StreamSetup:
        found = self._setups.get(stream)
        if found is None:
            found = self._setups[stream] = self._make_setup(stream)
        return found

    def _make_setup(self, stream: str) -> StreamSetup:
        """The configured schema and projector; a reference that cannot be used (workspace code in an
        untrusted workspace, a file that does not load) gives way to the built-in one the store's name
        implies, so every command still works, and the configuration file gets a problem that says so."""
        leaf = stream.rsplit("/", 1)[-1]
        index, rule = self.config.matched_rule(leaf)
        assert rule.schema_ is not None and rule.projector is not None
        schema_name, projector_name, refused = rule.schema_, rule.projector, None
        line = LineRules(GENERIC, self.config.max_line_bytes, rule.id_field or self.config.id_field,
                         rule.time_field or self.config.time_field, rule.type_field or self.config.type_field,
                         rule.time_format or self.config.time_format)
        origin = "configured" if index is not None and self.config.stores[index].schema_ is not None else "name"
        if origin == "name" and schema_name != "generic" and not self._events_fit(stream, schema_name, line):
            schema_name, origin = "generic", "content"  # the name implies a family its events are not of
            if projector_name == default_projector(rule.schema_):
                projector_name = "generic"
        try:
            schema = load_schema(schema_name, self.home, self.trusted)
        except SchemaError as error:
            refused = str(error)
            self._note_fallback(index, "schema", schema_name, refused)
            schema_name = default_family(leaf)
            schema = builtin_schema(schema_name)
            if projector_name == default_projector(rule.schema_):  # not configured: follows the schema
                projector_name = default_projector(schema_name)
        try:
            projector = load_projector(projector_name, self.home, self.trusted)
        except ProjectorError as error:
            self._note_fallback(index, "projector", projector_name, str(error))
            projector_name = default_projector(schema_name)
            projector = load_projector(projector_name, self.home, self.trusted)
        try:
            upcaster = build_upcaster(rule.version_field, rule.upcast, self.trusted, workspace_loader(self.home))
        except (ValueError, ImportError, UntrustedImport) as error:  # steps that do not chain; code refused
            raise ConfigError(f"upcast steps for {stream}: {error}") from None
        if upcaster is not None:  # a store without steps keeps its schema and projector as they are
            described = [step.model_dump(by_alias=True) for step in rule.upcast]
            schema = UpcastingSchema(schema, upcaster, [upcaster.field, described])
            projector = upcasting_projector(projector, upcaster)
        rules = AnalysisRules(replace(line, schema=schema), bool(rule.unique_ids), bool(rule.ordered_timestamps))
        return StreamSetup(rule, schema, projector, rules, schema_name, projector_name, refused, origin)

    def _events_fit(self, stream: str, family: str, line: LineRules) -> bool:
        """Whether the first events of the store are of the family its name implies: false only when some
        of them have a type and none of those types is one the family knows."""
        known = {t.name for t in builtin_schema(family).types()}
        if not known:  # a family of one model for any type (entity): every typed event fits
            return True
        try:
            with self._path_of(stream).open("rb") as handle:
                head = handle.read(SNIFF_BYTES)
        except (OSError, PathRefused):
            return True  # nothing to judge by (yet)
        typed = 0
        for raw in head.splitlines()[:SNIFF_LINES]:
            try:
                event = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            kind = field_value(event, line.type_field) if isinstance(event, dict) else None
            if isinstance(kind, str) and kind != SNAPSHOT_TYPE:
                if kind in known:
                    return True
                typed += 1
        return typed == 0

    def _note_fallback(self, index: int | None, key: str, reference: str, why: str) -> None:
        if ":" in reference and not self.trusted:
            return  # told once for every such reference: see `config_problems`
        loc = ("stores", index, key) if index is not None else (key,)
        self._setup_problems.setdefault((reference, why), self.config.problem_at(
            loc, f"{why}; the built-in one is used instead"))

    def config_problems(self) -> list[ConfigProblem]:
        """What the configuration file got wrong or what could not be used, at its key."""
        found = self.config.problems
        skipped = [] if self.trusted else self.config.needing_trust()
        if skipped:
            listed = ", ".join(f"{ref} ({loc[-1]})" for loc, ref in skipped)
            appends = (", and appends to stores whose schema is skipped are refused"
                       if any(loc[-1] == "schema" for loc, _ in skipped) else "")
            found.append(self.config.problem_at(skipped[0][0], (
                f"untrusted workspace: workspace code not imported: {listed}. The built-in schema and "
                f"projector each store's name implies are used instead{appends}. To use it, trust the folder "
                "(VS Code: Manage Workspace Trust) or pass --trust on the command line"), UNTRUSTED_CODE))
        found.extend(self._setup_problems.values())
        return found

    def followed(self, stream: str) -> FollowedFile:
        found = self._followed.get(stream)
        if found is None:
            found = self._followed[stream] = FollowedFile(self._path_of(stream), self.setup(stream).rules,
                                                          self.index_cache)
        return found

    def followed_files(self) -> list[FollowedFile]:
        return list(self._followed.values())

    def refresh(self, stream: str) -> Change:
        """Bring the stream's analysis up to date with its bytes (reading only an appended tail)."""
        followed = self.followed(stream)
        change = followed.refresh()
        if change is not Change.UNCHANGED:
            analysis = followed.analysis
            first = max(0, analysis.line_count - 1) if change is Change.APPENDED and analysis else 0
            self.replayer(stream).invalidate_from(first)
        return change

    def current(self, stream: str, change: Change, describe: str) -> StoreAnalysis:
        """The analysis as of the last refresh (whose outcome was `change`); STORE_NOT_FOUND without one."""
        analysis = self.followed(stream).analysis
        if analysis is None:
            raise not_found(stream, change, describe)
        return analysis

    def replayer(self, stream: str) -> Replayer:
        found = self.replayers.get(stream)
        if found is None:
            found = self.replayers[stream] = Replayer(self.setup(stream).projector)
        return found

    def problems(self, stream: str, analysis: StoreAnalysis) -> list[Problem]:
        read = self.followed(stream).read
        return self.problems_of(stream, analysis, analysis.problems(read), read)

    def problems_of(self, stream: str, analysis: BaseAnalysis, problems: list[Problem],
                    read: ReadRange) -> list[Problem]:
        """A store's problems as reported: configured severities and ignores; one problem for a file in
        UTF-16/32 (its lines are noise), one summary for lines whose types the schema does not know."""
        encoding = detect_encoding(read(0, HEAD_BYTES)) if analysis.size else None
        if encoding is not None:
            return self.config.apply([encoding_problem(encoding)])
        schema = self.setup(stream).schema_name
        return self.config.apply(summarise_unknown_types(problems, analysis.event_count(), schema))

    def validated_line(self, stream: str, event: Any) -> bytes:
        """The event as one canonical JSON line, or a StoreError saying why it may not be appended."""
        if not isinstance(event, dict):
            raise StoreError("NOT_AN_OBJECT", f"an event must be a JSON object, not {type(event).__name__}")
        if event.get("type") == SNAPSHOT_TYPE:
            raise StoreError("INVALID_EVENT", f"type {SNAPSHOT_TYPE!r} is reserved for compaction snapshots")
        where = non_finite_number(event)
        if where is not None:  # JSON has no NaN or Infinity: written, it would become null without a word
            path, value = where
            raise StoreError("INVALID_EVENT", f"field '{path}' is {value}: JSON has no such number (RFC 8259); "
                             "send a number, null or a string", {"errors": [
                                 {"path": path, "message": f"{value} is not a JSON number", "type": "not_json"}]})
        setup = self.setup(stream)
        if setup.refused is not None:  # checked with a built-in schema meanwhile: not good enough to write
            raise StoreError("CONFIG_ERROR", f"appends to {stream} are refused until its schema can be used: "
                             f"{setup.refused}")
        issues = setup.schema.validate(event)
        if issues:
            listed = "; ".join(issue.message for issue in issues)
            raise StoreError("INVALID_EVENT", f"event refused by the {self.setup(stream).schema.name} "
                             f"schema: {listed}", {"errors": [i.to_json() for i in issues]})
        try:
            line = canonical_json(event)
        except (TypeError, ValueError) as error:
            raise StoreError("INVALID_EVENT", f"event is not JSON-serialisable: {error}") from None
        limit = self.config.max_line_bytes
        if len(line) > limit:  # the check would flag the line and leave it unparsed (ASTRA034)
            raise StoreError("LINE_TOO_LONG", f"event is {len(line):,} bytes as a line, over the store's "
                             f"{limit:,}-byte limit (max_line_bytes)", {"bytes": len(line), "limit": limit})
        return line + b"\n"


def non_finite_number(event: Any) -> tuple[str, str] | None:
    """(dotted path, 'NaN' or 'Infinity') of the first NaN or infinite number in a value, else None."""
    stack: list[tuple[str, Any]] = [("", event)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return path or "(event)", "NaN" if math.isnan(node) else ("-Infinity" if node < 0 else "Infinity")
        if isinstance(node, dict):
            stack.extend((f"{path}.{key}" if path else str(key), value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((f"{path}.{index}" if path else str(index), value) for index, value in enumerate(node))
    return None
