#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A throwaway PostgreSQL server on loopback for the test suites (issue 19).
#
#   scripts/pg.sh start   initdb in a fresh temporary directory, start on a free port
#                         (TCP on 127.0.0.1 only; the socket in the same directory)
#   scripts/pg.sh url     print the URL of the running server (for VL_TEST_DATABASE_URL)
#   scripts/pg.sh restart [SECS]  stop it (pg_ctl stop -m fast: clients are cut), stay down
#                         SECS seconds (default 0), start it again on the same port
#   scripts/pg.sh stop    stop it and delete its directory
#
# The server is Debian's `postgresql` (scripts/install.sh), binaries under
# /usr/lib/postgresql/*/bin. PostgreSQL refuses to run as root: as root the server runs as
# the `postgres` user the package creates. The state (directory, port) is kept in
# ${VL_PG_STATE:-/tmp/vistalid-pg.state}. Its data is never kept: fsync is off.
#
# VL_PG_TLS=DIR at `start`: TLS only (ssl=on with DIR/server.crt and DIR/server.key, and
# pg_hba.conf refusing every connection over TCP without TLS), for the tests of the server's
# sslmode handling; kept across `restart`.
set -euo pipefail

STATE="${VL_PG_STATE:-/tmp/vistalid-pg.state}"

bin_dir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -n "$d" && -x "$d/initdb" ]] || {
    echo "pg.sh: PostgreSQL not installed (scripts/install.sh installs Debian's postgresql)" >&2
    exit 1
  }
  echo "$d"
}

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Starts the server of $DIR on $PORT (both set by the caller).
start_server() {
  local tls=""
  [[ "${TLS:-0}" = 1 ]] && tls="-c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
  as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 -c shared_buffers=128MB $tls" \
    start >/dev/null
}

# TLS only: the certificate and key of $VL_PG_TLS in the data directory, and TCP
# connections without TLS refused.
set_up_tls() {
  install -m 0644 "$VL_PG_TLS/server.crt" "$DIR/data/server.crt"
  install -m 0600 "$VL_PG_TLS/server.key" "$DIR/data/server.key"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$DIR/data/server.crt" "$DIR/data/server.key"
  printf '%s\n' 'local all all trust' 'hostssl all all 127.0.0.1/32 trust' \
    'hostnossl all all 127.0.0.1/32 reject' >"$DIR/data/pg_hba.conf"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

case "${1:-}" in
  start)
    if [[ -f "$STATE" ]]; then
      echo "pg.sh: already started ($STATE); stop it first" >&2
      exit 1
    fi
    BIN=$(bin_dir)
    DIR=$(mktemp -d /tmp/vistalid-pg.XXXXXX)
    PORT=$(free_port)
    [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$DIR"
    as_owner "$BIN/initdb" -D "$DIR/data" -U vistalid --auth=trust -E UTF8 --no-sync >"$DIR/initdb.log" 2>&1 || {
      cat "$DIR/initdb.log" >&2; exit 1; }
    TLS=0
    if [[ -n "${VL_PG_TLS:-}" ]]; then
      set_up_tls
      TLS=1
    fi
    start_server || { cat "$DIR/server.log" >&2; exit 1; }
    printf 'DIR=%s\nPORT=%s\nBIN=%s\nTLS=%s\n' "$DIR" "$PORT" "$BIN" "$TLS" >"$STATE"
    echo "postgres://vistalid@127.0.0.1:$PORT/postgres"
    ;;
  url)
    # shellcheck disable=SC1090
    source "$STATE"
    echo "postgres://vistalid@127.0.0.1:$PORT/postgres"
    ;;
  restart)
    # shellcheck disable=SC1090
    source "$STATE"
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null
    sleep "${2:-0}"
    start_server || { cat "$DIR/server.log" >&2; exit 1; }
    ;;
  stop)
    [[ -f "$STATE" ]] || exit 0
    # shellcheck disable=SC1090
    source "$STATE"
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$DIR" "$STATE"
    ;;
  *)
    echo "usage: scripts/pg.sh start|url|restart [SECS]|stop" >&2
    exit 2
    ;;
esac
