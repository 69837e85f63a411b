"""The engine's side of a backend: each stream's configured checks, its followed analysis and its replayer.

A backend keeps a stream's bytes somewhere local (the file store: the workspace's `.astra/` files; the
JetStream store: its mirror) and composes one `StreamAnalyses` that analyses those bytes. The engine
never asks where the bytes came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from astra_ls.config import ConfigError, StoreRule, WorkspaceConfig
from astra_ls.core.analysis import AnalysisRules, StoreAnalysis
from astra_ls.core.facts import canonical_json
from astra_ls.core.linecheck import SNAPSHOT_TYPE, LineRules
from astra_ls.core.problems import Problem
from astra_ls.projections.base import Projector
from astra_ls.projections.registry import ProjectorError, load_projector
from astra_ls.projections.replay import Replayer
from astra_ls.schemas.base import EventSchema
from astra_ls.schemas.loader import SchemaError, load_schema
from astra_ls.store.follow import Change, FollowedFile
from astra_ls.store.index_cache import IndexCache
from astra_ls.store.results import StoreError
from astra_ls.trust import UntrustedImport
from astra_ls.upcasting import UpcastingSchema, build_upcaster, upcasting_projector, workspace_loader


@dataclass(frozen=True, slots=True)
class StreamSetup:
    """What the configuration says about one stream: its schema, projector and check rules."""

    rule: StoreRule
    schema: EventSchema
    projector: Projector
    rules: AnalysisRules


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
        self.replayers: dict[str, Replayer] = {}

    def setup(self, stream: str) -> StreamSetup:
        found = self._setups.get(stream)
        if found is None:
            found = self._setups[stream] = self._make_setup(stream)
        return found

    def _make_setup(self, stream: str) -> StreamSetup:
        rule = self.config.rule_for(stream.rsplit("/", 1)[-1])
        assert rule.schema_ is not None and rule.projector is not None
        try:
            schema = load_schema(rule.schema_, self.home, self.trusted)
            projector = load_projector(rule.projector, self.home, self.trusted)
            upcaster = build_upcaster(rule.version_field, rule.upcast, self.trusted, workspace_loader(self.home))
        except (SchemaError, ProjectorError) as error:
            raise ConfigError(str(error)) from None
        except (ValueError, ImportError, UntrustedImport) as error:  # steps that do not chain; code refused
            raise ConfigError(f"upcast steps for {stream}: {error}") from None
        if upcaster is not None:  # a store without steps keeps its schema and projector as they are
            described = [step.model_dump(by_alias=True) for step in rule.upcast]
            schema = UpcastingSchema(schema, upcaster, [upcaster.field, described])
            projector = upcasting_projector(projector, upcaster)
        line = LineRules(schema, self.config.max_line_bytes, self.config.id_field, self.config.time_field)
        rules = AnalysisRules(line, bool(rule.unique_ids), bool(rule.ordered_timestamps))
        return StreamSetup(rule, schema, projector, rules)

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
        return self.config.apply(analysis.problems(self.followed(stream).read))

    def validated_line(self, stream: str, event: Any) -> bytes:
        """The event as one canonical JSON line, or a StoreError saying why it may not be appended."""
        if not isinstance(event, dict):
            raise StoreError("NOT_AN_OBJECT", f"an event must be a JSON object, not {type(event).__name__}")
        if event.get("type") == SNAPSHOT_TYPE:
            raise StoreError("INVALID_EVENT", f"type {SNAPSHOT_TYPE!r} is reserved for compaction snapshots")
        issues = self.setup(stream).schema.validate(event)
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
