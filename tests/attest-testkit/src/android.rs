// SPDX-License-Identifier: Apache-2.0
//! Android Key Attestation as the tests build it: a KeyDescription (the leaf extension
//! 1.3.6.1.4.1.11129.2.1.17, Keymaster/KeyMint schema) and certificate chains under a test
//! root. [`KeyDescriptionSpec::genuine`] is what a genuine TEE key of the test app shows.

use rcgen::{BasicConstraints, CustomExtension, KeyPair};

pub use crate::certs::{build_chain, p256, p384, params, Link, INSIDE};
use crate::der::{boolean, enumerated, explicit, int, null, octets, seq, set};

/// The test app's package name.
pub const TEST_PACKAGE: &str = "fr.vistalid.test";
/// The SHA-256 digest of the test app's signing certificate.
pub const TEST_SIGNER_DIGEST: [u8; 32] = [0x5a; 32];

/// `attestationSecurityLevel` / `keyMintSecurityLevel` of a TEE key.
pub const LEVEL_TEE: i64 = 1;
/// `attestationSecurityLevel` / `keyMintSecurityLevel` of a StrongBox key.
pub const LEVEL_STRONGBOX: i64 = 2;
/// `VerifiedBootState` VERIFIED.
pub const BOOT_VERIFIED: i64 = 0;
/// `VerifiedBootState` UNVERIFIED (an unlocked bootloader).
pub const BOOT_UNVERIFIED: i64 = 2;

/// A KeyDescription to encode: lists are `(tag, inner DER)` entries in the given order.
#[derive(Clone)]
pub struct KeyDescriptionSpec {
    /// `attestationVersion` (and `keyMintVersion`).
    pub attestation_version: i64,
    /// `attestationSecurityLevel`.
    pub attestation_level: i64,
    /// `keyMintSecurityLevel`.
    pub keymint_level: i64,
    /// `attestationChallenge`.
    pub challenge: Vec<u8>,
    /// `softwareEnforced` entries.
    pub software: Vec<(u32, Vec<u8>)>,
    /// `hardwareEnforced` entries.
    pub hardware: Vec<(u32, Vec<u8>)>,
}

/// `RootOfTrust` DER.
pub fn root_of_trust(locked: bool, state: i64) -> Vec<u8> {
    seq(&[
        octets(&[0x11; 32]),
        boolean(locked),
        enumerated(state),
        octets(&[0x22; 32]),
    ])
}

/// `AttestationApplicationId` DER for one package signed by `digest`.
pub fn application_id(package: &str, digest: &[u8]) -> Vec<u8> {
    seq(&[
        set(&[seq(&[octets(package.as_bytes()), int(7)])]),
        set(&[octets(digest)]),
    ])
}

impl KeyDescriptionSpec {
    /// What a genuine TEE key of the test app looks like: EC P-256, generated, SIGN, verified
    /// boot, locked, patch level 2025-11.
    pub fn genuine(challenge: &[u8]) -> Self {
        Self {
            attestation_version: 400,
            attestation_level: LEVEL_TEE,
            keymint_level: LEVEL_TEE,
            challenge: challenge.to_vec(),
            software: vec![
                (701, int(1_760_000_000_000)),
                (
                    709,
                    octets(&application_id(TEST_PACKAGE, &TEST_SIGNER_DIGEST)),
                ),
            ],
            hardware: vec![
                (1, set(&[int(2), int(3)])),
                (2, int(3)),
                (3, int(256)),
                (10, int(1)),
                (503, null()),
                (702, int(0)),
                (704, root_of_trust(true, BOOT_VERIFIED)),
                (705, int(160000)),
                (706, int(202511)),
                (718, int(20251105)),
                (719, int(20251105)),
            ],
        }
    }

    /// Replaces (or inserts, keeping tag order) hardware entry `tag`.
    pub fn set_hardware(&mut self, tag: u32, inner: Vec<u8>) -> &mut Self {
        set_entry(&mut self.hardware, tag, inner);
        self
    }

    /// Removes hardware entry `tag`.
    pub fn remove_hardware(&mut self, tag: u32) -> &mut Self {
        self.hardware.retain(|(t, _)| *t != tag);
        self
    }

    /// Replaces (or inserts, keeping tag order) software entry `tag`.
    pub fn set_software(&mut self, tag: u32, inner: Vec<u8>) -> &mut Self {
        set_entry(&mut self.software, tag, inner);
        self
    }

    /// The KeyDescription's DER.
    pub fn der(&self) -> Vec<u8> {
        let list = |entries: &[(u32, Vec<u8>)]| {
            seq(&entries
                .iter()
                .map(|(t, v)| explicit(*t, v))
                .collect::<Vec<_>>())
        };
        seq(&[
            int(self.attestation_version),
            enumerated(self.attestation_level),
            int(self.attestation_version),
            enumerated(self.keymint_level),
            octets(&self.challenge),
            octets(b""),
            list(&self.software),
            list(&self.hardware),
        ])
    }
}

fn set_entry(entries: &mut Vec<(u32, Vec<u8>)>, tag: u32, inner: Vec<u8>) {
    entries.retain(|(t, _)| *t != tag);
    let at = entries
        .iter()
        .position(|(t, _)| *t > tag)
        .unwrap_or(entries.len());
    entries.insert(at, (tag, inner));
}

/// The KeyDescription extension for rcgen.
pub fn key_description_extension(der: Vec<u8>) -> CustomExtension {
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 11129, 2, 1, 17], der)
}

/// The standard Android test chain: root, intermediate CA, attestation key CA, leaf with the
/// KeyDescription `kd` (DER, leaf first; the root is the last certificate).
pub fn android_chain(kd: Vec<u8>) -> Vec<Vec<u8>> {
    android_chain_with_root(kd, p384())
}

/// [`android_chain`] under a root with the given key.
pub fn android_chain_with_root(kd: Vec<u8>, root_key: KeyPair) -> Vec<Vec<u8>> {
    build_chain(android_links(kd, p256(), root_key))
}

/// The links of [`android_chain`] with the given leaf and root keys, to alter one before
/// [`build_chain`].
pub fn android_links(kd: Vec<u8>, leaf_key: KeyPair, root_key: KeyPair) -> Vec<Link> {
    let mut leaf = params("Android Keystore Key", None);
    leaf.custom_extensions.push(key_description_extension(kd));
    let link = |params, key| Link { params, key };
    vec![
        link(leaf, leaf_key),
        link(
            params("Test TEE", Some(BasicConstraints::Unconstrained)),
            p256(),
        ),
        link(
            params("Test Droid CA", Some(BasicConstraints::Constrained(2))),
            p256(),
        ),
        link(
            params(
                "Test Attestation Root",
                Some(BasicConstraints::Unconstrained),
            ),
            root_key,
        ),
    ]
}
