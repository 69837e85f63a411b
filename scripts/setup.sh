#!/usr/bin/env bash
# Creates .venv (if missing) and installs astra-ls with its development tools into it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  "$PYTHON" -m venv "$ROOT/.venv"
fi
"$ROOT/.venv/bin/python" -m pip install -q --upgrade pip
"$ROOT/.venv/bin/python" -m pip install -q -e "$ROOT[dev]"
# The editable install's own bytecode, which PYTHONDONTWRITEBYTECODE would otherwise never let be written:
# without it every astra-ls process compiles its source first.
"$ROOT/.venv/bin/python" -m compileall -q "$ROOT/server/astra_ls" >/dev/null
