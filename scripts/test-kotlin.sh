#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Kotlin bindings, tested on the JVM with Maven (android/pom.xml):
#   1. mvn test: cargo builds the host library, uniffi-bindgen generates the Kotlin into
#      android/target/generated-sources/uniffi, kotlin-maven-plugin compiles it with
#      android/src/main/kotlin, and JUnit 5 runs every test in android/src/test/kotlin
#      (add a file there and it runs; nothing to register);
#   2. mvn -Pandroid-api kotlin:compile@android-api: compiles android/src/android/kotlin
#      (the Android Keystore implementation) against the real Android API (Robolectric's
#      android-all jar), into android/target/android-api-classes. It is compiled only: nothing
#      here can run Android code.
# The flow tests (FlowTest.kt) talk to a reference server on loopback: this script starts
# `vistalid-testbed` (tests/src/bin/testbed/main.rs) first, passes its fixture file (base URL,
# relying parties, activation codes) in VISTALID_FIXTURE, and stops it on exit.
# Prints `kotlin: N passed, N failed` and exits non-zero on any failure.
# Tools: scripts/install-toolchains.sh kotlin (Maven's repository lives in
# $VISTALID_TOOLCHAINS/m2, outside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
M2=${VISTALID_TOOLCHAINS:-/var/cache/vistalid-toolchains}/m2
MVN=(mvn -B -ntp -Dstyle.color=never -f android/pom.xml -Dmaven.repo.local="$M2" -Dcargo.target.dir="$CARGO_TARGET_DIR")
KOTLIN=$(sed -n 's|.*<kotlin.version>\(.*\)</kotlin.version>.*|\1|p' android/pom.xml)
t0=$SECONDS
step() { echo "== [test-kotlin $((SECONDS - t0))s] $*"; }

step "start vistalid-testbed (reference server on loopback)"
LANG_NAME=kotlin
# shellcheck source=scripts/testbed.sh
. scripts/testbed.sh
export VISTALID_FIXTURE=$TB/fixture.json

REPORTS=android/target/surefire-reports
# kotlinc does not delete the class of a deleted source file: start from empty output
# folders so a removed test cannot keep running (compilation is not incremental anyway).
rm -rf "$REPORTS" android/target/classes android/target/test-classes android/target/android-api-classes
step "mvn test (cargo build, uniffi-bindgen, kotlinc, JUnit 5)"
rc=0
"${MVN[@]}" test || rc=$?

step "mvn -Pandroid-api kotlin:compile@android-api (AndroidKeystoreKeystore against android-all)"
android_rc=0
if [ "$rc" -eq 0 ]; then
  "${MVN[@]}" -q -Pandroid-api "org.jetbrains.kotlin:kotlin-maven-plugin:$KOTLIN:compile@android-api" ||
    android_rc=$?
  [ -f android/target/android-api-classes/fr/vistalid/android/AndroidKeystoreKeystore.class ] ||
    android_rc=1
fi

# Count from surefire's XML reports: CI reads this plain line, not JUnit's summary.
read -r passed failed < <(python3 - "$REPORTS" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
passed = failed = 0
for path in glob.glob(sys.argv[1] + "/TEST-*.xml"):
    s = ET.parse(path).getroot()
    tests, bad = int(s.get("tests", 0)), int(s.get("failures", 0)) + int(s.get("errors", 0))
    passed += tests - bad - int(s.get("skipped", 0))
    failed += bad
print(passed, failed)
PY
)
# A build that failed before running tests, or the Android compile check, counts as a failure.
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$android_rc" -ne 0 ]; then
  echo "android-api compile check failed" >&2
  failed=$((failed + 1))
fi
step "done"
echo "kotlin: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
