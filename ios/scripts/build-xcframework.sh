#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Builds ios/VistalidFFI.xcframework (static libvistalid_ffi for iPhone, the simulator and
# macOS, with the generated C header) and the generated Swift bindings, so that the Swift
# package (ios/Package.swift) links the Rust code on Apple platforms: Package.swift picks the
# XCFramework up automatically when it exists.
#
# Needs macOS with Xcode (xcodebuild, lipo) and rustup. NOT run by this repository's CI,
# which is Linux only (the Swift tests there use the host .so, scripts/test-swift.sh).
#
# Usage: ios/scripts/build-xcframework.sh            (release build)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(uname -s)" = Darwin ] || { echo "build-xcframework.sh needs macOS and Xcode" >&2; exit 1; }

TARGETS=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${TARGETS[@]}"
for t in "${TARGETS[@]}"; do
  cargo build -p vistalid-ffi --lib --release --target "$t"
done
T=${CARGO_TARGET_DIR:-target}
A=libvistalid_ffi.a

# Generated Swift + header, from the host build (library mode reads the embedded metadata).
cargo build -p vistalid-ffi --lib --release
cargo run -q -p vistalid-ffi --features cli --bin uniffi-bindgen -- generate \
  --library "$T/release/libvistalid_ffi.dylib" --language swift --out-dir "$T/uniffi-swift"
cp "$T/uniffi-swift/VistalidBindings.swift" ios/Sources/VistalidBindings/

# Headers folder of the XCFramework: the header and a modulemap WITHOUT `link` (the static
# library is linked by the XCFramework itself).
H=$T/xcframework-headers
rm -rf "$H" && mkdir -p "$H"
cp "$T/uniffi-swift/VistalidFFI.h" "$H/"
printf 'module VistalidFFI {\n    header "VistalidFFI.h"\n    export *\n}\n' >"$H/module.modulemap"

# One fat library per platform: simulator (arm64 + x86_64) and macOS (arm64 + x86_64).
mkdir -p "$T/fat/ios-sim" "$T/fat/macos"
lipo -create "$T/aarch64-apple-ios-sim/release/$A" "$T/x86_64-apple-ios/release/$A" \
  -output "$T/fat/ios-sim/$A"
lipo -create "$T/aarch64-apple-darwin/release/$A" "$T/x86_64-apple-darwin/release/$A" \
  -output "$T/fat/macos/$A"

rm -rf ios/VistalidFFI.xcframework
xcodebuild -create-xcframework \
  -library "$T/aarch64-apple-ios/release/$A" -headers "$H" \
  -library "$T/fat/ios-sim/$A" -headers "$H" \
  -library "$T/fat/macos/$A" -headers "$H" \
  -output ios/VistalidFFI.xcframework
echo "built ios/VistalidFFI.xcframework"
