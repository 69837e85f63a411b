"""Coverage-guided fuzzing of the reader's entry points: `check_line`, the block scanner, `splice`.

Run directly (atheris/libFuzzer flags pass through), e.g.
    python tests/fuzz/fuzz_reader.py -atheris_runs=20000
    python tests/fuzz/fuzz_reader.py -max_total_time=60

Invariants checked on every input:
  * nothing raises;
  * `check_line`: a line is malformed (ASTRA001/003/035) exactly when a strict RFC 8259 parser rejects it
    (where that comparison applies), and problem ranges stay inside the line;
  * a full analysis of the bytes (fed in blocks of a fuzzed size) accounts for every line exactly once:
    each is an event or carries a problem saying why not, never both an event and malformed; offsets are
    the line starts; ranges stay inside their line; the event count matches;
  * `splice` with a fuzzed edit leaves the analysis equal to a fresh analysis of the edited bytes.
"""

from __future__ import annotations

import io
import sys
from typing import Any

import atheris
from oracle import documented_deviation, strict_json, utf16_units  # beside this script

with atheris.instrument_imports(include=["astra_ls"]):  # our code only: fast start-up
    from astra_ls.core.analysis import AnalysisRules, StoreAnalysis
    from astra_ls.core.blocks import iter_blocks
    from astra_ls.core.linecheck import BOM, EVENT, LineRules, check_line
    from astra_ls.core.problems import Problem
    from astra_ls.schemas.families import builtin_schema

MALFORMED = {"ASTRA001", "ASTRA003", "ASTRA035"}
FAMILIES = ("generic", "conversation", "entity")
MAX_LINE = 4096  # small, so fuzzed inputs reach the oversized-line path
RULES = {family: AnalysisRules(LineRules(builtin_schema(family), MAX_LINE), True, True) for family in FAMILIES}


def lines_of(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return parts


def analyse(data: bytes, family: str, block_size: int) -> StoreAnalysis:
    analysis = StoreAnalysis(RULES[family])
    analysis.feed(iter_blocks(io.BytesIO(data), 0, MAX_LINE, block_size), incremental=False)
    analysis.finish_full_scan()
    return analysis


def in_line(problem: Problem, raw: bytes) -> bool:
    width = max(1, utf16_units(raw)) if problem.code == "ASTRA034" else utf16_units(raw)
    return 0 <= problem.start <= problem.end <= width


def check_one_line(raw: bytes, family: str) -> None:
    verdict = check_line(raw, 0, RULES[family].line)
    for problem in verdict.problems:
        assert problem.line == 0 and in_line(problem, raw), (problem, raw)
    if b"\n" in raw or b"\r" in raw or raw.startswith(BOM) or not raw.strip(b" \t") or len(raw) > MAX_LINE:
        return  # framing (ASTRA030/031/032/037/034) is judged apart from the JSON itself
    accepted, value = strict_json(raw)
    if accepted and documented_deviation(value):
        return
    flagged = {p.code for p in verdict.problems} & MALFORMED
    assert bool(flagged) == (not accepted), (raw, verdict.problems)


def observable(analysis: StoreAnalysis, data: bytes) -> dict[str, Any]:
    return {
        "offsets": list(analysis.offsets), "kinds": bytes(analysis.kinds), "size": analysis.size,
        "events": analysis.event_count(), "byType": analysis.counts_by_type(),
        "problems": [(p.line, p.start, p.end, p.code, p.message, p.related)
                     for p in analysis.problems(lambda o, n: data[o : o + n])],
    }


def check_store(data: bytes, family: str, block_size: int) -> StoreAnalysis:
    analysis = analyse(data, family, block_size)
    raw_lines = lines_of(data)
    assert analysis.line_count == len(raw_lines), (analysis.line_count, len(raw_lines))
    starts = [0]
    for raw in raw_lines[:-1]:
        starts.append(starts[-1] + len(raw) + 1)
    assert list(analysis.offsets) == (starts if raw_lines else [])
    problems = analysis.problems(lambda o, n: data[o : o + n])
    codes: dict[int, set[str]] = {}
    for problem in problems:
        assert 0 <= problem.line < len(raw_lines), problem
        assert in_line(problem, raw_lines[problem.line]), (problem, raw_lines[problem.line][:200])
        for related in problem.related:
            assert 0 <= related.start <= related.end <= utf16_units(raw_lines[related.line]), problem
        codes.setdefault(problem.line, set()).add(problem.code)
    for line in range(analysis.line_count):
        assert analysis.is_event(line) or line in codes, (line, raw_lines[line][:200])
        assert not (analysis.is_event(line) and codes.get(line, set()) & MALFORMED), (line, codes[line])
    events = sum(1 for kind in analysis.kinds if kind == EVENT)
    covered = sum(int(snapshot["events"]) for snapshot in analysis.snapshots.values())
    assert analysis.event_count() == events + covered == sum(analysis.counts_by_type().values())
    return analysis


def check_splice(data: bytes, family: str, provider: atheris.FuzzedDataProvider) -> None:
    analysis = analyse(data, family, 1 << 20)
    count = analysis.line_count
    first = provider.ConsumeIntInRange(0, count)
    old_count = provider.ConsumeIntInRange(0, count - first)
    replacement = provider.ConsumeBytes(provider.ConsumeIntInRange(0, 256))
    tail = first + old_count >= count
    base = analysis.offsets[first] if first < count else analysis.size
    if tail:
        if first == count and count and not analysis.terminated:
            return  # an editor cannot insert lines after an unterminated last line without touching it
        new_data = replacement
        new = data[:base] + new_data
    else:
        new_data = replacement if replacement.endswith(b"\n") else replacement + b"\n"
        new = data[:base] + new_data + data[analysis.offsets[first + old_count] :]
    analysis.splice(first, old_count, new_data, tail)
    fresh = analyse(new, family, 1 << 20)
    assert observable(analysis, new) == observable(fresh, new), (data, first, old_count, new_data)


def test_one_input(raw: bytes) -> None:
    provider = atheris.FuzzedDataProvider(raw)
    family = FAMILIES[provider.ConsumeIntInRange(0, len(FAMILIES) - 1)]
    mode = provider.ConsumeIntInRange(0, 2)
    block_size = provider.ConsumeIntInRange(1, 512)
    if mode == 2:
        body = provider.ConsumeBytes(provider.ConsumeIntInRange(0, 2048))
        check_splice(body, family, provider)
        return
    body = provider.ConsumeBytes(provider.remaining_bytes())
    if mode == 0:
        check_one_line(body, family)
    check_store(body, family, block_size)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
