// SPDX-License-Identifier: Apache-2.0
//! # vistalid-attest-testkit
//!
//! Device attestations the tests build themselves (never part of a product build):
//! - [`der`]: a small DER writer (TLV, SEQUENCE, SET OF, INTEGER, context tags);
//! - [`android`]: a KeyDescription builder (OID 1.3.6.1.4.1.11129.2.1.17) and Android Key
//!   Attestation chains made with `rcgen`, leaf first, under a test root;
//! - [`apple`]: App Attest attestation objects and assertions signed with the test's own keys;
//! - [`keystore`]: [`AttestingKeystore`], a `vistalid_core` platform keystore that really
//!   attests: it makes a P-256 key per alias, returns an Android chain (or an App Attest
//!   object) for the wallet's challenge under a [`TestAttestationRoot`] the test configures as
//!   trusted, and signs (asserts) with that key, so the server's verifiers run end to end.
//!
//! Guarantee: what this crate builds has the exact wire shapes of real devices (the server's
//! verifiers accept it only with the test root configured), and every knob that makes it
//! wrong is explicit.
#![allow(clippy::expect_used)]

pub mod android;
pub mod apple;
pub mod certs;
pub mod der;
pub mod keystore;

pub use keystore::{AndroidKeyOptions, AttestingKeystore, TestAttestationRoot};

/// SHA-256 of `b`.
pub fn sha256(b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, b).as_ref());
    out
}
