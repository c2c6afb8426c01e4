// SPDX-License-Identifier: Apache-2.0
//! # vistalid-core
//!
//! The Vistalid wallet: device keys, the PIN vault, enrolment, push approval with the
//! *code dynamique*, QR presentation and its verifier. A plain Rust library with no FFI
//! types; `vistalid-ffi` maps it to Kotlin and Swift. See `docs/ARCHITECTURE.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod attestation;
pub mod challenge;
pub mod client;
pub mod clock;
pub mod hash_to_curve;
pub mod jws;
pub mod keys;
pub mod keystore;
pub mod oprf;
pub mod pin_guard;
pub mod protocol;
pub mod push;
pub mod qr;
pub mod rollover;
pub mod scan;
pub mod secret;
pub mod text;
pub mod totp;
pub mod transport;
pub mod vault;
pub mod wallet;
