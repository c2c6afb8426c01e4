#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Swift bindings, tested on Linux: builds the host library, generates the Swift bindings into
# ios/Sources (VistalidFFI.h, VistalidBindings.swift; not committed), copies the package and
# libvistalid_ffi.so into the Debian 13 chroot made by scripts/install-toolchains.sh swift,
# and runs `swift test` (XCTest) there. Every test file in ios/Tests/VistalidTests runs;
# nothing to register. The flow tests (FlowTests.swift) talk to a reference server on
# loopback: this script starts `vistalid-testbed` (tests/src/bin/testbed/main.rs) on the host,
# copies its fixture file into the chroot (which shares the host network: only the mount and
# pid namespaces are new) and passes it in VISTALID_FIXTURE; the testbed stops on exit.
# Prints `swift: N passed, N failed`; exits non-zero on any failure.
# Needs root (chroot, unshare). The package's .build folder is kept in the chroot between
# runs, so only what changed is recompiled.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CHROOT=${VISTALID_TOOLCHAINS:-/var/cache/vistalid-toolchains}/trixie
# Inside the chroot, one folder per checkout, so runs from two checkouts (worktrees) at once
# never share a package or a library file.
WORK=/srv/vistalid/$(printf %s "$ROOT" | sha256sum | cut -c1-12)
t0=$SECONDS
step() { echo "== [test-swift $((SECONDS - t0))s] $*"; }

if [ ! -f "$CHROOT/.vistalid-ready" ]; then
  echo "no Swift toolchain at $CHROOT: run scripts/install-toolchains.sh swift" >&2
  echo "swift: 0 passed, 1 failed"
  exit 1
fi

step "cargo build (uniffi-bindgen first, then the library with test-support, without cli)"
cargo build -q -p vistalid-ffi --features cli --bin uniffi-bindgen
# test-support: the tests open wallets with Wallet.openForTests (tiny Argon2); the library
# apps ship is built without it.
cargo build -q -p vistalid-ffi --lib --features test-support
LIB=$CARGO_TARGET_DIR/debug/libvistalid_ffi.so

step "uniffi-bindgen generate --language swift"
GEN=$CARGO_TARGET_DIR/uniffi-swift
rm -rf "$GEN"
"$CARGO_TARGET_DIR/debug/uniffi-bindgen" generate --library "$LIB" --language swift \
  --no-format --out-dir "$GEN" >/dev/null
cp "$GEN/VistalidFFI.h" ios/Sources/VistalidFFI/
cp "$GEN/VistalidBindings.swift" ios/Sources/VistalidBindings/

step "copy the package and the library into the chroot"
PKG=$CHROOT$WORK/pkg
mkdir -p "$PKG" "$CHROOT$WORK/lib"
find "$PKG" -mindepth 1 -maxdepth 1 ! -name .build -exec rm -rf {} +
tar -C ios --exclude=.build -cf - . | tar -C "$PKG" -xf -
cp "$LIB" "$CHROOT$WORK/lib/"

step "start vistalid-testbed (reference server on loopback)"
LANG_NAME=swift
# shellcheck source=scripts/testbed.sh
. scripts/testbed.sh
cp "$TB/fixture.json" "$CHROOT$WORK/fixture.json"

step "swift test (XCTest) in the chroot"
LOG=$CARGO_TARGET_DIR/swift-test.log
rc=0
unshare --mount --pid --fork --mount-proc="$CHROOT/proc" chroot "$CHROOT" \
  env LD_LIBRARY_PATH=$WORK/lib HOME=/root VISTALID_FIXTURE=$WORK/fixture.json sh -c \
  "cd $WORK/pkg && swift test --disable-swift-testing -Xlinker -L$WORK/lib" 2>&1 | tee "$LOG" ||
  rc=$?

# XCTest's last "Executed N tests, with M failures" line is the overall one.
summary=$(grep -E 'Executed [0-9]+ tests?, with [0-9]+ failures?' "$LOG" | tail -n1 || true)
if [ -n "$summary" ]; then
  total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
  failed=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$summary")
else
  total=0 failed=0
fi
passed=$((total - failed))
# A build that failed before running any test counts as a failure.
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
step "done"
echo "swift: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
