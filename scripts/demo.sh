#!/usr/bin/env bash
# Quick start 1: set up, then check, count and project the bundled sample workspace.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh" || exit 2
WS="$ROOT/examples/workspace"
ASTRA="$ROOT/.venv/bin/astra-ls"
echo "== astra-ls check examples/workspace (the sample has broken lines on purpose)"
"$ASTRA" check "$WS"
status=$?
echo "== astra-ls count conversation"
"$ASTRA" count conversation --workspace "$WS"
echo "== astra-ls project agent-planner --at-line 5 (time travel)"
"$ASTRA" project agent-planner --workspace "$WS" --at-line 5
exit $status
