#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Size of the UniFFI library apps ship: builds libvistalid_ffi.so with the `release` profile
# (panic = unwind, debug info stripped, symbols kept for UniFFI's library mode), prints its
# size, its loaded sections, and the code each crate adds (function symbol sizes from `nm`,
# grouped by crate), then a plain line `ffi-size: N passed, N failed`. Fails above the
# budget (default 3 MiB; FFI_SIZE_BUDGET in bytes), and when the library exports the test-only
# `Wallet.openForTests` (cargo feature test-support, never in a shipped build).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
budget=${FFI_SIZE_BUDGET:-$((3 * 1024 * 1024))}

cargo build -q --release -p vistalid-ffi --lib
lib=$CARGO_TARGET_DIR/release/libvistalid_ffi.so
size=$(stat -c %s "$lib")

python3 - "$lib" "$size" "$budget" <<'PY'
import collections, re, subprocess, sys
lib, size, budget = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print(f"ffi-size: {lib}: {size} bytes = {size / 2**20:.2f} MiB (budget {budget / 2**20:.2f} MiB)")
sections = subprocess.run(["size", "-A", lib], capture_output=True, text=True, check=True).stdout
loaded = {}
for line in sections.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
        loaded[parts[0]] = int(parts[1])
top = sorted(loaded.items(), key=lambda kv: -kv[1])[:6]
print("ffi-size: sections: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in top))
syms = subprocess.run(["nm", "-S", "-C", "--size-sort", lib], capture_output=True, text=True, check=True).stdout
by_crate = collections.Counter()
for line in syms.splitlines():
    parts = line.split(None, 3)
    if len(parts) < 4 or parts[2] not in "tTwW":
        continue
    name = parts[3].lstrip("<&*( ")
    for prefix in ("mut ", "dyn ", "const "):
        name = name.replace(prefix, "")
    crate = re.split(r"::|<|>| |\[|;", name)[0] or "?"
    if crate in ("core", "alloc", "std") and " as " in parts[3]:
        trait_crate = re.split(r"::|<|>| ", parts[3].split(" as ", 1)[1].lstrip("<&"))[0]
        if trait_crate not in ("core", "alloc", "std"):
            crate = trait_crate
    if crate.startswith("ring_core_"):
        crate = "ring (C/asm)"
    by_crate[crate] += int(parts[1], 16)
code = sum(by_crate.values())
print(f"ffi-size: code by crate (function symbols, {code / 1024:.0f} KiB; generic std code "
      "is counted under core/alloc/std):")
for crate, n in by_crate.most_common(20):
    print(f"  {n / 1024:8.1f} KiB  {crate}")
# The test-only constructor (cargo feature test-support) must not be in the shipped library.
dynamic = subprocess.run(["nm", "-D", lib], capture_output=True, text=True, check=True).stdout
test_only = [l.split()[-1] for l in dynamic.splitlines() if "open_for_tests" in l]
if test_only:
    print(f"ffi-size: the release library exports test-only symbols: {test_only}")
checks = [size <= budget, not test_only]
passed = sum(checks)
print(f"ffi-size: {passed} passed, {len(checks) - passed} failed")
sys.exit(0 if passed == len(checks) else 1)
PY
