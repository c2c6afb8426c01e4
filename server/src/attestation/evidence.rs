// SPDX-License-Identifier: Apache-2.0
//! What a wallet sends (ADR 0001), checked under the [`AttestationPolicy`]: the
//! `device_attestation` of an enrolment, then the `hardware_signature` of every answer.
//!
//! Guarantees:
//! - An enrolment's evidence is verified for core's `attestation_challenge` of the nonce this
//!   server issued and the account key being enrolled, so evidence made for another
//!   enrolment, another key or another server's nonce is refused. A verified attestation
//!   gives a [`HardwareKeyRecord`], what the store keeps for the device.
//! - No evidence: accepted as an unattested (software) keystore only where the policy lets
//!   software keystores in, else [`AttestationRefusal::Required`]. Evidence that does not
//!   verify is [`AttestationRefusal::Invalid`] even where software keystores are allowed: a
//!   wallet that claims hardware it cannot prove is not let in as software.
//! - A device with a hardware key must co-sign each answer over the exact JWS it sends: no
//!   co-signature is `Required`; a signature by another key, of the other platform, or an App
//!   Attest counter not above the stored one is `Invalid`. The new counter is returned for the
//!   store's compare-and-set, which refuses a concurrent answer with the same counter.

use ring::digest::{digest, SHA256};
use vistalid_core::attestation::attestation_challenge;
use vistalid_core::keys::PublicKey;
use vistalid_core::protocol::{DeviceAttestation, ErrorCode, HardwareSignature};

use super::android::verify_android;
use super::apple::{verify_app_attest, verify_app_attest_assertion};
use super::policy::AttestationPolicy;
use super::revocation::RevocationList;
use super::DeviceAttestation as DeviceAttestationSummary;
use super::{AttestationError, Platform};

/// Most certificates accepted in an Android chain (real ones have 3 to 5).
pub const MAX_CHAIN_LEN: usize = 8;

/// Why the server refuses what a wallet sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationRefusal {
    /// Evidence was required and none came; the text says which.
    #[error("{0}")]
    Required(&'static str),
    /// The evidence does not verify.
    #[error("{0}")]
    Invalid(AttestationError),
}

impl AttestationRefusal {
    /// The wire error code: `attestation_required` or `attestation_invalid`.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Required(_) => ErrorCode::AttestationRequired,
            Self::Invalid(_) => ErrorCode::AttestationInvalid,
        }
    }

    /// A short stable name of the reason, for counting refusals (bounded: never input text).
    pub fn reason_kind(&self) -> &'static str {
        match self {
            Self::Required(_) => "missing",
            Self::Invalid(e) => e.kind(),
        }
    }
}

impl From<AttestationError> for AttestationRefusal {
    fn from(e: AttestationError) -> Self {
        Self::Invalid(e)
    }
}

/// A device's attested hardware key, as the store keeps it: the summary the admin listing
/// shows, the key that verifies co-signatures, and (Apple) the key id and last counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardwareKeyRecord {
    /// What the attestation showed, and the attested key that verifies co-signatures.
    pub attested: DeviceAttestationSummary,
    /// Apple: the App Attest key id (32 bytes).
    pub apple_key_id: Option<Vec<u8>>,
    /// Apple: the last assertion counter accepted (0 at enrolment).
    pub counter: u32,
}

impl AttestationPolicy {
    /// Checks an enrolment's `evidence` for the `nonce` this server issued and the
    /// `account_key` being enrolled, at `now` (Unix seconds). `software_allowed`: whether
    /// unattested keystores may enrol here ([`AttestationPolicy::software_allowed`]).
    /// `Ok(None)`: an unattested keystore, let in.
    pub fn check_enrolment(
        &self,
        evidence: Option<&DeviceAttestation>,
        nonce: &str,
        account_key: &PublicKey,
        software_allowed: bool,
        now: i64,
    ) -> Result<Option<HardwareKeyRecord>, AttestationRefusal> {
        let Some(evidence) = evidence else {
            return if software_allowed {
                Ok(None)
            } else {
                Err(AttestationRefusal::Required(
                    "this server enrols only devices whose key is attested by the platform",
                ))
            };
        };
        let challenge = attestation_challenge(nonce, account_key);
        match evidence {
            DeviceAttestation::AndroidKey { chain } => {
                let setup = self
                    .android
                    .as_ref()
                    .ok_or(AttestationError::PlatformNotAccepted)?;
                if chain.is_empty() || chain.len() > MAX_CHAIN_LEN {
                    return Err(AttestationError::Malformed(format!(
                        "the chain must have 1 to {MAX_CHAIN_LEN} certificates"
                    ))
                    .into());
                }
                let revocations = self
                    .revocations()
                    .map(|source| source.current())
                    .unwrap_or_else(|| RevocationList::empty().into());
                let verdict = verify_android(
                    chain,
                    &challenge,
                    &setup.policy,
                    &setup.roots,
                    &revocations,
                    now,
                )?;
                Ok(Some(HardwareKeyRecord {
                    attested: verdict.summary(),
                    apple_key_id: None,
                    counter: 0,
                }))
            }
            DeviceAttestation::AppleAppAttest { key_id, object } => {
                let setup = self
                    .apple
                    .as_ref()
                    .ok_or(AttestationError::PlatformNotAccepted)?;
                let verdict =
                    verify_app_attest(object, key_id, &challenge, &setup.policy, &setup.root, now)?;
                Ok(Some(HardwareKeyRecord {
                    attested: verdict.summary(),
                    apple_key_id: Some(verdict.key_id.to_vec()),
                    counter: 0,
                }))
            }
        }
    }
}

impl HardwareKeyRecord {
    /// Checks the co-signature of an answer whose compact JWS is `answer_jws`. Returns the
    /// App Attest counter to store (`None` on Android, which has no counter).
    pub fn check_co_signature(
        &self,
        answer_jws: &str,
        signature: Option<&HardwareSignature>,
    ) -> Result<Option<u32>, AttestationRefusal> {
        let signature = signature.ok_or(AttestationRefusal::Required(
            "this device enrolled with a hardware key: every answer must be co-signed by it",
        ))?;
        match (self.attested.platform, signature) {
            (Platform::Android, HardwareSignature::AndroidKey { signature }) => {
                self.attested
                    .public_key
                    .verify(answer_jws.as_bytes(), signature)?;
                Ok(None)
            }
            (Platform::Apple, HardwareSignature::AppleAppAttest { assertion }) => {
                let mut client_data_hash = [0u8; 32];
                client_data_hash.copy_from_slice(digest(&SHA256, answer_jws.as_bytes()).as_ref());
                let counter = verify_app_attest_assertion(
                    assertion,
                    &client_data_hash,
                    &self.attested.public_key,
                    &self.attested.app_id,
                    self.counter,
                )?;
                Ok(Some(counter))
            }
            _ => Err(AttestationError::Malformed(
                "the hardware signature is of another platform than the attested key".into(),
            )
            .into()),
        }
    }
}
