#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Installs the foreign-language toolchains the binding tests need:
#   kotlin  Maven (in the image; from Debian if missing) fetches kotlin-maven-plugin, JUnit 5,
#           JNA, kotlinx-coroutines from Maven Central into $VISTALID_TOOLCHAINS/m2 (270 MB); the
#           Robolectric `android-all` jar (real Android API, compile only) comes the same way.
#   swift   Debian 13 "trixie" in a debootstrap folder, $VISTALID_TOOLCHAINS/trixie, with the
#           Debian package `swiftlang` (Swift 6.0.3) inside. 2.7 GB; 1.5 to 3 minutes cold.
#
# Usage: scripts/install-toolchains.sh [all|kotlin|swift]      (default: all)
# Needs root (apt-get, debootstrap, chroot). Idempotent: a finished install is detected
# by a stamp file and reused; a half-finished one (killed mid-way) is redone from scratch.
# The caches live outside the repository so `git clean` never deletes 3 GB of tools.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${VISTALID_TOOLCHAINS:-/var/cache/vistalid-toolchains}
CHROOT=$CACHE/trixie
M2=$CACHE/m2
what=${1:-all}
t0=$SECONDS
step() { echo "== [install-toolchains $((SECONDS - t0))s] $*"; }
export DEBIAN_FRONTEND=noninteractive

need_root() {
  [ "$(id -u)" = 0 ] || { echo "install-toolchains.sh: $1 needs root" >&2; exit 1; }
}

# Installs Debian packages on the host when one of them is missing.
host_packages() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root "apt-get install ${missing[*]}"
  step "apt-get install ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_kotlin() {
  step "kotlin: maven + JDK 17"
  command -v mvn >/dev/null || host_packages maven
  command -v javac >/dev/null || host_packages openjdk-17-jdk-headless
  mkdir -p "$M2"
  # Skip Maven (10 s) when this very pom.xml was already resolved into this repository.
  local stamp
  stamp="$M2/.vistalid-resolved-$(sha256sum android/pom.xml | cut -c1-16)"
  if [ -f "$stamp" ]; then
    step "kotlin: artefacts of this pom.xml already in $M2"
    return 0
  fi
  # The build's plugins and dependencies (android-api profile included), fetched once. The
  # test script uses the same repository; what Maven resolves only at run time (surefire's
  # JUnit provider, a few kilobytes) is fetched by the first test run.
  step "kotlin: resolve Maven Central artefacts into $M2"
  local dep=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
  mvn -B -q -Dstyle.color=never -f android/pom.xml -Dmaven.repo.local="$M2" -Pandroid-api \
    "$dep:resolve-plugins" "$dep:resolve" >/dev/null
  touch "$stamp"
  step "kotlin: ready"
}

# Runs a command in the chroot. Swift needs /proc; a private mount and pid namespace gives
# it one without mounting anything on the host.
in_chroot() {
  unshare --mount --pid --fork --mount-proc="$CHROOT/proc" chroot "$CHROOT" "$@"
}

install_swift() {
  # usr/bin/swift is an absolute symlink (into the chroot's /usr/libexec): test -x on the
  # host would follow it to the host's /usr/libexec. Check the real file.
  if [ -f "$CHROOT/.vistalid-ready" ] && [ -x "$CHROOT/usr/libexec/swift/bin/swift-frontend" ]; then
    step "swift: chroot present at $CHROOT ($(cat "$CHROOT/.vistalid-ready"))"
    return 0
  fi
  need_root "the Swift chroot"
  host_packages debootstrap
  step "swift: debootstrap trixie (default mirror) into $CHROOT"
  rm -rf "$CHROOT"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase trixie "$CHROOT" >/dev/null
  step "swift: apt-get install swiftlang in the chroot"
  # No /dev/pts in the chroot: without Use-Pty=0 dpkg fails to open its log pty and apt
  # exits non-zero although the packages were installed.
  in_chroot apt-get update -qq -o Dpkg::Use-Pty=0
  in_chroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 \
    swiftlang >/dev/null
  in_chroot apt-get clean
  # Recommends stay on: they bring libc6-dev and the C++ headers Swift's Glibc module needs.
  version=$(in_chroot swift --version 2>&1 | grep -m1 'Swift version')
  echo "$version" >"$CHROOT/.vistalid-ready"
  step "swift: ready: $version"
}

case $what in
  all) install_kotlin; install_swift ;;
  kotlin) install_kotlin ;;
  swift) install_swift ;;
  *) echo "usage: $0 [all|kotlin|swift]" >&2; exit 2 ;;
esac
