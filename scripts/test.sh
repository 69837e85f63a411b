#!/usr/bin/env bash
# Quick start 2: set up everything from nothing and run every test: lint, types (also as on Windows and
# macOS), the Python suites (engine, CLI, language server, torture; the store, CLI and server once more
# without POSIX-only calls: scripts/test-portable.sh) and the VS Code extension (unit and end-to-end).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
step() { printf '\n== %s\n' "$*"; }

step "setup: Python environment"
scripts/setup.sh

step "ruff"
.venv/bin/ruff check server tests bench
step "mypy (strict)"
.venv/bin/mypy server/astra_ls
step "mypy (strict) as on Windows and macOS"
.venv/bin/mypy --platform win32 server/astra_ls
.venv/bin/mypy --platform darwin server/astra_ls

step "pytest"
.venv/bin/pytest -q -p no:cacheprovider
step "pytest, portable mode (the store, CLI and language server without POSIX-only calls)"
scripts/test-portable.sh

if [ "${ASTRA_SKIP_EXTENSION:-0}" != "1" ]; then
  step "setup: extension toolchain"
  bash scripts/e2e-setup.sh
  cd client-extension
  npm ci --no-audit --no-fund
  step "extension: tsc + eslint"
  npm run check
  step "extension: unit tests"
  npm test
  step "extension: the universal VSIX and one per platform (each with its wheels)"
  ASTRA_PYTHON="$ROOT/.venv/bin/python" npm run package -- --all-targets
  step "distribution: VSIX targets, complete wheel sets, offline install"
  ASTRA_REQUIRE_VSIX=1 "$ROOT/.venv/bin/pytest" -q -p no:cacheprovider "$ROOT/tests/distribution"
  step "extension: end-to-end in code-server, linux-x64 VSIX, server installed offline from its wheels"
  ASTRA_E2E_TARGET=linux-x64 ASTRA_PYTHON="$ROOT/.venv/bin/python" npm run e2e:run
fi
