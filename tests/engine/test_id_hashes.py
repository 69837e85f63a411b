"""Id hashes: the same in every process, and never trusted alone. The hash is not keyed, so ids can be
made to collide: a repeat is reported only when the two lines' ids are equal JSON values."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from astra_ls.core import facts
from astra_ls.core.analysis import BaseAnalysis
from astra_ls.core.blocks import iter_blocks
from astra_ls.core.lean_analysis import LeanAnalysis

from .conftest import analyse, reader, rules_for

LINES = [b'{"id":"a","timestamp":1}', b'{"id":"b","timestamp":2}', b'{"id":"a","timestamp":3}',
         b'{"id":"c","timestamp":4}', b'{"id":5,"timestamp":5}', b'{"id":"5","timestamp":6}',
         b'{"id":"c","timestamp":7}', b'{"id":"b","timestamp":8}']
DATA = b"\n".join(LINES) + b"\n"
TRUE_REPEATS = {2: 0, 6: 3, 7: 1}  # line -> first line with the same id


def repeats(analysis: BaseAnalysis) -> dict[int, int]:
    return {p.line: p.related[0].line for p in analysis.problems(reader(DATA)) if p.code == "ASTRA020"}


def lean_analysis() -> LeanAnalysis:
    import io

    analysis = LeanAnalysis(rules_for())
    analysis.feed_scan(iter_blocks(io.BytesIO(DATA), 0, analysis.rules.line.max_line_bytes))
    analysis.finish_full_scan(reader(DATA))
    return analysis


def test_duplicates_found_by_their_ids() -> None:
    assert repeats(analyse(DATA)) == TRUE_REPEATS
    assert repeats(lean_analysis()) == TRUE_REPEATS


@pytest.mark.parametrize("collide", ["every id", "two ids"])
def test_colliding_hashes_are_not_duplicates(monkeypatch: pytest.MonkeyPatch, collide: str) -> None:
    """Ids crafted so that their hashes collide: only the lines whose ids are equal are reported, each with
    the first line that truly has its id (not the first line with its hash)."""
    real = facts._xxh3
    if collide == "every id":
        monkeypatch.setattr(facts, "_xxh3", lambda data: 42)
    else:  # "b" takes "a"'s hash
        monkeypatch.setattr(facts, "_xxh3", lambda data: real(b"a" if data == b"b" else data))
    assert repeats(analyse(DATA)) == TRUE_REPEATS
    assert repeats(lean_analysis()) == TRUE_REPEATS


def test_an_id_hash_is_the_same_in_every_process() -> None:
    script = "from astra_ls.core.facts import id_key; print(id_key('evt-1'), id_key(7), id_key({'k': [1]}))"
    seen = {subprocess.run([sys.executable, *flags, "-c", script], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": seed, "PYTHONPATH": os.pathsep.join(sys.path)}).stdout
            for seed, flags in (("1", []), ("2", []), ("random", []), ("0", ["-E"]))}
    assert len(seen) == 1
    assert seen.pop().split() == [str(facts.id_key("evt-1")), str(facts.id_key(7)), str(facts.id_key({"k": [1]}))]
