// SPDX-License-Identifier: Apache-2.0
//! The insured's QR presentation and the professional's verifier (DESIGN.md §5).
//!
//! The stack, one module per stage, each usable on its own (the EU Digital COVID Certificate
//! test vectors run through the very same functions, with the `HC1:` prefix instead of ours):
//!
//! ```text
//! text  = "VL1:" || base45( zlib?( COSE_Sign1 ) )      QR alphanumeric mode, ECC M
//! ```
//!
//! - [`base45`]: RFC 9285 Base45, strict.
//! - [`zlib`]: bounded inflate (16 KiB) when the bytes carry a zlib header; deflate only when
//!   it makes the payload smaller.
//! - [`cose`]: COSE_Sign1 (RFC 9052) with ES256 only.
//! - [`credential`]: the issuer-signed credential, a CWT (RFC 8392) binding the insured's
//!   pseudonymous identity to the device key (`cnf`, RFC 8747).
//! - [`presentation`]: the short-lived device-signed presentation the wallet shows.
//! - [`verify`]: what the professional's software (offline) and the server (online
//!   redemption) run.
//! - [`issuer_keys`]: the issuer keys' validity windows and the verifier's self-refreshing
//!   cache of them (issue 19).
//! - [`render`]: the QR matrix, SVG, PNG and terminal renderings.
//!
//! Guarantees: every decoder is bounded in size and returns a typed [`QrError`] on any input;
//! none panics (checked by property tests).

pub mod base45;
pub mod cose;
pub mod credential;
mod error;
pub mod issuer_keys;
pub mod presentation;
pub mod render;
pub mod verify;
pub mod zlib;

pub use credential::{Credential, CredentialClaims};
pub use error::QrError;
pub use issuer_keys::{IssuerKey, IssuerKeyCache, IssuerKeySet, IssuerKeySource};
pub use presentation::{present, Mode, PresentationSource};
pub use render::{QrMatrix, PNG_SCALE};
pub use verify::{
    credential_id, verify_with_device_key, PresentationFacts, Verified, VerifiedPresentation,
    Verifier,
};

/// The text prefix of a Vistalid presentation (format version 1).
pub const PREFIX: &str = "VL1:";

/// Upper bound on any encoded text we accept (characters). A version 40 QR code holds at most
/// 4296 alphanumeric characters, so nothing longer can come from a scan.
pub const MAX_TEXT_LEN: usize = 4296;

/// Upper bound on the decoded CBOR bytes (after inflate), against zip bombs.
pub const MAX_PAYLOAD_LEN: usize = 16 * 1024;
