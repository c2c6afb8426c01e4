#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every check and test of the project: format, lints, rustdoc (warnings denied), cargo
# deny (scripts/deny.sh), a build with the declared rust-version, Rust tests (unit, vectors,
# end-to-end over loopback, the CLI demo and a pseudo-terminal session), the server and
# end-to-end suites again on a throwaway PostgreSQL (scripts/pg.sh), the end-to-end suite
# through a 3-instance cluster behind HAProxy and its fault tests (scripts/cluster.sh), a smoke run of every
# bench (scripts/bench-smoke.sh), then the binding
# tests from Kotlin (JVM) and Swift (Linux), the browser tests (Playwright driving Chromium,
# axe-core), the size budget of the release FFI library,
# schemathesis against a live server, and a short
# run of every fuzz target (FUZZ_SECS seconds each, default 30). Installs what it needs first (scripts/install.sh).
# Prints one closing line: `total: N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
# A clean CI run builds everything once: incremental caches would only cost disk there.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
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

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "cargo deny (licences, duplicates, sources; advisories when a database is at hand)"
scripts/deny.sh

# The declared rust-version must build: the library and binaries with that toolchain (tests
# and benches may use newer features through their dev-dependencies).
msrv=$(sed -n 's/^rust-version = "\([0-9.]*\)".*/\1/p' Cargo.toml)
step "cargo +$msrv check (the declared rust-version)"
cargo "+$msrv" check --workspace --quiet

# Runs one suite, keeps its log, adds the counts of the lines matching PATTERN, and stops
# the whole run with the closing line if the suite failed.
suite() {
  local name=$1 pattern=$2
  shift 2
  step "$name"
  local status=0
  "$@" 2>&1 | tee "$logs/suite.log" || status=$?
  grep -E "$pattern" "$logs/suite.log" > "$logs/suite.counts" || true
  count "$logs/suite.counts"
  if [ $status -ne 0 ]; then
    echo "total: $passed passed, $((failed > 0 ? failed : 1)) failed"
    exit $status
  fi
}

suite "cargo test (workspace)" '^test result:' cargo test --workspace
# The server and end-to-end suites again on PostgreSQL (issue 19): a throwaway server on
# loopback (scripts/pg.sh), stopped when they end or the run stops.
export VL_PG_STATE="$logs/pg.state"
trap 'scripts/pg.sh stop >/dev/null 2>&1 || true; rm -rf "$logs"' EXIT
on_postgres() {
  local url status=0
  url=$(scripts/pg.sh start)
  VL_TEST_DATABASE_URL=$url scripts/test-packages.sh vistalid-server vistalid-e2e || status=$?
  scripts/pg.sh stop
  return $status
}
suite "cargo test on PostgreSQL (server, end-to-end)" '^test result:' on_postgres
# The end-to-end suite again through a 3-instance cluster (issue 19): three in-process
# instances on one PostgreSQL schema behind a real HAProxy (tests/cluster.rs), then the fault
# tests, ignored elsewhere, on scripts/cluster.sh's real processes (kill -9 under load, a
# PostgreSQL restart, a slow database), with the workspace build's target/debug/vistalid-server.
on_cluster() {
  local url status=0
  url=$(scripts/pg.sh start)
  VL_TEST_CLUSTER=1 VL_TEST_DATABASE_URL=$url scripts/test-packages.sh vistalid-e2e || status=$?
  scripts/pg.sh stop
  [ $status -eq 0 ] || return $status
  scripts/test-packages.sh vistalid-e2e -- --ignored --test-threads 1 fault_
}
suite "cargo test through a 3-instance cluster (end-to-end, faults)" '^test result:' on_cluster
suite "benches: one smoke run of each (no speed asserted)" '^benches: [0-9]+ passed, [0-9]+ failed' \
  scripts/bench-smoke.sh
suite "Kotlin binding tests (JVM)" '^kotlin: [0-9]+ passed, [0-9]+ failed' scripts/test-kotlin.sh
suite "Swift binding tests (Linux)" '^swift: [0-9]+ passed, [0-9]+ failed' scripts/test-swift.sh
suite "browser tests (Playwright + Chromium, axe-core)" '^browser: [0-9]+ passed, [0-9]+ failed' \
  scripts/test-browser.sh
suite "size of the release FFI library (budget 3 MiB)" '^ffi-size: [0-9]+ passed, [0-9]+ failed' \
  scripts/ffi-size.sh
suite "API contract: schemathesis against a live server" '^schemathesis: [0-9]+ passed, [0-9]+ failed' \
  scripts/schemathesis.sh
suite "fuzzing: every target for ${FUZZ_SECS:-30} s" '^fuzz: [0-9]+ passed, [0-9]+ failed' \
  scripts/fuzz.sh "${FUZZ_SECS:-30}"

step "done"
echo "total: $passed passed, $failed failed"
