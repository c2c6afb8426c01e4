#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what the build and the tests need and is not in the machine image: the Kotlin
# build (Maven artefacts), the Swift toolchain (Debian 13 chroot), Chromium and the browser
# tests' npm packages (playwright-core, axe-core), PostgreSQL and HAProxy (Debian's
# packages), cargo-deny (from
# crates.io) and the Rust toolchain of the declared rust-version (the MSRV check). Idempotent:
# tools already present are reused (caches live outside the repository), so only a new
# machine pays for them (cargo-deny: about 5 minutes of compiling; the MSRV toolchain: about
# 10 seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo is required (rustup)" >&2; exit 1; }
scripts/install-toolchains.sh all
scripts/install-browser.sh

# PostgreSQL and HAProxy, Debian's packages (issue 19): scripts/pg.sh runs a throwaway
# PostgreSQL for the test suites that rerun on it; HAProxy fronts the test cluster.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v haproxy >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "install.sh: apt-get install postgresql haproxy needs root" >&2; exit 1; }
  echo "== [install] apt-get install postgresql haproxy"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql haproxy >/dev/null
fi

# cargo-deny, pinned (scripts/deny.sh relies on this version's database layout), installed
# beside the other toolchains so a clean clone on a machine with warm caches reuses it.
deny_version=0.20.2
deny_root=${VISTALID_TOOLCHAINS:-/var/cache/vistalid-toolchains}/cargo-deny-$deny_version
if [ ! -x "$deny_root/bin/cargo-deny" ]; then
  echo "== [install] cargo install cargo-deny $deny_version (crates.io) into $deny_root"
  cargo install --quiet --locked --root "$deny_root" cargo-deny --version "$deny_version"
fi

# The toolchain of the workspace's rust-version, for `cargo +VERSION check` (scripts/test.sh).
msrv=$(sed -n 's/^rust-version = "\([0-9.]*\)".*/\1/p' Cargo.toml)
if ! rustup run "$msrv" rustc --version >/dev/null 2>&1; then
  echo "== [install] rustup toolchain install $msrv (the declared rust-version)"
  rustup toolchain install "$msrv" --profile minimal --no-self-update
fi
