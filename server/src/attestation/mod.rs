// SPDX-License-Identifier: Apache-2.0
//! Device attestation: is this key on a genuine device, held by the genuine app?
//!
//! Two platform formats, each checked in full before a verdict is returned:
//! - **Android Key Attestation** ([`verify_android`]): an X.509 chain, leaf first, whose leaf
//!   carries the KeyDescription extension (OID 1.3.6.1.4.1.11129.2.1.17).
//! - **Apple App Attest** ([`verify_app_attest`], then [`verify_app_attest_assertion`] for each
//!   later signature): a CBOR attestation object `apple-appattest` and CBOR assertions.
//!
//! What this module guarantees:
//! - A verdict (`Ok`) means every check passed: certificate signatures (ring: RSA PKCS#1 v1.5
//!   SHA-256/384/512 up to 8192 bits, ECDSA P-256/P-384 with SHA-256/384), issuer/subject
//!   chaining, each certificate valid at the given time, CA bits and path lengths, a chain that
//!   ends at a [`TrustAnchors`] key (matched by public key, never by certificate bytes), no
//!   revoked serial ([`RevocationList`]), the expected challenge, and the [`AndroidPolicy`] or
//!   [`ApplePolicy`] (security level, boot state, app identity, patch level, environment).
//! - Parsing is strict DER (RustCrypto `der`/`x509-cert`) and strict CBOR shapes (`ciborium`).
//!   Malformed input gives [`AttestationError::Malformed`]; it never panics.
//! - Error texts name the failed check and never carry challenges, keys or other secrets.
//! - Android's software attestation root is never a trust anchor ([`TrustAnchors`] refuses its
//!   key), and a `Software` attestation security level is refused whatever the chain.
//!
//! - [`AttestationPolicy`] (the deployment's policy file) checks what a wallet sends at
//!   enrolment and with each answer ([`AttestationPolicy::check_enrolment`],
//!   [`HardwareKeyRecord::check_co_signature`]), with typed refusals
//!   ([`AttestationRefusal`]: `attestation_required`, `attestation_invalid`).
//!
//! The caller provides the clock (`now`, Unix seconds) so verification is reproducible; tests
//! use the capture time of real device samples.

mod anchors;
mod android;
mod apple;
mod chain;
mod evidence;
mod key;
mod keydesc;
mod policy;
mod revocation;

pub use anchors::{pem_certificates, TrustAnchors};
pub use android::{
    check_key_description, verify_android, AcceptedKeyDescription, AndroidApp, AndroidPolicy,
    AndroidVerdict,
};
pub use apple::{
    verify_app_attest, verify_app_attest_assertion, AppAttestEnvironment, ApplePolicy, AppleVerdict,
};
pub use chain::certificate_key_description;
pub use evidence::{AttestationRefusal, HardwareKeyRecord, MAX_CHAIN_LEN};
pub use key::{AttestedKey, KeyAlgorithm};
pub use keydesc::{
    AttestationApplicationId, AttestationPackageInfo, AuthorizationList, KeyDescription,
    RootOfTrust, VerifiedBootState, KEY_DESCRIPTION_OID,
};
pub use policy::{
    AttestationPolicy, ClientRequirements, PlatformName, PolicyError, DEFAULT_REVOCATION_CHECK_SECS,
};
pub use revocation::{RevocationEntry, RevocationList, RevocationSource, RevocationStatus};

/// The platform whose attestation format produced a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Android Key Attestation (Keystore / KeyMint).
    Android,
    /// Apple App Attest (DeviceCheck).
    Apple,
}

/// Where the attested key lives, as the attestation states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecurityLevel {
    /// Android software keystore: no hardware protection (always refused).
    Software,
    /// Android Trusted Execution Environment (TEE).
    TrustedEnvironment,
    /// Android StrongBox: a separate secure element.
    StrongBox,
    /// Apple Secure Enclave (every App Attest key).
    SecureEnclave,
}

/// The platform-independent summary of an accepted attestation: what an enrolment stores and
/// an admin listing shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceAttestation {
    /// Which attestation format was verified.
    pub platform: Platform,
    /// Where the key lives.
    pub security_level: SecurityLevel,
    /// The app's identity: Android package name, or Apple `TEAMID.bundle.id`.
    pub app_id: String,
    /// Android verified boot state (`None` on Apple, which attests no boot state).
    pub boot_state: Option<VerifiedBootState>,
    /// Android bootloader locked (`None` on Apple).
    pub device_locked: Option<bool>,
    /// Android OS patch level as `YYYYMM` (`None` on Apple or when not attested).
    pub os_patch_level: Option<u32>,
    /// The attested public key, which can later co-sign approvals.
    pub public_key: AttestedKey,
}

/// Why an attestation was refused. One variant per check; texts name the check only.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// The input is not well-formed (bad PEM, DER, CBOR or a field of the wrong type or shape);
    /// the text names the part.
    #[error("malformed attestation: {0}")]
    Malformed(String),
    /// The certificate chain is broken: a signature, issuer/subject link, CA bit, path length,
    /// unsupported algorithm or critical extension; the text names which.
    #[error("invalid certificate chain: {0}")]
    ChainInvalid(&'static str),
    /// The chain does not end at a configured trust anchor.
    #[error("certificate chain does not end at a trusted root")]
    UntrustedRoot,
    /// A trust anchor was refused (Android's software attestation root, or a bad key).
    #[error("refused trust anchor: {0}")]
    BadTrustAnchor(&'static str),
    /// A certificate of the chain expired before the verification time.
    #[error("a certificate of the chain has expired")]
    Expired,
    /// A certificate of the chain is not yet valid at the verification time.
    #[error("a certificate of the chain is not yet valid")]
    NotYetValid,
    /// A certificate of the chain is on the revocation list (revoked or suspended).
    #[error("a certificate of the chain is revoked")]
    Revoked,
    /// The revocation list could not be read or parsed (the text names why).
    #[error("revocation list: {0}")]
    RevocationList(String),
    /// The attested challenge (nonce) is not the one this server issued.
    #[error("attestation challenge does not match")]
    ChallengeMismatch,
    /// The key is not in hardware the policy accepts (software, or TEE where StrongBox is
    /// required, or two disagreeing levels).
    #[error("security level refused: {0}")]
    SecurityLevel(&'static str),
    /// The key was not generated on the device (imported or derived).
    #[error("key origin is not GENERATED in secure hardware")]
    KeyOrigin,
    /// The key may not sign (purpose SIGN missing from the hardware-enforced list).
    #[error("key purpose SIGN is not hardware-enforced")]
    KeyPurpose,
    /// Boot state refused: no root of trust, verified boot not VERIFIED, or bootloader unlocked.
    #[error("boot state refused: {0}")]
    BootState(&'static str),
    /// The app (package and signing certificate, or Apple app id) is not an allowed one.
    #[error("app identity not allowed: {0}")]
    AppId(&'static str),
    /// The OS patch level is missing or below the policy's floor.
    #[error("OS patch level below the policy's floor or missing")]
    PatchLevel,
    /// The App Attest key id is not SHA-256 of the attested key, or the credential id differs.
    #[error("App Attest key id does not match the attested key")]
    KeyId,
    /// The App Attest environment (aaguid) is not the configured one.
    #[error("App Attest environment does not match the configured one")]
    Environment,
    /// The App Attest counter is wrong: not 0 at attestation, or not above the last one stored.
    #[error("App Attest counter refused")]
    Counter,
    /// A signature by the attested key does not verify.
    #[error("signature by the attested key does not verify")]
    Signature,
    /// The deployment's policy accepts no attestation of this platform.
    #[error("this server accepts no attestation of this platform")]
    PlatformNotAccepted,
}

impl AttestationError {
    /// A short stable name of the check that failed (for counting refusals; never input).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::ChainInvalid(_) => "chain_invalid",
            Self::UntrustedRoot => "untrusted_root",
            Self::BadTrustAnchor(_) => "bad_trust_anchor",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Revoked => "revoked",
            Self::RevocationList(_) => "revocation_list",
            Self::ChallengeMismatch => "challenge_mismatch",
            Self::SecurityLevel(_) => "security_level",
            Self::KeyOrigin => "key_origin",
            Self::KeyPurpose => "key_purpose",
            Self::BootState(_) => "boot_state",
            Self::AppId(_) => "app_id",
            Self::PatchLevel => "patch_level",
            Self::KeyId => "key_id",
            Self::Environment => "environment",
            Self::Counter => "counter",
            Self::Signature => "signature",
            Self::PlatformNotAccepted => "platform_not_accepted",
        }
    }
}

impl From<x509_cert::der::Error> for AttestationError {
    fn from(e: x509_cert::der::Error) -> Self {
        // The der crate's text names the tag and the position, never the value.
        AttestationError::Malformed(format!("DER: {e}"))
    }
}
