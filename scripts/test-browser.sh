#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Browser tests (tests/browser): Playwright (playwright-core) driving Debian's Chromium
# headless, with axe-core on every page state.
#   1. scripts/install-browser.sh (Chromium, npm ci; fast when already installed);
#   2. cargo builds vistalid-testbed (the reference server, with its test-only phone) and the
#      vistalid CLI (its QR decoder reads QR codes off screenshots);
#   3. starts the testbed with `--phone 20` (fixture file in VISTALID_FIXTURE) and one shared
#      Chromium (VISTALID_BROWSER_WS); both stop on exit;
#   4. runs `node --test` over every tests/browser/**/*.test.mjs (add a file and it runs; or
#      over the files given as arguments, relative to tests/browser), 4
#      files at a time (they mostly wait on the phone and the pages; each file has phone
#      accounts of its own, which selftest/accounts.test.mjs checks).
# Screenshots and axe results land in target/browser-screenshots/ (ignored by git).
# Prints `browser: N passed, N failed[, N skipped]` and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
t0=$SECONDS
step() { echo "== [test-browser $((SECONDS - t0))s] $*"; }
fail() { echo "$1" >&2; echo "browser: 0 passed, 1 failed"; exit 1; }

step "install (Chromium, npm packages)"
scripts/install-browser.sh || fail "install-browser.sh failed"

step "cargo build vistalid-testbed, vistalid"
# From the workspace's test build (the binaries' own integration tests run them): nothing to
# build after `cargo test --workspace`, where `cargo build -p ...` would build the
# dependencies again with a narrower selection's features.
cargo test -q --workspace --no-run || fail "cargo build failed"
export VISTALID_CLI=$CARGO_TARGET_DIR/debug/vistalid

RUN=$(mktemp -d)
TB_PID='' BR_PID=''
cleanup() {
  exec 3>&- 4>&- || true
  [ -n "$TB_PID" ] && { wait "$TB_PID" 2>/dev/null || true; }
  [ -n "$BR_PID" ] && { wait "$BR_PID" 2>/dev/null || true; }
  rm -rf "$RUN"
}
trap cleanup EXIT

# Both serve until their standard input (descriptors 3 and 4 here) closes.
step "start vistalid-testbed --phone 20 and the shared Chromium"
mkfifo "$RUN/testbed.in" "$RUN/browser.in"
"$CARGO_TARGET_DIR/debug/vistalid-testbed" --fixture "$RUN/fixture.json" --count 2 --phone 20 \
  <"$RUN/testbed.in" &
TB_PID=$!
exec 3>"$RUN/testbed.in"
node tests/browser/lib/browser-server.mjs "$RUN/browser.ws" <"$RUN/browser.in" &
BR_PID=$!
exec 4>"$RUN/browser.in"
for _ in $(seq 300); do
  [ -f "$RUN/fixture.json" ] && [ -f "$RUN/browser.ws" ] && break
  kill -0 "$TB_PID" 2>/dev/null || fail "vistalid-testbed exited"
  kill -0 "$BR_PID" 2>/dev/null || fail "the browser server exited"
  sleep 0.1
done
[ -f "$RUN/fixture.json" ] || fail "vistalid-testbed did not start"
[ -f "$RUN/browser.ws" ] || fail "Chromium did not start"
export VISTALID_FIXTURE=$RUN/fixture.json
VISTALID_BROWSER_WS=$(cat "$RUN/browser.ws")
export VISTALID_BROWSER_WS

if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(cd tests/browser && find . -name node_modules -prune -o -name '*.test.mjs' -print | sort)
fi
[ ${#files[@]} -gt 0 ] || fail "no tests/browser/**/*.test.mjs"
step "node --test (${#files[@]} files)"
rc=0
(cd tests/browser && node --test --test-timeout=120000 --test-concurrency=4 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$RUN/results.tap" \
  "${files[@]}") || rc=$?

# Count from the TAP summary (the spec reporter's lines are for people).
tap() { sed -n "s/^# $1 \([0-9][0-9]*\)$/\1/p" "$RUN/results.tap" | tail -1; }
passed=$(tap pass) failed=$(tap fail) cancelled=$(tap cancelled) skipped=$(tap skipped)
passed=${passed:-0} failed=$((${failed:-0} + ${cancelled:-0})) skipped=${skipped:-0}
# A runner that failed without a failing test (a file that did not load) still fails.
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
step "done; screenshots and axe results in target/browser-screenshots/"
echo "browser: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
