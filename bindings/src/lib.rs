// SPDX-License-Identifier: Apache-2.0
//! Vistalid UniFFI bindings: the Kotlin and Swift face of `vistalid-core`.
//!
//! This crate only maps: core types to UniFFI records and objects, core errors to the one
//! FFI error [`VistalidError`], and the app's keystore and HTTP stack (foreign traits) to Rust. No wallet
//! logic lives here. Generated bindings: Kotlin package `fr.vistalid.ffi`, Swift module
//! `VistalidBindings` over the C module `VistalidFFI` (see `uniffi.toml`).
//!
//! Rules kept by every export: no panic crosses the boundary (release builds unwind, UniFFI
//! turns a panic into an error), every async export names `async_runtime = "tokio"` (checked
//! by `tests/async_exports.rs`), and secrets never appear in errors.

mod error;
mod keys;
mod keystore;
mod push;
mod qr;
mod transport;
mod wallet;

pub use error::VistalidError;
pub use keys::{hash_to_curve_p256, jws_verify, verify_es256, DeviceKey};
pub use keystore::{
    describe_keystore, DeviceAttestation, HardwareSignature, KeystoreDescription, PlatformKeystore,
};
pub use push::PushPlatform;
pub use qr::{
    fetch_issuer_keys, redeem_qr, QrMode, QrPresentation, QrVerified, QrVerifier, RedeemedIdentity,
    PNG_SCALE,
};
pub use transport::{HttpRequest, HttpResponse, HttpTransport};
pub use wallet::{
    AccountInfo, AccountKind, AnswerOutcome, Challenge, CodeMode, FetchedChallenges, Wallet,
    WalletOptions,
};

/// The version of the Vistalid library (`vistalid-ffi`'s Cargo version), for the app's
/// about screen and bug reports.
#[uniffi::export]
pub fn library_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

uniffi::setup_scaffolding!();
