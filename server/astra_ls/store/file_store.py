"""The JSONL file backend: `<workspace>/.astra/<stream>.jsonl`, safe appends, followed analyses."""

from __future__ import annotations

import json
import os
import stat
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from astra_ls.config import ConfigError, WorkspaceConfig, load_config
from astra_ls.core.analysis import ReadRange, StoreAnalysis
from astra_ls.core.facts import id_identity, id_key, line_id
from astra_ls.core.problems import Problem
from astra_ls.projections.replay import Replayer
from astra_ls.store.analyses import StreamAnalyses, StreamSetup, not_found
from astra_ls.store.atomic import refuse_hard_links
from astra_ls.store.base import refusal
from astra_ls.store.discovery import SKIPPED_DIRS, Skipped, list_astra
from astra_ls.store.fileio import open_file, pread, write_all
from astra_ls.store.follow import Change, FileStamp, FollowedFile
from astra_ls.store.index_cache import IndexCache
from astra_ls.store.locking import stream_lock
from astra_ls.store.paths import (
    ASTRA_DIR,
    PathRefused,
    astra_dir,
    check_stream_parts,
    confine,
    normalised,
    path_from_uri,
    stream_path,
)
from astra_ls.store.results import Appended, AppendResult, Refused, StoreError


class FileEventStore:
    """The `EventStore` of a workspace's `.astra/` folder: each stream is a file, appended in place."""

    remote_name: str | None = None  # the events live here, not on a server

    def __init__(self, root: Path, config: WorkspaceConfig | None = None, trusted: bool = False,
                 index_cache: IndexCache | None = None) -> None:
        self.root = root.absolute()
        self.config = config if config is not None else load_config(self.root)
        self.analyses = StreamAnalyses(self.root, self.config, trusted, self.path_of, index_cache)
        self._paths: dict[str, tuple[tuple[int, int], Path]] = {}
        self._astra_folder = os.fspath(self.root / ASTRA_DIR)  # a string: one lstat per append, no joins

    # --- names and paths ----------------------------------------------------------------------------

    def streams(self) -> list[str]:
        return self.listing()[0]

    def listing(self) -> tuple[list[str], list[Skipped]]:
        """The streams in `.astra/` and the entries skipped there (not regular files, unusable names)."""
        folder = self.root / ASTRA_DIR
        if not folder.is_dir():
            return [], []
        astra_dir(self.root)
        return list_astra(folder)

    def resolve(self, ref: str) -> str:
        """A stream name from a name (`sub/name` in a sub-folder of `.astra/`), a path inside `.astra/`
        (absolute, or relative to the workspace when it starts with `.astra/`), or a file:// URI."""
        if "\x00" in ref:
            raise PathRefused(f"{ref!r} contains a NUL character: no file has such a name")
        if ref.startswith("file:"):
            return self._name_of(path_from_uri(ref))
        candidate = Path(ref)
        if "\\" in ref or "%" in ref or ".." in candidate.parts:
            raise PathRefused(f"{ref!r} tries to leave the workspace's .astra/ folder")
        if candidate.is_absolute() or candidate.parts[:1] == (ASTRA_DIR,):
            return self._name_of(candidate if candidate.is_absolute() else self.root / candidate)
        name = check_stream_parts(ref.removesuffix(".jsonl"))
        if "/" in name and name.split("/")[0] in SKIPPED_DIRS:
            raise PathRefused(f"{ref!r} is inside astra-ls's own {name.split('/')[0]}/ folder, not a store")
        return name

    def _name_of(self, path: Path) -> str:
        folder = astra_dir(self.root)
        absolute = normalised(path)
        if not absolute.is_relative_to(folder.absolute()):
            raise PathRefused(f"{path} is not inside {folder}")
        confine(self.root, absolute)
        name = absolute.relative_to(folder.absolute()).as_posix().removesuffix(".jsonl")
        if name.split("/")[0] in SKIPPED_DIRS:
            raise PathRefused(f"{path} is inside astra-ls's own {name.split('/')[0]}/ folder, not a store")
        return check_stream_parts(name)

    def path_of(self, stream: str) -> Path:
        """The stream's file, confined to `.astra/`. A checked path is reused while `.astra` is the same
        real directory (one lstat); the file itself is opened for writing with O_NOFOLLOW."""
        cached = self._paths.get(stream)
        if cached is not None and self._astra_identity() == cached[0]:
            return cached[1]
        if "/" not in stream:
            path = stream_path(self.root, stream)
        else:
            check_stream_parts(stream)
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

    # --- the engine's view --------------------------------------------------------------------------

    def setup(self, stream: str) -> StreamSetup:
        return self.analyses.setup(stream)

    def followed(self, stream: str) -> FollowedFile:
        return self.analyses.followed(stream)

    def refresh(self, stream: str) -> Change:
        return self.analyses.refresh(stream)

    def stamp(self, stream: str) -> FileStamp | None:
        return self.analyses.followed(stream).stamp

    def analysis(self, stream: str) -> StoreAnalysis:
        return self.analyses.current(stream, self.refresh(stream), str(self.path_of(stream)))

    def reader(self, stream: str) -> ReadRange:
        return self.analyses.followed(stream).read

    def replayer(self, stream: str) -> Replayer:
        return self.analyses.replayer(stream)

    def problems(self, stream: str) -> list[Problem]:
        return self.analyses.problems(stream, self.analysis(stream))

    def lock(self, stream: str) -> AbstractContextManager[None]:
        return stream_lock(self.path_of(stream))

    def close(self) -> None:
        pass

    # --- appending ----------------------------------------------------------------------------------

    def append(self, stream: str, event: Any, expected_count: int | None = None) -> AppendResult:
        try:
            return self._append(stream, event, expected_count)
        except (StoreError, PathRefused, ConfigError, OSError) as error:
            refused = refusal(stream, error)
            assert refused is not None
            return refused

    def _append(self, stream: str, event: Any, expected_count: int | None) -> AppendResult:
        stream = self.resolve(stream)
        data = self.analyses.validated_line(stream, event)
        path = self.path_of(stream)
        if stream not in self._paths:
            if not self.root.is_dir():
                return Refused("STORE_NOT_FOUND", f"workspace {self.root} does not exist")
            path.parent.mkdir(exist_ok=True)
        with stream_lock(path):
            exists = self._exists(stream, path)
            lines, count = self._counts(stream) if exists else (0, 0)
            id_value = event.get(self.setup(stream).rules.line.id_field)
            same_id = self._same_id(stream, id_value) if exists else None
            if same_id is not None:
                return self._repeated(stream, path, data, same_id, count)
            if expected_count is not None and expected_count != count:
                return Refused("EXPECTED_COUNT_MISMATCH",
                               f"{stream} has {count} events, not the expected {expected_count}: "
                               "another writer appended first; re-read and retry",
                               {"expected": expected_count, "actual": count})
            offset, written, after = write_line(path, data)
            self.followed(stream).note_own_append(offset, written, after, one_event=written == data,
                                                  id_hash=id_key(id_value))
        return Appended(str(path), lines + 1, count + 1)

    def _same_id(self, stream: str, value: Any) -> tuple[int, bytes] | None:
        """The line (0-based) and bytes of the event that already has the id `value`, where ids are unique.
        Own appends waiting to be analysed are looked at as they are: a writer appending in a loop still
        has them analysed in batches."""
        followed = self.followed(stream)
        analysis = followed.analysed
        if not self.setup(stream).rules.unique_ids or analysis is None or value is None:
            return None
        read = self.reader(stream)
        line = analysis.first_line_with_id(value, read)
        if line is not None:
            return line, read(*analysis.line_span(line))
        waiting = followed.pending_with_id(id_key(value))
        if waiting is not None and line_id(waiting[1], self.setup(stream).rules.line.id_field) == id_identity(value):
            return waiting
        return None

    def _repeated(self, stream: str, path: Path, data: bytes, existing: tuple[int, bytes], count: int) -> AppendResult:
        """An append whose id is taken: a retry of the very same event is answered as done, writing
        nothing; another event with that id is refused (check would flag it ASTRA020)."""
        line, raw = existing
        if raw == data[:-1]:
            return Appended(str(path), line + 1, count, duplicate=True)
        id_field = self.setup(stream).rules.line.id_field
        raise StoreError("DUPLICATE_ID", f"{stream} already has an event with this {id_field} (line {line + 1}), "
                         f"and {id_field}s are unique in this store: nothing was written; give the event a new "
                         f"{id_field} (appending the very same event again is a no-op)",
                         {"line": line + 1, "id": json.loads(data).get(id_field)})

    def _counts(self, stream: str) -> tuple[int, int]:
        """(lines, events) of the store as it is on disk now, without analysing this process's own
        latest appends (a writer appending in a loop has them analysed in batches)."""
        change = self.refresh(stream)
        counts = self.followed(stream).counts()
        if counts is None:
            raise not_found(stream, change, str(self.path_of(stream)))
        return counts

    def _exists(self, stream: str, path: Path) -> bool:
        return self.followed(stream).has_analysis or path.exists()


def write_line(path: Path, data: bytes) -> tuple[int, bytes, os.stat_result]:
    """Append one line in one write, after a newline if the file ends torn, then fsync; answers where the
    bytes went, the bytes written and the file's stat after the write.

    Callers hold the stream lock. On failure the file is cut back to its old size: nothing half-written.
    A store that became a link since its path was checked is refused, not written through; so is one
    with another name (a hard link) and anything that is not a regular file.
    """
    fd = open_file(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644, follow=False)
    try:
        info = os.fstat(fd)
        refuse_hard_links(path, info)
        size = info.st_size
        if size and pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        try:
            write_all(fd, data)
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)
            raise
        return size, data, os.fstat(fd)
    finally:
        os.close(fd)
