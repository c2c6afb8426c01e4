#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the test binaries of some workspace packages from the workspace's own test build.
#
#   scripts/test-packages.sh vistalid-server vistalid-e2e [-- TEST ARGS]
#
# Why not `cargo test -p A -p B`: Cargo unifies features over the packages it is asked to
# build, so that selection builds the shared dependencies again with other features (libc,
# serde_json, regex-automata, ... : about 90 crates and 5 GB more in target/, which filled
# CI's disk). This script asks for the workspace's test build (`cargo test --workspace
# --no-run`: nothing to build after `cargo test --workspace`), then runs each test binary of
# the named packages the way `cargo test` does: from the package's folder, one after the
# other, printing their `test result:` lines. Doc tests are not run (the workspace suite
# runs them). Exits non-zero when a binary fails; runs the others first.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
while [[ $# -gt 0 && "$1" != "--" ]]; do
  packages+=("$1")
  shift
done
[[ "${1:-}" == "--" ]] && shift
if [[ ${#packages[@]} -eq 0 ]]; then
  echo "usage: scripts/test-packages.sh PACKAGE... [-- TEST ARGS]" >&2
  exit 2
fi

# One line per test binary: package name, package folder, binary.
list=$(cargo test --workspace --no-run --message-format=json-render-diagnostics |
  python3 -c '
import json, os, sys
wanted = set(sys.argv[1:])
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    if not m.get("profile", {}).get("test"):
        continue
    # "path+file:///dir#name@version", or "path+file:///name#version" when they agree.
    url, _, frag = m["package_id"].rpartition("#")
    name = frag.split("@")[0] if "@" in frag else url.rstrip("/").rsplit("/", 1)[-1]
    if name in wanted:
        print(name, os.path.dirname(m["manifest_path"]), m["executable"])
' "${packages[@]}")

found=$(awk '{print $1}' <<<"$list" | sort -u | wc -l)
if [[ -z "$list" || $found -ne $(printf '%s\n' "${packages[@]}" | sort -u | wc -l) ]]; then
  echo "test-packages.sh: no test binaries for some of: ${packages[*]}" >&2
  exit 2
fi

status=0
while read -r name dir exe; do
  echo "     Running $(basename "$exe") ($name)"
  (cd "$dir" && "$exe" "$@") || status=1
done <<<"$list"
exit $status
