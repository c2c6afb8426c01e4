// SPDX-License-Identifier: Apache-2.0
//! Generates the Kotlin and Swift bindings from the built library (UniFFI library mode).

fn main() {
    uniffi::uniffi_bindgen_main()
}
