"""The index cache: a store whose first bytes are what an entry says starts from it; anything else
(edited, truncated, replaced, other rules, an older format, a damaged entry, a cache that cannot be
written) is a scan."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from astra_ls.core.analysis import AnalysisRules
from astra_ls.store import index_cache
from astra_ls.store.follow import Change, FollowedFile
from astra_ls.store.index_cache import IndexCache

from .conftest import analyse, rules_for
from .test_incremental import POOL, snapshot

DATA = b"\n".join([
    b'{"id":"a","timestamp":1}', b'{"id":"b","timestamp":2}', b'{"id":"a","timestamp":3}',
    b'{"id":"c","timestamp":0}', b"", b"[1]", b'{"id":', b'{"n":123456789012345678901}',
    b'{"type":"$snapshot","state":{"big":123456789012345678901},"events":2,"byType":{"T":2}}',
    b'{"type":"T","id":"d","timestamp":5}',
]) + b"\n"


@pytest.fixture
def cache(tmp_path: Path) -> IndexCache:
    return IndexCache(tmp_path / "cache")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "ws" / ".astra" / "events.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(DATA)
    return path


def scanned(path: Path, cache: IndexCache, rules: AnalysisRules | None = None) -> FollowedFile:
    """A first refresh that saves its full scan, as the server's start-up scan does."""
    followed = FollowedFile(path, rules or rules_for(), cache)
    assert followed.refresh() is Change.RESCANNED
    cache.wait()
    return followed


def restarted(path: Path, cache: IndexCache, monkeypatch: pytest.MonkeyPatch, *, from_cache: bool,
              rules: AnalysisRules | None = None) -> FollowedFile:
    """A new process's first refresh; `from_cache` says whether it may skip the full scan."""
    if from_cache:
        monkeypatch.setattr(FollowedFile, "rescan", _no_rescan)
    followed = FollowedFile(path, rules or rules_for(), cache)
    assert followed.refresh() is Change.RESCANNED
    monkeypatch.undo()
    return followed


def _no_rescan(self: FollowedFile, stamp: Any = None) -> None:
    raise AssertionError("scanned in full although the cache held this file")


def same_as_fresh(followed: FollowedFile) -> None:
    data = followed.path.read_bytes()
    assert followed.analysis is not None
    assert snapshot(followed.analysis, data) == snapshot(analyse(data), data)


def test_unchanged_store_starts_from_the_cache(store: Path, cache: IndexCache,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    scanned(store, cache)
    assert len(list(cache.folder.glob("*.idx"))) == 1
    same_as_fresh(restarted(store, cache, monkeypatch, from_cache=True))


def test_a_store_whose_name_is_not_utf8_is_cached_too(tmp_path: Path, cache: IndexCache,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Linux file names are bytes: a name that is not UTF-8 still gets its entry (it used to crash the save)."""
    path = tmp_path / "ws" / ".astra" / os.fsdecode(b"caf\xe9.jsonl")
    path.parent.mkdir(parents=True)
    path.write_bytes(DATA)
    scanned(path, cache)
    assert len(list(cache.folder.glob("*.idx"))) == 1
    same_as_fresh(restarted(path, cache, monkeypatch, from_cache=True))


def test_grown_store_reads_only_its_tail(store: Path, cache: IndexCache, monkeypatch: pytest.MonkeyPatch) -> None:
    scanned(store, cache)
    with store.open("ab") as handle:
        handle.write(b'{"id":"b","timestamp":9}\n{"id":"e","timestamp":4}\n{"torn":')
    followed = restarted(store, cache, monkeypatch, from_cache=True)
    same_as_fresh(followed)
    cache.wait()
    with store.open("ab") as handle:
        handle.write(b'1}\n')
    same_as_fresh(restarted(store, cache, monkeypatch, from_cache=True))  # the resumed tail was saved


@pytest.mark.parametrize("change", ["same size, new mtime", "same size and mtime", "truncated",
                                    "replaced", "emptied", "rewritten and grown"])
def test_changed_store_is_scanned(store: Path, cache: IndexCache, monkeypatch: pytest.MonkeyPatch,
                                  change: str) -> None:
    scanned(store, cache)
    before = os.stat(store)
    if change.startswith("same size"):
        with store.open("r+b") as handle:
            handle.write(b'{"id":"z"')  # the first line's id, same length
        if change == "same size and mtime":
            os.utime(store, ns=(before.st_atime_ns, before.st_mtime_ns))
    elif change == "truncated":
        os.truncate(store, len(DATA) - 20)
    elif change == "replaced":  # same bytes, another file (an atomic rewrite)
        temp = store.with_suffix(".tmp")
        temp.write_bytes(DATA)
        os.replace(temp, store)
    elif change == "emptied":
        store.write_bytes(b"")
    else:
        with store.open("r+b") as handle:
            handle.write(b'{"id":"z"')
        with store.open("ab") as handle:
            handle.write(b'{"id":"f","timestamp":10}\n')
    assert cache.load(store, rules_for()) is None
    same_as_fresh(restarted(store, cache, monkeypatch, from_cache=False))


def test_other_rules_are_not_served_an_entry(store: Path, cache: IndexCache,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    scanned(store, cache)
    for rules in (rules_for(unique_ids=False), rules_for("conversation"), rules_for(max_line_bytes=20)):
        assert cache.load(store, rules) is None
    assert cache.load(store, rules_for()) is not None


def test_entry_of_another_format_is_ignored(store: Path, cache: IndexCache,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries written before id hashes were xxh3 (format 2) hold other hashes: never read."""
    scanned(store, cache)
    monkeypatch.setattr(index_cache, "FORMAT", 2)
    assert cache.load(store, rules_for()) is None


@pytest.mark.parametrize("damage", ["flipped byte", "cut short", "empty", "garbage", "header only"])
def test_damaged_entry_is_ignored(store: Path, cache: IndexCache, monkeypatch: pytest.MonkeyPatch,
                                  damage: str) -> None:
    scanned(store, cache)
    entry = cache.entry(store)
    raw = bytearray(entry.read_bytes())
    if damage == "flipped byte":
        raw[-30] ^= 0x40
    elif damage == "cut short":
        raw = raw[: len(raw) - 7]
    elif damage == "empty":
        raw = bytearray()
    elif damage == "garbage":
        raw = bytearray(os.urandom(len(raw)))
    else:
        raw = raw[: index_cache.PREFIX.size + 10]
    entry.write_bytes(bytes(raw))
    assert cache.load(store, rules_for()) is None
    same_as_fresh(restarted(store, cache, monkeypatch, from_cache=False))


def test_unwritable_cache_folder_only_costs_the_cache(store: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    cache = IndexCache(blocker / "cache")  # cannot be created, even by root
    followed = scanned(store, cache)
    same_as_fresh(followed)
    assert blocker.read_bytes() == b""


def test_old_entries_are_evicted(tmp_path: Path, cache: IndexCache, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_cache, "MAX_ENTRIES", 2)
    for index in range(4):
        path = tmp_path / f"s{index}.jsonl"
        path.write_bytes(DATA)
        scanned(path, cache)
    assert len(list(cache.folder.glob("*.idx"))) == 2
    assert cache.load(tmp_path / "s3.jsonl", rules_for()) is not None


def test_appends_are_saved_on_flush(store: Path, cache: IndexCache, monkeypatch: pytest.MonkeyPatch) -> None:
    followed = scanned(store, cache)
    with store.open("ab") as handle:
        handle.write(b'{"id":"g","timestamp":11}\n')
    assert followed.refresh() is Change.APPENDED
    followed.flush()
    cache.wait()
    loaded = cache.load(store, rules_for())
    assert loaded is not None and loaded.size == store.stat().st_size


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(POOL), max_size=12), st.booleans())
def test_saved_and_loaded_analysis_is_the_same(lines: list[bytes], final_newline: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.jsonl"
        path.write_bytes(data)
        cache = IndexCache(Path(folder) / "cache")
        scanned(path, cache)
        loaded = cache.load(path, rules_for())
        assert loaded is not None
        assert snapshot(loaded.analysis, data) == snapshot(analyse(data), data)
        assert loaded.analysis.snapshots == analyse(data).snapshots


def test_a_changed_json_schema_file_changes_the_rules(tmp_path: Path) -> None:
    from astra_ls.core.linecheck import LineRules
    from astra_ls.schemas.loader import load_schema

    def rules_with(document: str) -> AnalysisRules:
        (tmp_path / "s.json").write_text(document)
        return AnalysisRules(LineRules(load_schema("s.json", tmp_path, trusted=False)))

    strict = '{"type": "object", "required": ["id"]}'
    assert index_cache.rules_key(rules_with(strict)) == index_cache.rules_key(rules_with(strict))
    assert index_cache.rules_key(rules_with(strict)) != index_cache.rules_key(rules_with('{"type": "object"}'))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(POOL), max_size=10), st.lists(st.sampled_from(POOL), max_size=5),
       st.lists(st.sampled_from(POOL), min_size=1, max_size=5))
def test_appends_after_a_load_meet_the_saved_indexes(lines: list[bytes], tail: list[bytes],
                                                     more: list[bytes]) -> None:
    """Duplicate ids and backward timestamps in a tail read after a load are judged against the indexes the
    entry saved (ids met in tails read before the save included), exactly as a fresh check judges them."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.jsonl"
        path.write_bytes(b"".join(line + b"\n" for line in lines))
        cache = IndexCache(Path(folder) / "cache")
        first = scanned(path, cache)
        with path.open("ab") as handle:
            handle.write(b"".join(line + b"\n" for line in tail))
        first.refresh()
        first.flush()
        cache.wait()
        followed = FollowedFile(path, rules_for(), cache)
        assert followed.refresh() is Change.RESCANNED
        with path.open("ab") as handle:
            handle.write(b"".join(line + b"\n" for line in more))
        followed.refresh()
        same_as_fresh(followed)
