# SPDX-License-Identifier: Apache-2.0
# Sourced by test-kotlin.sh and test-swift.sh: starts vistalid-testbed (the reference server
# on loopback with provisioned accounts) and sets TB (its folder, fixture at
# $TB/fixture.json). It serves until descriptor 3 closes; an EXIT trap stops it.
# Needs: CARGO_TARGET_DIR, and LANG_NAME for the failure line CI reads.
cargo build -q -p vistalid-e2e --bin vistalid-testbed
TB=$(mktemp -d)
mkfifo "$TB/stdin"
"$CARGO_TARGET_DIR/debug/vistalid-testbed" --fixture "$TB/fixture.json" <"$TB/stdin" &
TB_PID=$!
exec 3>"$TB/stdin"
stop_testbed() {
  exec 3>&- || true
  wait "$TB_PID" 2>/dev/null || true
  rm -rf "$TB"
}
trap stop_testbed EXIT
for _ in $(seq 100); do [ -f "$TB/fixture.json" ] && break; sleep 0.1; done
if [ ! -f "$TB/fixture.json" ]; then
  echo "vistalid-testbed did not start" >&2
  echo "$LANG_NAME: 0 passed, 1 failed"
  exit 1
fi
