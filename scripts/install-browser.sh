#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Installs what the browser tests (tests/browser, scripts/test-browser.sh) need:
#   chromium  Debian's package (/usr/bin/chromium), from apt-get when missing. Playwright
#             launches it through `executablePath`: `npx playwright install` downloads a
#             browser build of its own, which this network does not allow.
#   npm       playwright-core and axe-core at the versions pinned by tests/browser/package.json
#             and package-lock.json, with `npm ci` into tests/browser/node_modules.
#
# Usage: scripts/install-browser.sh
# Needs root only when Chromium is missing (apt-get). Idempotent: `npm ci` is skipped when
# node_modules holds a stamp naming the lock file's hash, so a rerun takes well under a second;
# a changed lock file, or an install killed before the stamp, is redone from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."

BROWSER=tests/browser
t0=$SECONDS
step() { echo "== [install-browser $((SECONDS - t0))s] $*"; }
export DEBIAN_FRONTEND=noninteractive

if [ -x /usr/bin/chromium ]; then
  step "chromium: present ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
else
  [ "$(id -u)" = 0 ] || { echo "install-browser.sh: apt-get install chromium needs root" >&2; exit 1; }
  step "chromium: apt-get install chromium"
  apt-get update -qq
  # Recommends stay off: fonts come as dependencies; the rest (desktop integration) is unused.
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  step "chromium: ready ($(/usr/bin/chromium --version))"
fi

command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "install-browser.sh: node and npm are required (Node 20 or later)" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "install-browser.sh: Node 20 or later is required (found $(node --version))" >&2; exit 1; }

stamp="$BROWSER/node_modules/.vistalid-lock-$(sha256sum "$BROWSER/package-lock.json" | cut -c1-16)"
if [ -f "$stamp" ]; then
  step "npm: node_modules matches package-lock.json"
else
  step "npm ci (playwright-core, axe-core)"
  # --ignore-scripts: neither package needs an install script, and none may fetch a browser.
  (cd "$BROWSER" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  touch "$stamp"
  step "npm: ready"
fi
