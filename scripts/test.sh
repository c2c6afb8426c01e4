#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every check and test of the project: format, lints, Rust tests (unit, vectors,
# end-to-end over loopback, the CLI demo and a pseudo-terminal session), then the binding
# tests from Kotlin (JVM) and Swift (Linux). Installs what it needs first (scripts/install.sh).
# Prints one closing line: `total: N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
step() { echo "== [$((SECONDS - t0))s] $*"; }
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
passed=0 failed=0
# Adds the counts of the "N passed, N failed" / "test result" lines in a log.
count() {
  local p f
  p=$(grep -hoE '(test result: [a-zA-Z]+\. )?[0-9]+ passed' "$1" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
  f=$(grep -hoE '[0-9]+ failed' "$1" | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p)); failed=$((failed + f))
}

step "install"
scripts/install.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (workspace)"
status=0
cargo test --workspace 2>&1 | tee "$logs/rust.log" || status=$?
grep -E '^test result:' "$logs/rust.log" > "$logs/rust.counts" || true
count "$logs/rust.counts"
[ $status -eq 0 ] || { echo "total: $passed passed, $((failed > 0 ? failed : 1)) failed"; exit $status; }

step "Kotlin binding tests (JVM)"
status=0
scripts/test-kotlin.sh 2>&1 | tee "$logs/kotlin.log" || status=$?
grep -E '^kotlin: [0-9]+ passed, [0-9]+ failed' "$logs/kotlin.log" > "$logs/kotlin.counts" || true
count "$logs/kotlin.counts"
[ $status -eq 0 ] || { echo "total: $passed passed, $((failed > 0 ? failed : 1)) failed"; exit $status; }

step "Swift binding tests (Linux)"
status=0
scripts/test-swift.sh 2>&1 | tee "$logs/swift.log" || status=$?
grep -E '^swift: [0-9]+ passed, [0-9]+ failed' "$logs/swift.log" > "$logs/swift.counts" || true
count "$logs/swift.counts"
[ $status -eq 0 ] || { echo "total: $passed passed, $((failed > 0 ? failed : 1)) failed"; exit $status; }

step "done"
echo "total: $passed passed, $failed failed"
