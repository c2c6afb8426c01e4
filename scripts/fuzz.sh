#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every cargo-fuzz (libFuzzer) target of fuzz/ for a bounded time.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Default 30 s per target (what CI uses); all targets unless some are named. Uses the
# repository's pinned STABLE toolchain with RUSTC_BOOTSTRAP=1 (cargo-fuzz passes -Z flags:
# sancov passes, sanitizer), so no nightly toolchain is needed. Installs cargo-fuzz from
# crates.io when missing.
#
# Environment:
#   FUZZ_SANITIZER   none (default: the code under test is safe Rust, and this keeps
#                    throughput on small machines) or address.
#   FUZZ_TARGET_DIR  build directory (default fuzz/target, outside the main workspace's).
#   FUZZ_JOBS        parallel libFuzzer workers per target (default 1).
#
# The checked-in seeds (fuzz/corpus/<target>/) are read only: new inputs go to a scratch
# corpus under fuzz/corpus-tmp/ (ignored by git). A crash leaves its input in
# fuzz/artifacts/<target>/ and makes the script exit non-zero, after all targets ran.
set -euo pipefail

secs="${1:-30}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
sanitizer="${FUZZ_SANITIZER:-none}"
target_dir="${FUZZ_TARGET_DIR:-$root/fuzz/target}"
jobs="${FUZZ_JOBS:-1}"

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir "$root/fuzz")
fi

echo "fuzz.sh: building ${#targets[@]} targets (sanitizer $sanitizer)" >&2
cargo fuzz build --fuzz-dir "$root/fuzz" --target-dir "$target_dir" \
    -O --debug-assertions --sanitizer "$sanitizer" >&2

failed=()
for t in "${targets[@]}"; do
    scratch="$root/fuzz/corpus-tmp/$t"
    mkdir -p "$scratch" "$root/fuzz/corpus/$t" "$root/fuzz/artifacts/$t"
    log="$root/fuzz/corpus-tmp/$t.log"
    echo "fuzz.sh: $t for ${secs}s" >&2
    if cargo fuzz run --fuzz-dir "$root/fuzz" --target-dir "$target_dir" \
        -O --debug-assertions --sanitizer "$sanitizer" --jobs "$jobs" "$t" \
        "$scratch" "$root/fuzz/corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 >"$log" 2>&1; then
        grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb' "$log" \
            | sed "s/^/  $t: /" >&2 || true
    else
        echo "fuzz.sh: $t FAILED (log: $log)" >&2
        tail -n 40 "$log" >&2
        failed+=("$t")
    fi
done

# The plain line CI and scripts/test.sh count (one per target).
echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz.sh: failures in: ${failed[*]}; inputs in fuzz/artifacts/" >&2
    exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets ran ${secs}s without a crash" >&2
