#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Contract test of the server's HTTP API against its own OpenAPI document (/openapi.json)
# with Schemathesis, on a live `vistalid-server serve` bound to loopback with a temporary
# database and a registered relying party (so HTTP Basic can be given).
#
#   scripts/schemathesis.sh [max-examples]      (default 20 per operation)
#
# Checks: not_a_server_error, response_schema_conformance, status_code_conformance,
# content_type_conformance. Bounded: a per-request timeout and a wall-clock cap
# (SCHEMATHESIS_TIMEOUT, default 600 s). Schemathesis is installed with pip into a venv
# outside the repository (VISTALID_VENV, default /var/cache/vistalid-toolchains/venv, or
# ~/.cache/vistalid/venv when that is not writable). Schemathesis keeps its crash cache in
# `.schemathesis/` of its working folder: it runs in target/schemathesis, so nothing it writes
# lands in the repository. Exits non-zero on any failure.
set -euo pipefail

examples="${1:-20}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

venv="${VISTALID_VENV:-/var/cache/vistalid-toolchains/venv}"
if ! mkdir -p "$(dirname "$venv")" 2>/dev/null || ! [ -w "$(dirname "$venv")" ]; then
    venv="$HOME/.cache/vistalid/venv"
fi
if ! [ -x "$venv/bin/schemathesis" ]; then
    echo "schemathesis.sh: installing schemathesis into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet "schemathesis>=4,<5"
fi

# The workspace's test build holds the binary (its integration tests run it): after
# `cargo test --workspace` nothing is built again, where `cargo build -p vistalid-server`
# would build the dependencies again with that narrower selection's features.
cargo test --quiet --workspace --no-run
bin="$CARGO_TARGET_DIR/debug/vistalid-server"

work="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
db="$work/server.sqlite"
# Generous limits: Schemathesis sends many requests per minute from one address; the
# limits themselves are tested in server/tests/limits.rs.
cat >"$work/config.json" <<JSON
{ "ciba_per_client_per_min": 100000, "enrol_per_ip_per_min": 100000,
  "max_pending_per_account": 100000, "poll_interval_secs": 0, "max_wait_secs": 1 }
JSON

creds="$("$bin" --db "$db" --config "$work/config.json" add-client "Schemathesis RP")"
client_id="$(sed -n 's/^client_id=//p' <<<"$creds")"
client_secret="$(sed -n 's/^client_secret=//p' <<<"$creds")"
"$bin" --db "$db" --config "$work/config.json" add-practitioner 10101010101 Jeanne Martin >/dev/null

"$bin" --db "$db" --config "$work/config.json" serve --bind "127.0.0.1:$port" --issuer "$base" \
    >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
        "$base/openapi.json" >/dev/null 2>&1; then break; fi
    sleep 0.1
done

status=0
cache="$CARGO_TARGET_DIR/schemathesis"
mkdir -p "$cache"
(cd "$cache" && timeout "${SCHEMATHESIS_TIMEOUT:-600}" "$venv/bin/schemathesis" run "$base/openapi.json" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --max-examples "$examples" \
    --request-timeout 15 \
    --auth "$client_id:$client_secret" \
    --seed 1 \
    --workers 1 \
    --no-color) || status=$?
# The plain line CI and scripts/test.sh count (the whole contract run counts as one).
if [ "$status" -eq 0 ]; then echo "schemathesis: 1 passed, 0 failed"; else echo "schemathesis: 0 passed, 1 failed"; fi
if [ "$status" -ne 0 ]; then
    echo "schemathesis.sh: FAILED (exit $status); server log tail:" >&2
    tail -n 30 "$work/server.log" >&2
fi
exit "$status"
