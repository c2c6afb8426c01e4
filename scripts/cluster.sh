#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A test cluster on loopback (issue 19): 3 `vistalid-server` processes sharing one PostgreSQL
# and one key-encryption key, behind HAProxy (Debian's `haproxy`, scripts/install.sh).
#
#   scripts/cluster.sh start          start PostgreSQL (scripts/pg.sh; or use
#                                     VL_CLUSTER_DATABASE_URL), the 3 instances and HAProxy;
#                                     prints the front URL once every instance is ready
#   scripts/cluster.sh url            print the front URL (HAProxy)
#   scripts/cluster.sh stop           stop HAProxy, the instances (SIGTERM), the PostgreSQL it
#                                     started, and delete the cluster's directory
#   scripts/cluster.sh kill N         SIGKILL instance N (1..3): no graceful stop
#   scripts/cluster.sh revive N       start instance N again on its port (after kill or stop)
#   scripts/cluster.sh stop-instance N  SIGTERM instance N and wait for it to exit
#   scripts/cluster.sh restart-db [SECS]  restart the PostgreSQL it started (pg_ctl stop -m
#                                     fast, SECS seconds down, default 0, then start)
#   scripts/cluster.sh status         one line per instance: pid, alive, /ready status
#   scripts/cluster.sh instance-url N the address of instance N itself (not through HAProxy)
#   scripts/cluster.sh log N          the path of instance N's log (JSON lines); `log haproxy`
#   scripts/cluster.sh db-url         the database URL the instances use
#   scripts/cluster.sh dir            the cluster's directory (configs, key file, logs)
#   scripts/cluster.sh haproxy-config DIR FRONT_PORT PORT...
#                                     print the HAProxy configuration for those ports (the
#                                     end-to-end harness runs its own HAProxy with it)
#
# Environment:
#   VL_CLUSTER_STATE     state file (default /tmp/vistalid-cluster.state)
#   VL_CLUSTER_BIN       the server binary (default target/debug/vistalid-server)
#   VL_CLUSTER_BUILD=1   build that binary first (cargo build -p vistalid-server)
#   VL_CLUSTER_DATABASE_URL  an existing PostgreSQL to use instead of starting one
#   VL_CLUSTER_SETTINGS  extra keys for every instance's JSON config, as JSON members
#                        (e.g. '"poll_interval_secs": 0, "database_statement_timeout_ms": 1000')
#   VL_CLUSTER_CHECK_MS  HAProxy's health-check interval in milliseconds (default 1000)
#   RUST_LOG             the instances' log filter (default info)
#
# The instances log JSON (log_format json) to their own files, kept until `stop`, so tests can
# read them. HAProxy's choices (health check on /ready, redispatch, retries only on connection
# failures, timeouts above the long-polls) are explained in docs/operations.md.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE="${VL_CLUSTER_STATE:-/tmp/vistalid-cluster.state}"
INSTANCES=3

die() {
  echo "cluster.sh: $*" >&2
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

load_state() {
  [[ -f "$STATE" ]] || die "not started ($STATE missing)"
  # shellcheck disable=SC1090
  source "$STATE"
}

# The HTTP status of GET URL (000 when nothing answers), within 3 s.
status_of() {
  curl -s -o /dev/null -m 3 -w '%{http_code}' "$1" || true
}

# Waits until URL answers 200, at most $2 seconds; fails with the instance's log otherwise.
wait_ready() {
  local url=$1 secs=$2 log=${3:-} i
  for ((i = 0; i < secs * 10; i++)); do
    [[ $(status_of "$url") == 200 ]] && return 0
    sleep 0.1
  done
  [[ -n "$log" && -f "$log" ]] && tail -20 "$log" >&2
  die "$url not ready after ${secs}s"
}

check_instance() {
  [[ "${1:-}" =~ ^[1-3]$ ]] || die "instance number must be 1..$INSTANCES"
}

instance_port() {
  local var="PORT$1"
  echo "${!var}"
}

# Starts instance N (its config and port are in the state) in the background.
start_instance() {
  local n=$1
  RUST_LOG="${RUST_LOG:-info}" nohup "$BIN" --config "$DIR/instance$n.json" serve \
    >>"$DIR/instance$n.log" 2>&1 </dev/null &
  echo $! >"$DIR/instance$n.pid"
}

instance_pid() {
  cat "$DIR/instance$1.pid" 2>/dev/null || true
}

# Whether process $1 runs: a killed process stays a zombie (state Z) until its parent
# reaps it, which for these orphans may take a while: that is dead too.
alive() {
  [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [[ -n "$state" && "$state" != Z ]]
}

write_instance_config() {
  local n=$1 port=$2
  cat >"$DIR/instance$n.json" <<EOF
{
  "database_url": "$DB_URL",
  "key_encryption_key_file": "$DIR/kek",
  "issuer": "http://127.0.0.1:$FRONT",
  "bind": "127.0.0.1:$port",
  "max_connections_per_ip": 1024,
  "request_id_header": "x-request-id",
  "log_format": "json"${VL_CLUSTER_SETTINGS:+,
  $VL_CLUSTER_SETTINGS}
}
EOF
}

# Prints HAProxy's configuration: the front on 127.0.0.1:FRONT, the stats socket in DIR, and
# one server per PORT (also used by the end-to-end harness, tests/cluster.rs).
haproxy_config() {
  local dir=$1 front=$2 check=${VL_CLUSTER_CHECK_MS:-1000} n=0 port
  shift 2
  cat <<EOF
# Generated by scripts/cluster.sh; the choices are explained in docs/operations.md.
global
  maxconn 4096
  stats socket $dir/haproxy.sock mode 600 level admin
  log stderr format iso local0 info

defaults
  mode http
  log global
  option httplog
  option dontlognull
  timeout connect 2s
  timeout http-request 10s
  timeout queue 5s
  timeout client 75s
  timeout server 75s
  timeout http-keep-alive 10s
  retries 2
  option redispatch 1
  retry-on conn-failure

frontend front
  bind 127.0.0.1:$front
  unique-id-format %{+X}o%ci%cp%fp%Ts%rt%pid
  http-request set-header X-Request-Id %[unique-id]
  default_backend vistalid

backend vistalid
  balance roundrobin
  option httpchk GET /ready
  http-check expect status 200
  default-server check inter ${check}ms fastinter $((check / 4 > 0 ? check / 4 : 1))ms fall 2 rise 2 observe layer4 error-limit 1 on-error mark-down
EOF
  for port in "$@"; do
    n=$((n + 1))
    echo "  server instance$n 127.0.0.1:$port"
  done
}

cmd_start() {
  [[ -f "$STATE" ]] && die "already started ($STATE); stop it first"
  command -v haproxy >/dev/null || die "haproxy not installed (scripts/install.sh installs it)"
  BIN="${VL_CLUSTER_BIN:-target/debug/vistalid-server}"
  if [[ "${VL_CLUSTER_BUILD:-0}" == 1 ]]; then
    cargo build -p vistalid-server --bin vistalid-server >&2
  fi
  [[ -x "$BIN" ]] || die "no server binary at $BIN (VL_CLUSTER_BUILD=1 builds it)"
  BIN=$(realpath "$BIN")
  DIR=$(mktemp -d /tmp/vistalid-cluster.XXXXXX)
  local pg_state="" n
  if [[ -n "${VL_CLUSTER_DATABASE_URL:-}" ]]; then
    DB_URL=$VL_CLUSTER_DATABASE_URL
  else
    pg_state="$DIR/pg.state"
    DB_URL=$(VL_PG_STATE="$pg_state" scripts/pg.sh start)
  fi
  # The key-encryption key every instance is given: 32 random bytes, base64url (43 chars).
  (umask 077 && head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$DIR/kek")
  FRONT=$(free_port)
  {
    printf 'DIR=%s\nBIN=%s\nDB_URL=%s\nPG_STATE=%s\nFRONT=%s\n' \
      "$DIR" "$BIN" "$DB_URL" "$pg_state" "$FRONT"
    for ((n = 1; n <= INSTANCES; n++)); do
      printf 'PORT%s=%s\n' "$n" "$(free_port)"
    done
  } >"$STATE"
  load_state
  # The first instance creates the schema and the keys; the others then read them.
  for ((n = 1; n <= INSTANCES; n++)); do
    write_instance_config "$n" "$(instance_port "$n")"
    start_instance "$n"
    if [[ $n == 1 ]]; then
      wait_ready "http://127.0.0.1:$(instance_port 1)/ready" 60 "$DIR/instance1.log"
    fi
  done
  for ((n = 2; n <= INSTANCES; n++)); do
    wait_ready "http://127.0.0.1:$(instance_port "$n")/ready" 60 "$DIR/instance$n.log"
  done
  local ports=()
  for ((n = 1; n <= INSTANCES; n++)); do ports+=("$(instance_port "$n")"); done
  haproxy_config "$DIR" "$FRONT" "${ports[@]}" >"$DIR/haproxy.cfg"
  haproxy -c -q -f "$DIR/haproxy.cfg" >&2 || die "haproxy refused $DIR/haproxy.cfg"
  nohup haproxy -db -f "$DIR/haproxy.cfg" >>"$DIR/haproxy.log" 2>&1 </dev/null &
  echo $! >"$DIR/haproxy.pid"
  wait_ready "http://127.0.0.1:$FRONT/ready" 30 "$DIR/haproxy.log"
  echo "http://127.0.0.1:$FRONT"
}

cmd_stop() {
  [[ -f "$STATE" ]] || exit 0
  load_state
  local pid n i
  pid=$(cat "$DIR/haproxy.pid" 2>/dev/null || true)
  if alive "$pid"; then kill "$pid"; fi
  for ((n = 1; n <= INSTANCES; n++)); do
    pid=$(instance_pid "$n")
    if alive "$pid"; then kill "$pid"; fi
  done
  for ((n = 1; n <= INSTANCES; n++)); do
    pid=$(instance_pid "$n")
    i=0
    while alive "$pid" && ((i++ < 100)); do sleep 0.1; done
    if alive "$pid"; then kill -9 "$pid"; fi
  done
  if [[ -n "$PG_STATE" ]]; then
    VL_PG_STATE="$PG_STATE" scripts/pg.sh stop
  fi
  rm -rf "$DIR" "$STATE"
}

cmd_kill() {
  check_instance "${1:-}"
  load_state
  local pid
  pid=$(instance_pid "$1")
  alive "$pid" || die "instance $1 is not running"
  kill -9 "$pid"
  while alive "$pid"; do sleep 0.05; done
}

cmd_stop_instance() {
  check_instance "${1:-}"
  load_state
  local pid
  pid=$(instance_pid "$1")
  alive "$pid" || die "instance $1 is not running"
  kill "$pid"
  while alive "$pid"; do sleep 0.05; done
}

cmd_revive() {
  check_instance "${1:-}"
  load_state
  alive "$(instance_pid "$1")" && die "instance $1 is running"
  start_instance "$1"
  wait_ready "http://127.0.0.1:$(instance_port "$1")/ready" 60 "$DIR/instance$1.log"
}

cmd_restart_db() {
  load_state
  [[ -n "$PG_STATE" ]] || die "the database was given (VL_CLUSTER_DATABASE_URL): restart it yourself"
  VL_PG_STATE="$PG_STATE" scripts/pg.sh restart "${1:-0}"
}

cmd_status() {
  load_state
  local n pid
  for ((n = 1; n <= INSTANCES; n++)); do
    pid=$(instance_pid "$n")
    printf 'instance%s pid=%s alive=%s ready=%s\n' "$n" "$pid" \
      "$(alive "$pid" && echo yes || echo no)" \
      "$(status_of "http://127.0.0.1:$(instance_port "$n")/ready")"
  done
  printf 'front %s ready=%s\n' "http://127.0.0.1:$FRONT" "$(status_of "http://127.0.0.1:$FRONT/ready")"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  url) load_state && echo "http://127.0.0.1:$FRONT" ;;
  kill) cmd_kill "${2:-}" ;;
  stop-instance) cmd_stop_instance "${2:-}" ;;
  revive) cmd_revive "${2:-}" ;;
  restart-db) cmd_restart_db "${2:-0}" ;;
  status) cmd_status ;;
  instance-url) check_instance "${2:-}" && load_state && echo "http://127.0.0.1:$(instance_port "$2")" ;;
  log)
    load_state
    if [[ "${2:-}" == haproxy ]]; then echo "$DIR/haproxy.log"; else check_instance "${2:-}" && echo "$DIR/instance$2.log"; fi
    ;;
  haproxy-config)
    [[ $# -ge 4 ]] || die "usage: cluster.sh haproxy-config DIR FRONT_PORT PORT..."
    shift
    haproxy_config "$@"
    ;;
  db-url) load_state && echo "$DB_URL" ;;
  dir) load_state && echo "$DIR" ;;
  *)
    echo "usage: scripts/cluster.sh start|stop|url|kill N|revive N|stop-instance N|restart-db [SECS]|status|instance-url N|log N|db-url|dir|haproxy-config" >&2
    exit 2
    ;;
esac
