"""The JSONL file backend: `<workspace>/.astra/<stream>.jsonl`, safe appends, followed analyses."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from astra_ls.config import ConfigError, StoreRule, WorkspaceConfig, load_config
from astra_ls.core.analysis import AnalysisRules, ReadRange, StoreAnalysis
from astra_ls.core.facts import canonical_json
from astra_ls.core.linecheck import SNAPSHOT_TYPE, LineRules
from astra_ls.core.problems import Problem
from astra_ls.projections.base import Projector
from astra_ls.projections.registry import ProjectorError, load_projector
from astra_ls.projections.replay import Replayer
from astra_ls.schemas.base import EventSchema
from astra_ls.schemas.loader import SchemaError, load_schema
from astra_ls.store.base import EventStore
from astra_ls.store.follow import Change, FollowedFile
from astra_ls.store.index_cache import IndexCache
from astra_ls.store.locking import stream_lock
from astra_ls.store.paths import (
    ASTRA_DIR,
    PathRefused,
    astra_dir,
    check_stream_name,
    confine,
    path_from_uri,
    stream_path,
)
from astra_ls.store.results import Appended, AppendResult, Refused, StoreError, os_error_code
from astra_ls.trust import UntrustedImport
from astra_ls.upcasting import UpcastingSchema, build_upcaster, upcasting_projector, workspace_loader

SKIPPED_DIRS = ("quarantine", "archive", ".locks")


@dataclass(frozen=True, slots=True)
class StreamSetup:
    """What the configuration says about one stream: its schema, projector and check rules."""

    rule: StoreRule
    schema: EventSchema
    projector: Projector
    rules: AnalysisRules


class FileEventStore(EventStore):
    remote_name: str | None = None  # set by stores whose events live elsewhere and are read through a mirror

    def __init__(self, root: Path, config: WorkspaceConfig | None = None, trusted: bool = False,
                 index_cache: IndexCache | None = None) -> None:
        self.root = root.absolute()
        self.index_cache = index_cache
        self.home = self.root  # where workspace schemas and projectors are found (a remote store's differs)
        self.config = config if config is not None else load_config(self.root)
        self.trusted = trusted
        self._followed: dict[str, FollowedFile] = {}
        self._setups: dict[str, StreamSetup] = {}
        self._replayers: dict[str, Replayer] = {}
        self._paths: dict[str, tuple[tuple[int, int], Path]] = {}
        self._astra_folder = os.fspath(self.root / ASTRA_DIR)  # a string: one lstat per append, no joins

    # --- names and paths ----------------------------------------------------------------------------

    def streams(self) -> list[str]:
        folder = self.root / ASTRA_DIR
        if not folder.is_dir():
            return []
        astra_dir(self.root)
        found = []
        for path in sorted(folder.rglob("*.jsonl")):
            relative = path.relative_to(folder)
            if relative.parts[0] in SKIPPED_DIRS or any(p.startswith(".") for p in relative.parts):
                continue
            found.append(relative.as_posix().removesuffix(".jsonl"))
        return found

    def resolve(self, ref: str) -> str:
        """A stream name from a name, a path inside `.astra/`, or a file:// URI."""
        if ref.startswith("file:"):
            return self._name_of(path_from_uri(ref))
        if ref.endswith(".jsonl") or "/" in ref or "\\" in ref:
            candidate = Path(ref)
            if "\\" in ref or "%" in ref or ".." in Path(ref).parts:
                raise PathRefused(f"{ref!r} tries to leave the workspace's .astra/ folder")
            return self._name_of(candidate if candidate.is_absolute() else self.root / candidate)
        return check_stream_name(ref)

    def _name_of(self, path: Path) -> str:
        folder = astra_dir(self.root)
        absolute = path.absolute()
        if not absolute.is_relative_to(folder.absolute()):
            raise PathRefused(f"{path} is not inside {folder}")
        confine(self.root, absolute)
        name = absolute.relative_to(folder.absolute()).as_posix().removesuffix(".jsonl")
        for part in name.split("/"):
            check_stream_name(part)
        return name

    def path_of(self, stream: str) -> Path:
        """The stream's file, confined to `.astra/`. A checked path is reused while `.astra` is the same
        real directory (one lstat); the file itself is opened for writing with O_NOFOLLOW."""
        cached = self._paths.get(stream)
        if cached is not None and self._astra_identity() == cached[0]:
            return cached[1]
        if "/" not in stream:
            path = stream_path(self.root, stream)
        else:
            for part in stream.split("/"):
                check_stream_name(part)
            path = confine(self.root, astra_dir(self.root) / f"{stream}.jsonl")
        identity = self._astra_identity()
        if identity is not None:
            self._paths[stream] = (identity, path)
        return path

    def _astra_identity(self) -> tuple[int, int] | None:
        """(device, inode) of `.astra` when it is a real directory, not a link."""
        try:
            info = os.lstat(self._astra_folder)
        except OSError:
            return None
        return (info.st_dev, info.st_ino) if stat.S_ISDIR(info.st_mode) else None

    def uri_of(self, stream: str) -> str:
        return self.path_of(stream).absolute().as_uri()

    # --- configuration ------------------------------------------------------------------------------

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
        if upcaster is not None:
            described = [step.model_dump(by_alias=True) for step in rule.upcast]
            schema = UpcastingSchema(schema, upcaster, [upcaster.field, described])
            projector = upcasting_projector(projector, upcaster)
        line = LineRules(schema, self.config.max_line_bytes, self.config.id_field, self.config.time_field)
        rules = AnalysisRules(line, bool(rule.unique_ids), bool(rule.ordered_timestamps))
        return StreamSetup(rule, schema, projector, rules)

    # --- reading ------------------------------------------------------------------------------------

    def followed(self, stream: str) -> FollowedFile:
        found = self._followed.get(stream)
        if found is None:
            found = self._followed[stream] = FollowedFile(self.path_of(stream), self.setup(stream).rules,
                                                          self.index_cache)
        return found

    def followed_files(self) -> list[FollowedFile]:
        return list(self._followed.values())

    def refresh(self, stream: str) -> Change:
        followed = self.followed(stream)
        change = followed.refresh()
        if change is not Change.UNCHANGED:
            self.replayer(stream).invalidate_from(0 if change is not Change.APPENDED else
                                                  self._first_changed_line(followed))
        return change

    @staticmethod
    def _first_changed_line(followed: FollowedFile) -> int:
        analysis = followed.analysis
        return max(0, analysis.line_count - 1) if analysis else 0

    def analysis(self, stream: str) -> StoreAnalysis:
        change = self.refresh(stream)
        analysis = self.followed(stream).analysis
        if analysis is None:
            raise self._not_found(stream, change)
        return analysis

    def _not_found(self, stream: str, change: Change) -> StoreError:
        return StoreError("STORE_NOT_FOUND", f"no store {stream!r}: {self.path_of(stream)} does not exist"
                          if change is Change.MISSING else f"store {stream!r} was deleted")

    def reader(self, stream: str) -> ReadRange:
        return self.followed(stream).read

    def replayer(self, stream: str) -> Replayer:
        found = self._replayers.get(stream)
        if found is None:
            found = self._replayers[stream] = Replayer(self.setup(stream).projector)
        return found

    def problems(self, stream: str) -> list[Problem]:
        analysis = self.analysis(stream)
        return self.config.apply(analysis.problems(self.reader(stream)))

    # --- appending ----------------------------------------------------------------------------------

    def append(self, stream: str, event: Any, expected_count: int | None = None) -> AppendResult:
        try:
            return self._append(stream, event, expected_count)
        except StoreError as error:
            return error.refused
        except (PathRefused, ConfigError) as error:
            return Refused("PATH_REFUSED" if isinstance(error, PathRefused) else "CONFIG_ERROR", str(error))
        except OSError as error:
            return Refused(os_error_code(error), f"cannot append to {stream}: {error.strerror or error}",
                           {"errno": error.errno})

    def _append(self, stream: str, event: Any, expected_count: int | None) -> AppendResult:
        stream = self.resolve(stream)
        data = self._validated_line(stream, event)
        path = self.path_of(stream)
        if stream not in self._paths:
            if not self.root.is_dir():
                return Refused("STORE_NOT_FOUND", f"workspace {self.root} does not exist")
            path.parent.mkdir(exist_ok=True)
        with stream_lock(path):
            lines, count = self._counts(stream) if self._exists(stream, path) else (0, 0)
            if expected_count is not None and expected_count != count:
                return Refused("EXPECTED_COUNT_MISMATCH",
                               f"{stream} has {count} events, not the expected {expected_count}: "
                               "another writer appended first; re-read and retry",
                               {"expected": expected_count, "actual": count})
            offset, written, after = write_line(path, data)
            self.followed(stream).note_own_append(offset, written, after, one_event=written == data)
        return Appended(str(path), lines + 1, count + 1)

    def _counts(self, stream: str) -> tuple[int, int]:
        """(lines, events) of the store as it is on disk now, without analysing this process's own
        latest appends (a writer appending in a loop has them analysed in batches)."""
        change = self.refresh(stream)
        counts = self.followed(stream).counts()
        if counts is None:
            raise self._not_found(stream, change)
        return counts

    def _exists(self, stream: str, path: Path) -> bool:
        followed = self._followed.get(stream)
        return (followed is not None and followed.has_analysis) or path.exists()

    def _validated_line(self, stream: str, event: Any) -> bytes:
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


def write_line(path: Path, data: bytes) -> tuple[int, bytes, os.stat_result]:
    """Append one line in one write, after a newline if the file ends torn, then fsync; answers where the
    bytes went, the bytes written and the file's stat after the write.

    Callers hold the stream lock. On failure the file is cut back to its old size: nothing half-written.
    O_NOFOLLOW: a store that became a link since its path was checked is refused, not written through.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise PathRefused(f"{path} is a symbolic link: astra-ls never writes through one") from None
        raise
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(28, "short write (disk full?)")
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)
            raise
        return size, data, os.fstat(fd)
    finally:
        os.close(fd)
