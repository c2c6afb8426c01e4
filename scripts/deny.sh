#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cargo-deny against deny.toml (licences, duplicate versions, sources, advisories), offline.
#
#   scripts/deny.sh
#
# bans, licenses and sources need only Cargo.lock and the local registry cache: always
# checked. advisories need a checkout of the RustSec advisory database (rustsec/advisory-db),
# which cargo-deny normally clones from GitHub; this machine reaches no git host, and no
# package registry it reaches ships the database. So advisories are checked only when a copy
# is at hand: the folder VISTALID_ADVISORY_DB names, else ../shared/advisory-db beside the
# repository (a git checkout or a plain copy of the repository's files). Without one, the
# script says plainly that advisories were NOT checked (and fails instead under
# VISTALID_REQUIRE_ADVISORIES=1).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# scripts/install.sh puts the pinned cargo-deny beside the other toolchains.
deny_bin=${VISTALID_TOOLCHAINS:-/var/cache/vistalid-toolchains}/cargo-deny-0.20.2/bin
[ -x "$deny_bin/cargo-deny" ] && export PATH="$deny_bin:$PATH"
command -v cargo-deny >/dev/null || { echo "deny.sh: cargo-deny missing (scripts/install.sh)" >&2; exit 1; }

# cargo-deny reads `cargo metadata` for every target (Windows, wasm, Android crates
# included), offline: the builds before it download only the host's crates, so a fresh
# cargo home needs the rest fetched first (a no-op when they are cached).
cargo fetch --locked --quiet
cargo deny --offline check bans licenses sources

db="${VISTALID_ADVISORY_DB:-$root/../shared/advisory-db}"
if ! [ -d "$db/crates" ]; then
  echo "deny.sh: advisories NOT checked: no RustSec advisory database at $db (set VISTALID_ADVISORY_DB to a copy of rustsec/advisory-db)"
  [ "${VISTALID_REQUIRE_ADVISORIES:-0}" = 1 ] && exit 1
  exit 0
fi

# cargo-deny opens its database as a git checkout named after the database URL inside
# db-path. Lay one out in a temporary db-path: the copy itself when it is a git checkout,
# else a one-commit repository made from its files.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The folder name cargo-deny 0.20 gives https://github.com/rustsec/advisory-db.
slot="$work/advisory-db-3157b0e258782691"
if git -C "$db" rev-parse --verify -q HEAD >/dev/null 2>&1 && [ "$(git -C "$db" rev-parse --show-toplevel)" = "$(cd "$db" && pwd -P)" ]; then
  ln -s "$(cd "$db" && pwd -P)" "$slot"
else
  cp -r "$db" "$slot"
  git -C "$slot" init -q
  git -C "$slot" add -A
  GIT_AUTHOR_DATE="$(date -r "$db" -Iseconds)" GIT_COMMITTER_DATE="$(date -r "$db" -Iseconds)" \
    git -C "$slot" -c user.name=vistalid -c user.email=ci@vistalid.invalid commit -q -m snapshot
fi
echo "deny.sh: advisories from $db ($(git -C "$slot" log -1 --format=%cs))"
sed "s|^\[advisories\]|[advisories]\ndb-path = \"$work\"|" deny.toml >"$work/deny.toml"
cargo deny --offline --config "$work/deny.toml" check advisories
