// SPDX-License-Identifier: Apache-2.0
//! Android Key Attestation: the chain, the revocation list, then the KeyDescription against an
//! [`AndroidPolicy`].
//!
//! [`verify_android`] returns a verdict only when, in this order: every certificate and the
//! leaf's KeyDescription parse strictly ([`super::keydesc`]; a malformed input is reported as
//! [`AttestationError::Malformed`] before any signature is checked); the chain verifies
//! ([`super::chain`]) to a trust anchor at `now`; no certificate serial is on the revocation
//! list; and [`check_key_description`] accepts the KeyDescription. Every property that decides trust is read from the
//! hardware-enforced list (origin, purposes, root of trust, OS patch level); only the
//! attestationApplicationId comes from the software-enforced list, where Android puts it.

use subtle::ConstantTimeEq;

use super::anchors::TrustAnchors;
use super::chain::{self, ChainRules};
use super::keydesc::{KeyDescription, RootOfTrust, VerifiedBootState, KEY_DESCRIPTION_OID};
use super::keydesc::{ORIGIN_GENERATED, PURPOSE_SIGN};
use super::revocation::RevocationList;
use super::{AttestationError, AttestedKey, DeviceAttestation, Platform, SecurityLevel};

/// One Android app allowed to enrol: its package name and the SHA-256 digests of the
/// certificates it may be signed with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AndroidApp {
    /// Package name, e.g. `fr.example.wallet`.
    pub package_name: String,
    /// SHA-256 of each allowed signing certificate (32 bytes each).
    pub signing_cert_digests: Vec<Vec<u8>>,
}

/// What an Android attestation must show to be accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AndroidPolicy {
    /// Refuse TEE keys: only StrongBox (a separate secure element) is accepted.
    pub require_strongbox: bool,
    /// Refuse a verified boot state other than VERIFIED (unlocked or self-signed boot).
    pub require_verified_boot: bool,
    /// Refuse an unlocked bootloader.
    pub require_device_locked: bool,
    /// The apps allowed to enrol (empty: none is).
    pub allowed_apps: Vec<AndroidApp>,
    /// Lowest OS patch level accepted, `YYYYMM` (`None`: no floor).
    pub min_os_patch_level: Option<u32>,
}

impl AndroidPolicy {
    /// The strict default for `allowed_apps`: TEE or StrongBox, verified boot and a locked
    /// bootloader required, no patch floor.
    pub fn new(allowed_apps: Vec<AndroidApp>) -> Self {
        Self {
            require_strongbox: false,
            require_verified_boot: true,
            require_device_locked: true,
            allowed_apps,
            min_os_patch_level: None,
        }
    }
}

/// An accepted Android attestation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AndroidVerdict {
    /// TEE or StrongBox.
    pub security_level: SecurityLevel,
    /// The allowed package that generated the key.
    pub package_name: String,
    /// SHA-256 digests of the app's signing certificates.
    pub signing_cert_digests: Vec<Vec<u8>>,
    /// The device's root of trust (boot state, lock state).
    pub root_of_trust: RootOfTrust,
    /// OS patch level, `YYYYMM`, if attested.
    pub os_patch_level: Option<u32>,
    /// The attested key (the leaf certificate's key).
    pub attested_key: AttestedKey,
    /// The whole parsed KeyDescription.
    pub key_description: KeyDescription,
}

impl AndroidVerdict {
    /// The platform-independent summary of this verdict.
    pub fn summary(&self) -> DeviceAttestation {
        DeviceAttestation {
            platform: Platform::Android,
            security_level: self.security_level,
            app_id: self.package_name.clone(),
            boot_state: Some(self.root_of_trust.verified_boot_state),
            device_locked: Some(self.root_of_trust.device_locked),
            os_patch_level: self.os_patch_level,
            public_key: self.attested_key.clone(),
        }
    }
}

/// Verifies an Android Key Attestation chain (DER certificates, leaf first, as
/// `KeyStore.getCertificateChain` returns them) for `expected_challenge` at `now` (Unix
/// seconds).
pub fn verify_android(
    chain_der: &[Vec<u8>],
    expected_challenge: &[u8],
    policy: &AndroidPolicy,
    trust: &TrustAnchors,
    revocations: &RevocationList,
    now: i64,
) -> Result<AndroidVerdict, AttestationError> {
    // Structure first (every certificate, then the KeyDescription), so malformed input is
    // reported as such; then signatures and trust; then the revocation list; then the policy.
    let certs = chain::parse_chain(chain_der)?;
    let leaf = &certs[0];
    let extension = leaf
        .extension(&KEY_DESCRIPTION_OID)
        .ok_or_else(|| chain::malformed("leaf certificate has no KeyDescription extension"))?;
    let key_description = KeyDescription::parse(extension)?;
    let rules = ChainRules {
        leaf_issuer_may_be_end_entity: true,
    };
    chain::verify_chain(&certs, trust, now, rules)?;
    revocations.check(&certs)?;
    let accepted = check_key_description(&key_description, expected_challenge, policy)?;
    Ok(AndroidVerdict {
        security_level: key_description.attestation_security_level,
        package_name: accepted.package_name,
        signing_cert_digests: accepted.signing_cert_digests,
        root_of_trust: accepted.root_of_trust,
        os_patch_level: key_description.hardware_enforced.os_patch_level,
        attested_key: leaf.key().clone(),
        key_description,
    })
}

/// What [`check_key_description`] accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedKeyDescription {
    /// The allowed package that generated the key.
    pub package_name: String,
    /// Its signing certificate digests.
    pub signing_cert_digests: Vec<Vec<u8>>,
    /// The hardware-enforced root of trust.
    pub root_of_trust: RootOfTrust,
}

/// Checks a parsed KeyDescription against the expected challenge and `policy` (the part of
/// [`verify_android`] after the chain), in this order: challenge, security levels, origin,
/// purpose, root of trust, app, OS patch level.
pub fn check_key_description(
    kd: &KeyDescription,
    expected_challenge: &[u8],
    policy: &AndroidPolicy,
) -> Result<AcceptedKeyDescription, AttestationError> {
    let challenge_ok: bool = kd.attestation_challenge.ct_eq(expected_challenge).into();
    if !challenge_ok {
        return Err(AttestationError::ChallengeMismatch);
    }
    check_security_level(kd, policy)?;
    let hw = &kd.hardware_enforced;
    if hw.origin != Some(ORIGIN_GENERATED) {
        return Err(AttestationError::KeyOrigin);
    }
    if !hw
        .purposes
        .as_ref()
        .is_some_and(|p| p.contains(&PURPOSE_SIGN))
    {
        return Err(AttestationError::KeyPurpose);
    }
    let rot = hw.root_of_trust.clone().ok_or(AttestationError::BootState(
        "no hardware-enforced root of trust",
    ))?;
    if policy.require_verified_boot && rot.verified_boot_state != VerifiedBootState::Verified {
        return Err(AttestationError::BootState(
            "verified boot state is not VERIFIED",
        ));
    }
    if policy.require_device_locked && !rot.device_locked {
        return Err(AttestationError::BootState("bootloader is unlocked"));
    }
    let (package_name, signing_cert_digests) = check_app(kd, policy)?;
    if let Some(floor) = policy.min_os_patch_level {
        if hw.os_patch_level.is_none_or(|level| level < floor) {
            return Err(AttestationError::PatchLevel);
        }
    }
    Ok(AcceptedKeyDescription {
        package_name,
        signing_cert_digests,
        root_of_trust: rot,
    })
}

fn check_security_level(
    kd: &KeyDescription,
    policy: &AndroidPolicy,
) -> Result<(), AttestationError> {
    let (attestation, keymint) = (kd.attestation_security_level, kd.keymint_security_level);
    if attestation == SecurityLevel::Software || keymint == SecurityLevel::Software {
        return Err(AttestationError::SecurityLevel("software attestation"));
    }
    if attestation != keymint {
        return Err(AttestationError::SecurityLevel(
            "attestation and KeyMint security levels differ",
        ));
    }
    if policy.require_strongbox && attestation != SecurityLevel::StrongBox {
        return Err(AttestationError::SecurityLevel("StrongBox required"));
    }
    Ok(())
}

/// The allowed package that generated the key, and its digests: one attested package must be
/// allowed, and every attested signing digest must be one of its allowed digests.
fn check_app(
    kd: &KeyDescription,
    policy: &AndroidPolicy,
) -> Result<(String, Vec<Vec<u8>>), AttestationError> {
    let app_id = kd
        .software_enforced
        .attestation_application_id
        .as_ref()
        .or(kd.hardware_enforced.attestation_application_id.as_ref())
        .ok_or(AttestationError::AppId("no attestationApplicationId"))?;
    let allowed = policy
        .allowed_apps
        .iter()
        .find(|app| app_id.packages.iter().any(|p| p.name == app.package_name))
        .ok_or(AttestationError::AppId("package not allowed"))?;
    let digests = &app_id.signature_digests;
    if digests.is_empty()
        || !digests
            .iter()
            .all(|d| allowed.signing_cert_digests.contains(d))
    {
        return Err(AttestationError::AppId("signing certificate not allowed"));
    }
    Ok((allowed.package_name.clone(), digests.clone()))
}
