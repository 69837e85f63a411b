#!/usr/bin/env bash
# Run the whole torture suite, soak runs included, and print one table: scenario, runs, checked, failures.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
REPORT="$(mktemp -t astra-torture-XXXXXX.json)"
ASTRA_SOAK=1 ASTRA_TORTURE_REPORT="$REPORT" "$PY" -m pytest tests/torture -q -p no:cacheprovider "$@"
status=$?
# Coverage-guided fuzzing of the reader's entry points, when atheris is installed (ASTRA_FUZZ_SECONDS, default 60).
FUZZ_LOG="$(mktemp -t astra-fuzz-XXXXXX.log)"
FUZZ_DIR="$(mktemp -d -t astra-fuzz-XXXXXX)"
fuzz_status=skipped
if "$PY" -c "import atheris" 2>/dev/null; then
  PYTHONPATH="server${PYTHONPATH:+:$PYTHONPATH}" "$PY" tests/fuzz/fuzz_reader.py \
    -max_total_time="${ASTRA_FUZZ_SECONDS:-60}" -dict=tests/fuzz/json.dict -artifact_prefix="$FUZZ_DIR/" \
    "$FUZZ_DIR" tests/fuzz/seeds >"$FUZZ_LOG" 2>&1
  fuzz_status=$?
  [ "$fuzz_status" -eq 0 ] || status=1
fi
"$PY" - "$REPORT" "$fuzz_status" "$FUZZ_LOG" <<'PYEOF'
import json, re, sys
rows = json.load(open(sys.argv[1])) if open(sys.argv[1]).read().strip() else []
fuzz_status, log = sys.argv[2], open(sys.argv[3], errors="replace").read()
done = re.findall(r"Done (\d+)", log)
rows.append({"scenario": "fuzz: reader (atheris)", "test": "tests/fuzz/fuzz_reader.py",
             "checked": "check_line, block scanner, splice: no crash, lines accounted once, malformed iff RFC 8259",
             "runs": int(done[-1]) if done else 0,
             "outcome": {"skipped": "skipped", "0": "passed"}.get(fuzz_status, "failed"),
             "failure": "\n".join(l for l in log.splitlines() if "Error" in l or "==" in l)[-300:]})
by = {}
for r in rows:
    key = r["scenario"]
    s = by.setdefault(key, {"tests": 0, "runs": 0, "failures": 0, "xfail": 0, "skipped": 0, "checked": []})
    s["tests"] += 1
    s["runs"] += r["runs"]
    s["failures"] += r["outcome"] in ("failed",) or r["outcome"].startswith("error")
    s["skipped"] += r["outcome"] == "skipped"
    s["checked"].append(r["checked"])
print()
print(f"{'scenario':44} {'tests':>5} {'runs':>7} {'fail':>5} {'skip':>5}  checked")
print("-" * 150)
for name, s in sorted(by.items()):
    first = s["checked"][0][:80]
    print(f"{name:44} {s['tests']:>5} {s['runs']:>7} {s['failures']:>5} {s['skipped']:>5}  {first}")
    for more in s["checked"][1:]:
        print(f"{'':44} {'':>5} {'':>7} {'':>5} {'':>5}  {more[:80]}")
bad = [r for r in rows if r["outcome"] == "failed" or r["outcome"].startswith("error")]
for r in bad:
    print(f"FAILED {r['scenario']} :: {r['test']}: {r['failure']}")
PYEOF
rm -rf "$REPORT" "$FUZZ_LOG" "$FUZZ_DIR"
exit $status
