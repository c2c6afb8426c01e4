#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A smoke run of every bench of the workspace, so that none can rot unnoticed: each bench
# target runs once in the test profile (`cargo test --bench '*'`: criterion runs every
# benchmark once in its test mode; the custom mains run a short round; the load bench runs
# VL_BENCH_PAIRS pairs, default 24, for VL_BENCH_SECS seconds, default 1, which is more
# wallets than one address may enrol per minute by default, so its own limits are
# exercised; on three legs by default: SQLite, PostgreSQL on a throwaway server, and the
# 3-instance cluster behind HAProxy). Nothing about speed is asserted; a bench that panics, cannot complete a flow or
# fails more than 5 % of a phase's flows fails. Prints one closing line: `benches: N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
VL_BENCH_PAIRS=${VL_BENCH_PAIRS:-24} VL_BENCH_SECS=${VL_BENCH_SECS:-1} \
  VL_BENCH_BACKENDS=${VL_BENCH_BACKENDS:-sqlite,postgres,cluster} cargo test --workspace --bench '*' --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
ran=$(grep -c '^     Running benches/' "$log")
failed=$(grep -c '^error: test failed, to rerun pass .*--bench ' "$log")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the build failed: no bench ran
fi
echo "benches: $((ran - failed > 0 ? ran - failed : 0)) passed, $failed failed"
exit "$status"
