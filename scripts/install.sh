#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what the build and the tests need and is not in the machine image: the Kotlin
# build (Maven artefacts) and the Swift toolchain (Debian 13 chroot). Idempotent: tools
# already present are reused (caches live outside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo is required (rustup)" >&2; exit 1; }
scripts/install-toolchains.sh all
