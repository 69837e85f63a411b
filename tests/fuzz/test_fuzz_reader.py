"""The reader's atheris harness runs (briefly) with the normal suite: a fixed seed, a bounded number of inputs.

Longer runs: `python tests/fuzz/fuzz_reader.py -max_total_time=600` (scripts/torture.sh runs it for a minute).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RUNS = int(os.environ.get("ASTRA_FUZZ_RUNS", "2000"))
HANG_S = 600  # a harness still running after this long is hung: the test fails with TimeoutExpired


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None,
                    reason="atheris is not installed (pip install -e '.[dev]'); the reader is not fuzzed")
def test_the_reader_survives_coverage_guided_fuzzing(tmp_path: Path) -> None:
    """check_line, the block scanner and splice keep their invariants over fuzzed input (see fuzz_reader.py)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    server = str(HERE.parents[1] / "server")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([server, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, str(HERE / "fuzz_reader.py"), f"-atheris_runs={RUNS}", "-seed=6",
         f"-dict={HERE / 'json.dict'}", f"-artifact_prefix={tmp_path}/", str(corpus), str(HERE / "seeds")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=HANG_S, check=False)
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
    assert done.returncode == 0 and not crashes, \
        f"fuzzing found a failing input {crashes} (rerun: python {HERE / 'fuzz_reader.py'} <file>):\n" \
        + "\n".join(done.stderr.splitlines()[-40:])
    assert "Done" in done.stderr, done.stderr[-2000:]
