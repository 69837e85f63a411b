"""A saved copy of each store's analysis, so a restart with an unchanged (or only grown) store skips the
full scan.

One entry per store file in the user's cache folder, never in the workspace: a header saying which
file and which bytes of it (inode, size, mtime, ctime, the complete hash of those bytes), which rules
and engine produced it, then the per-line arrays written raw and the few per-line extras as JSON.
Whatever does not match or does not add up is ignored: the caller scans as if there were no entry. A
file whose size, mtime or ctime moved is hashed again (every byte the entry describes, not a sample: an
editor saves in place); only a file whose stamp is exactly the one saved is trusted as it is. Id hashes
are the same in every process (see `core.facts`), so any process can read any entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import struct
import sys
import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

import astra_ls
from astra_ls.core.analysis import LINE_ARRAYS, AnalysisRules, CrossLines, StoreAnalysis
from astra_ls.core.codes import Severity
from astra_ls.core.facts import canonical_json
from astra_ls.core.linecheck import BAD
from astra_ls.core.problems import Problem, Related
from astra_ls.store.cache_files import evict, write_cache_file
from astra_ls.store.cache_location import cache_enabled, cache_root
from astra_ls.store.fingerprint import digest, stamp_sources
from astra_ls.store.prefix_hash import PrefixHash, restore

if TYPE_CHECKING:
    from concurrent.futures import Future

log = logging.getLogger(__name__)

FORMAT = 4  # 2: the cross-line indexes are saved too; 3: id hashes are xxh3_64, no seed probe; 4: the
# complete hash of the bytes, and ctime
MAGIC = b"ASTRAIX\x00"
PREFIX = struct.Struct("<8sII")  # magic, header length, header CRC-32
MAX_HEADER = 1 << 20
ENTRY_SUFFIX = ".idx"
MAX_ENTRIES = 64
MAX_TOTAL_BYTES = 2 << 30
DTYPES = {"offsets": np.int64, "kinds": np.uint8, "type_ids": np.uint16, "timestamps": np.float64,
          "id_hashes": np.int64}


@dataclass(frozen=True, slots=True)
class Loaded:
    """An analysis of the file's first `size` bytes, as they were at (inode, mtime_ns), and their hash
    (proven to be the file's now)."""

    analysis: StoreAnalysis
    inode: int
    size: int
    mtime_ns: int
    prefix: PrefixHash


@dataclass(frozen=True, slots=True)
class Image:
    """What an entry holds, copied out of an analysis while its store's lock is held."""

    header: dict[str, Any]
    sections: tuple[bytes, ...]


class IndexCache:
    """Entries in `folder`; writes run on one background thread, loads on the caller's."""

    def __init__(self, folder: Path) -> None:
        from concurrent.futures import ThreadPoolExecutor  # and logging, and queue: not for a plain check

        self.folder = folder
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="astra-index-cache")
        self._pending: list[Future[None]] = []
        self._guard = threading.Lock()

    def entry(self, path: Path) -> Path:
        key = digest(os.fsencode(path.absolute()))  # a file name is bytes, not always UTF-8
        return self.folder / f"{key}{ENTRY_SUFFIX}"

    # --- loading -------------------------------------------------------------------------------------

    def load(self, path: Path, rules: AnalysisRules) -> Loaded | None:
        """The saved analysis of `path` when it still describes the file's first bytes, else None."""
        try:
            return self._load(path, rules)
        except FileNotFoundError:
            log.info("index cache: no entry for %s", path.name)
            return None
        except Exception as error:  # an entry can hold anything at all: it is a hint, never a reason to fail
            log.info("index cache: the entry for %s cannot be read (%r): scanning", path.name, error)
            return None

    def _load(self, path: Path, rules: AnalysisRules) -> Loaded | None:
        target = self.entry(path)
        with target.open("rb") as handle:
            magic, length, crc = PREFIX.unpack(handle.read(PREFIX.size))
            raw = handle.read(length) if magic == MAGIC and length <= MAX_HEADER else b""
            if not raw or zlib.crc32(raw) != crc:
                log.info("index cache: the entry for %s is damaged: scanning", path.name)
                return None
            header = orjson.loads(raw)
            prefix, mismatch = self._describes(header, path, rules)
            if prefix is None:
                log.info("index cache: the entry for %s was made for %s: scanning", path.name, mismatch)
                return None
            sections = [handle.read(n) for n in header["lengths"]]
        if [zlib.crc32(s) for s in sections] != header["crcs"] or [len(s) for s in sections] != header["lengths"]:
            log.info("index cache: the entry for %s is damaged: scanning", path.name)
            return None
        analysis = rebuild(rules, header, sections)
        if analysis is None:
            log.info("index cache: the entry for %s does not add up: scanning", path.name)
            return None
        os.utime(target)  # recently used: evicted last
        return Loaded(analysis, header["inode"], header["size"], header["mtime_ns"], prefix)

    @staticmethod
    def _describes(header: dict[str, Any], path: Path, rules: AnalysisRules) -> tuple[PrefixHash | None, str]:
        """The hash of the file's first bytes when they are still the ones the entry describes, else None
        and what the entry was made for that no longer holds."""
        for key, value in identity(path, rules).items():
            if header.get(key) != value:
                return None, {"format": "an older version", "engine": "another engine", "rules": "other settings",
                              "byteorder": "another machine", "path": "another file"}.get(key, key)
        size = header["size"]
        with open(path, "rb", buffering=0) as handle:
            info = os.fstat(handle.fileno())
            if info.st_ino != header["inode"]:
                return None, "a file since replaced"
            if info.st_size < size or header["prefix"]["length"] != size:
                return None, "a longer file (it was cut)"
            same = (info.st_size, info.st_mtime_ns, info.st_ctime_ns) == (size, header["mtime_ns"], header["ctime_ns"])
            prefix = restore(handle, header["prefix"], trust_whole_segments=same and header["mtime_ns"] != -1)
        return prefix, "" if prefix is not None else "an earlier version of the file (its bytes changed)"

    # --- saving --------------------------------------------------------------------------------------

    def save(self, path: Path, analysis: StoreAnalysis, inode: int, mtime_ns: int, ctime_ns: int,
             prefix: PrefixHash) -> None:
        """Copy the analysis now (the caller holds its lock) and write it in the background. `prefix`:
        the hash of the bytes analysed; `mtime_ns` -1 when the file may hold others by now."""
        try:
            image = capture(path, analysis, inode, mtime_ns, ctime_ns, prefix)
        except OSError:
            return
        future = self._writer.submit(self._write, self.entry(path), image)
        with self._guard:
            self._pending = [f for f in self._pending if not f.done()] + [future]

    def wait(self, timeout: float | None = None) -> None:
        """Until every save asked for so far is written (or has failed)."""
        from concurrent.futures import wait

        with self._guard:
            pending = list(self._pending)
        wait(pending, timeout)

    def _write(self, target: Path, image: Image) -> None:
        header = dict(image.header, lengths=[len(s) for s in image.sections],
                      crcs=[zlib.crc32(s) for s in image.sections])
        raw = orjson.dumps(header)
        try:
            write_cache_file(target, [PREFIX.pack(MAGIC, len(raw), zlib.crc32(raw)), raw, *image.sections])
            evict(self.folder, ENTRY_SUFFIX, MAX_ENTRIES, MAX_TOTAL_BYTES)
        except OSError:  # an unwritable or full cache folder: the next start scans, that is all
            pass


def open_index_cache(folder: str | None, enabled: bool = True) -> IndexCache | None:
    """The cache a language server uses: in $ASTRA_LS_CACHE_DIR, else `folder` (the editor's storage),
    else the user cache folder; None when turned off."""
    if not (enabled and cache_enabled()):
        return None
    return IndexCache(cache_root(folder) / "index")


# --- fingerprints ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def engine_key() -> str:
    """The engine that wrote an entry: its version, the state of the sources analyses depend on (so a
    changed checkout never reads an older one's entries), its parsers."""
    import msgspec
    import pydantic

    hashed = hashlib.blake2b(digest_size=16)
    hashed.update(f"{astra_ls.__version__} {sys.version} {orjson.__version__} {msgspec.__version__} "
                  f"{pydantic.VERSION}".encode())
    package = Path(astra_ls.__file__).parent
    stamp_sources(hashed, package, [*package.glob("core/*.py"), *package.glob("schemas/*.py"), Path(__file__)])
    return hashed.hexdigest()


@lru_cache(maxsize=64)
def rules_key(rules: AnalysisRules) -> str:
    """What the store's configuration contributes to its analysis (severities and ignores apply later)."""
    line = rules.line
    parts: list[Any] = [line.max_line_bytes, line.id_field, line.time_field, line.type_field, line.time_format,
                        rules.unique_ids,
                        rules.ordered_timestamps, *schema_parts(line.schema)]
    return digest(canonical_json(parts))


def schema_parts(schema: Any) -> list[Any]:
    """A schema's identity: its class and name, a JSON Schema's document, the source files of models."""
    kind = type(schema)
    parts: list[Any] = [kind.__module__, kind.__qualname__, getattr(schema, "name", "")]
    document = getattr(schema, "_root", None)  # the JSON Schema document a file-based schema holds
    if isinstance(document, dict):
        parts.append(document)
    classes = [kind, *(c for model in getattr(schema, "models", ()) for c in model.__mro__)]
    parts.extend(source_stamp(c) for c in classes if c is not object)
    return parts


def source_stamp(cls: type) -> list[Any]:
    module = sys.modules.get(cls.__module__)
    where = getattr(module, "__file__", None)
    if not where:
        return [cls.__module__, cls.__qualname__]
    info = os.stat(where)
    return [cls.__module__, cls.__qualname__, where, info.st_size, info.st_mtime_ns]


# --- the entry's contents ----------------------------------------------------------------------------


def identity(path: Path, rules: AnalysisRules) -> dict[str, Any]:
    """What an entry must have been made for: this file, these rules, this engine."""
    # a file name is bytes, not always UTF-8; the header is JSON text
    name = os.fsencode(path.absolute()).decode("utf-8", "backslashreplace")
    return {"format": FORMAT, "engine": engine_key(), "rules": rules_key(rules),
            "byteorder": sys.byteorder, "path": name}


def capture(path: Path, analysis: StoreAnalysis, inode: int, mtime_ns: int, ctime_ns: int,
            prefix: PrefixHash) -> Image:
    if prefix.length != analysis.size:
        raise OSError("the hash does not cover the bytes analysed")  # not saved: the next start scans
    header = {**identity(path, analysis.rules), "inode": inode, "size": analysis.size, "mtime_ns": mtime_ns,
              "ctime_ns": ctime_ns, "prefix": prefix.saved(), "lines": analysis.line_count,
              "terminated": analysis.terminated}
    cross = analysis.cross_lines_saved()
    extras = {"types": analysis.types.names,
              "problems": [[line, [problem_json(p) for p in found]] for line, found in analysis.line_problems.items()],
              "snapshots": [[line, event] for line, event in analysis.snapshots.items()],
              "duplicates": list(cross.duplicates.items()), "backwards": list(cross.backwards.items()),
              "lastTime": None if math.isnan(cross.last_time) else cross.last_time, "lastLine": cross.last_line}
    columns = tuple(bytes(getattr(analysis, name)) for name in LINE_ARRAYS)
    return Image(header, (*columns, cross.known_ids.astype(np.int64).tobytes(), canonical_json(extras)))


def rebuild(rules: AnalysisRules, header: dict[str, Any], sections: list[bytes]) -> StoreAnalysis | None:
    """An analysis from an entry's sections, or None when they do not add up."""
    lines, size = header["lines"], header["size"]
    if len(sections) != len(LINE_ARRAYS) + 2:
        return None
    arrays = {name: np.frombuffer(data, DTYPES[name]) for name, data in zip(LINE_ARRAYS, sections, strict=False)}
    if any(len(a) != lines for a in arrays.values()):
        return None
    offsets, kinds = arrays["offsets"], arrays["kinds"]
    if lines and (offsets[0] != 0 or np.any(np.diff(offsets) <= 0) or offsets[-1] > size or kinds.max() > BAD):
        return None
    extras = _json(sections[-1])
    analysis = StoreAnalysis(rules)
    mapping = np.array([analysis.types.id_of(name or None) for name in extras["types"]], np.uint16)
    type_ids = arrays["type_ids"]
    if lines and int(type_ids.max()) >= len(mapping):
        return None
    problems = {int(line): [problem_of(p) for p in found] for line, found in extras["problems"]}
    snapshots = {int(line): event for line, event in extras["snapshots"]}
    if any(not 0 <= line < lines for line in (*problems, *snapshots)):
        return None
    analysis.offsets.frombytes(sections[0])
    analysis.kinds.extend(sections[1])
    analysis.type_ids.frombytes(mapping[type_ids].tobytes() if lines else b"")
    analysis.timestamps.frombytes(sections[3])
    analysis.id_hashes.frombytes(sections[4])
    analysis.line_problems, analysis.snapshots = problems, snapshots
    analysis.size, analysis.terminated = size, bool(header["terminated"])
    analysis.recount()
    cross = _cross_lines(extras, sections[-2], lines)
    if cross is None:
        return None
    analysis.restore_cross_lines(cross)
    return analysis


def _cross_lines(extras: dict[str, Any], known: bytes, lines: int) -> CrossLines | None:
    """The saved duplicate-id and time-order indexes, or None when they do not fit the lines."""
    known_ids = np.frombuffer(known, np.int64).copy()
    duplicates = {int(line): int(first) for line, first in extras["duplicates"]}
    backwards = {int(line): int(previous) for line, previous in extras["backwards"]}
    last_line = int(extras["lastLine"])
    pairs = (*duplicates.items(), *backwards.items())
    if any(not 0 <= b < a < lines for a, b in pairs) or not -1 <= last_line < lines:
        return None
    if len(known_ids) > 1 and np.any(known_ids[1:] <= known_ids[:-1]):
        return None
    last_time = math.nan if extras["lastTime"] is None else float(extras["lastTime"])
    return CrossLines(known_ids, duplicates, backwards, last_time, last_line)


def _json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # integers beyond 64 bits, which orjson does not read
        return json.loads(data)


def problem_json(problem: Problem) -> list[Any]:
    related = [[r.line, r.start, r.end, r.message] for r in problem.related]
    return [problem.line, problem.start, problem.end, problem.code, problem.message, int(problem.severity),
            problem.end_line, related, problem.data]


def problem_of(item: Iterable[Any]) -> Problem:
    line, start, end, code, message, severity, end_line, related, data = item
    links = tuple(Related(int(a), int(b), int(c), str(d)) for a, b, c, d in related)
    return Problem(int(line), int(start), int(end), str(code), str(message), Severity(severity), int(end_line),
                   links, dict(data))

