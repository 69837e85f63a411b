#!/usr/bin/env bash
# Run the whole torture suite, soak runs included, and print one table: scenario, runs, checked, failures.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
REPORT="$(mktemp -t astra-torture-XXXXXX.json)"
ASTRA_SOAK=1 ASTRA_TORTURE_REPORT="$REPORT" "$PY" -m pytest tests/torture -q -p no:cacheprovider "$@"
status=$?
"$PY" - "$REPORT" <<'PYEOF'
import json, sys
rows = json.load(open(sys.argv[1]))
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
rm -f "$REPORT"
exit $status
