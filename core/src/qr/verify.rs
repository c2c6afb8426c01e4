// SPDX-License-Identifier: Apache-2.0
//! The verifier: what the professional's software runs on a scanned `VL1:` text, and what the
//! server runs when it redeems an online presentation.
//!
//! Offline mode (the QR carries the credential), [`Verifier::verify`] checks, in this order:
//! structure (prefix, Base45, zlib, CBOR, COSE) → issuer signature against the trusted
//! issuer keys → the signing key's validity window → credential validity → device signature with the key the credential binds
//! (`cnf`) → presentation time (`iat` not in the future, `exp` not past, both ± skew) →
//! audience. Only then does it return [`Verified::Offline`] with the identity.
//!
//! Online mode (the QR carries only the credential id), the device key is unknown offline:
//! the verifier checks structure, time and audience and returns [`Verified::RedeemOnline`],
//! which carries no identity. The professional's software sends the text to the server; the
//! server looks up the credential id, then calls [`verify_with_device_key`] with the device
//! key it bound to that credential, and accepts each nonce once (single use is the server's
//! job, `AlreadyRedeemed` is its error).
//!
//! Guarantees: no identity leaves this module unless the issuer and device signatures have
//! both verified (offline), or the device signature with the server-held key (online).

use std::sync::Arc;

use super::credential::Credential;
use super::issuer_keys::IssuerKey;
use super::presentation::{self, Mode, Presentation, NONCE_LEN};
use super::QrError;
use crate::clock::Clock;
use crate::keys::PublicKey;

/// Default tolerated clock difference between phone and verifier, in seconds.
pub const DEFAULT_SKEW_SECS: u32 = 30;

/// The professional's verifier. Cheap to clone the inputs into; holds no secrets.
pub struct Verifier {
    trusted_issuers: Vec<IssuerKey>,
    clock: Arc<dyn Clock>,
    skew_secs: u32,
    audience: Option<String>,
}

/// What a successful [`Verifier::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Offline mode: everything verified, the identity is trustworthy.
    Offline(Box<VerifiedPresentation>),
    /// Online mode: structure, time and audience are fine, but the device signature cannot be
    /// checked here. Not an identity: it must be redeemed at the server.
    RedeemOnline(PresentationFacts),
}

/// A fully verified offline presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPresentation {
    /// The verified credential: claims (identity), device key, issuer key.
    pub credential: Credential,
    /// The presentation's own facts (mode, credential id, nonce, times, audience).
    pub facts: PresentationFacts,
}

/// The facts a presentation states about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationFacts {
    /// Offline or online mode.
    pub mode: Mode,
    /// The credential id (the credential's `cti`).
    pub credential_id: Vec<u8>,
    /// The fresh nonce; the server's single-use key.
    pub nonce: [u8; NONCE_LEN],
    /// Issued at, seconds since the epoch.
    pub issued_at: i64,
    /// Expiry, seconds since the epoch.
    pub expires_at: i64,
    /// The audience the insured addressed it to, if any.
    pub audience: Option<String>,
}

impl Verifier {
    /// A verifier trusting `trusted_issuers`, reading time from `clock`, with the default
    /// skew (30 s) and no expected audience.
    pub fn new(trusted_issuers: Vec<PublicKey>, clock: Arc<dyn Clock>) -> Self {
        Self::with_issuer_keys(
            trusted_issuers
                .into_iter()
                .map(IssuerKey::unbounded)
                .collect(),
            clock,
        )
    }

    /// A verifier trusting `trusted_issuers` within their validity windows (issue 19), with
    /// the default skew and no expected audience.
    pub fn with_issuer_keys(trusted_issuers: Vec<IssuerKey>, clock: Arc<dyn Clock>) -> Self {
        Self {
            trusted_issuers,
            clock,
            skew_secs: DEFAULT_SKEW_SECS,
            audience: None,
        }
    }

    /// Sets the tolerated clock skew, in seconds.
    pub fn with_skew_secs(mut self, skew_secs: u32) -> Self {
        self.skew_secs = skew_secs;
        self
    }

    /// Requires presentations addressed to `audience`. Without it, presentations that name
    /// an audience are refused ([`QrError::WrongAudience`]): they were meant for someone else.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Verifies a scanned text (see the module docs for the order of checks).
    pub fn verify(&self, text: &str) -> Result<Verified, QrError> {
        let mut p = presentation::decode(text)?;
        let now = self.clock.now();
        match p.credential.take() {
            Some(parsed) => {
                let credential = parsed.check(&self.trusted_issuers, now, self.skew_secs)?;
                p.check_device_signature(&credential.device_key)?;
                p.check_time(now, self.skew_secs)?;
                self.check_audience(&p)?;
                Ok(Verified::Offline(Box::new(VerifiedPresentation {
                    facts: facts(p),
                    credential,
                })))
            }
            None => {
                p.check_time(now, self.skew_secs)?;
                self.check_audience(&p)?;
                Ok(Verified::RedeemOnline(facts(p)))
            }
        }
    }

    fn check_audience(&self, p: &Presentation) -> Result<(), QrError> {
        if p.audience == self.audience {
            Ok(())
        } else {
            Err(QrError::WrongAudience)
        }
    }
}

/// The server's check at redemption: decodes `text`, checks the device signature with
/// `device_key` (the key the server bound to [`credential_id`]'s credential at enrolment) and
/// the time window at `now` (± [`DEFAULT_SKEW_SECS`]). Works for both modes. The server then
/// enforces single use (by nonce) and may compare the audience with the redeeming party.
pub fn verify_with_device_key(
    text: &str,
    device_key: &PublicKey,
    now: i64,
) -> Result<PresentationFacts, QrError> {
    let p = presentation::decode(text)?;
    p.check_device_signature(device_key)?;
    p.check_time(now, DEFAULT_SKEW_SECS)?;
    Ok(facts(p))
}

/// The credential id a text claims, before any check: the server's lookup key for
/// [`verify_with_device_key`]. Not to be trusted on its own.
pub fn credential_id(text: &str) -> Result<Vec<u8>, QrError> {
    Ok(presentation::decode(text)?.credential_id)
}

fn facts(p: Presentation) -> PresentationFacts {
    PresentationFacts {
        mode: p.mode,
        credential_id: p.credential_id,
        nonce: p.nonce,
        issued_at: p.issued_at,
        expires_at: p.expires_at,
        audience: p.audience,
    }
}
