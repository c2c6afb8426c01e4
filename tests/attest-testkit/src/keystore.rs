// SPDX-License-Identifier: Apache-2.0
//! [`AttestingKeystore`]: a platform keystore for tests that really attests.
//!
//! It wraps another keystore for the vault's PRF (a `SoftwareKeystore` file, so a test can copy
//! the wallet with its key to another directory) and adds the hardware-key capability of ADR
//! 0001: per alias a fresh P-256 key, an Android Key Attestation chain (KeyDescription with
//! the wallet's challenge, TEE or StrongBox, origin generated, purpose sign, the root of
//! trust and the app id of [`AndroidKeyOptions`]) or an App Attest object for it, both under a
//! [`TestAttestationRoot`] the test configures as trusted; and signatures (Android) or
//! assertions with a rising counter (Apple) by that key.
//!
//! Guarantees: the key never leaves this object; [`AttestingKeystore::withhold_signatures`]
//! and [`AttestingKeystore::repeat_counter`] are the only ways to make it misbehave.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rcgen::{BasicConstraints, KeyPair};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use vistalid_core::attestation::is_hardware_alias;
use vistalid_core::keystore::{KeystoreError, PlatformKeystore};
use vistalid_core::protocol::{DeviceAttestation, HardwareSignature};
use zeroize::Zeroizing;

use crate::android::{
    android_links, application_id, root_of_trust, KeyDescriptionSpec, BOOT_UNVERIFIED,
    BOOT_VERIFIED, LEVEL_STRONGBOX, LEVEL_TEE, TEST_PACKAGE, TEST_SIGNER_DIGEST,
};
use crate::apple::{app_attest_for_hash, assertion, AppAttestSpec, AAGUID_PRODUCTION};
use crate::certs::{build_chain, p256, p384, params};
use crate::der::{int, octets};
use crate::sha256;

/// A test attestation root: its key and self-signed certificate, to configure as a trust
/// anchor (Android roots and the Apple root alike).
pub struct TestAttestationRoot {
    key_pkcs8: Zeroizing<Vec<u8>>,
    der: Vec<u8>,
    pem: String,
}

impl TestAttestationRoot {
    /// A fresh P-384 root.
    pub fn new() -> Self {
        let key = p384();
        let cert = params(
            "Test Attestation Root",
            Some(BasicConstraints::Unconstrained),
        )
        .self_signed(&key)
        .expect("self-signed root");
        Self {
            key_pkcs8: Zeroizing::new(key.serialize_der()),
            der: cert.der().to_vec(),
            pem: cert.pem(),
        }
    }

    /// The root certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The root certificate, PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The root's key pair (certificates built under it chain to [`Self::der`]'s key).
    pub fn key(&self) -> KeyPair {
        KeyPair::try_from(self.key_pkcs8.as_slice()).expect("the root key parses")
    }
}

impl Default for TestAttestationRoot {
    fn default() -> Self {
        Self::new()
    }
}

/// What the Android chains of an [`AttestingKeystore`] state.
#[derive(Clone, Debug)]
pub struct AndroidKeyOptions {
    /// StrongBox (true) or TEE (false) attestation and KeyMint security levels.
    pub strongbox: bool,
    /// Verified boot state VERIFIED (true) or UNVERIFIED (false).
    pub verified_boot: bool,
    /// Bootloader locked.
    pub device_locked: bool,
    /// The app's package name.
    pub package: String,
    /// SHA-256 of the app's signing certificate.
    pub signer_digest: [u8; 32],
    /// OS patch level, `YYYYMM`.
    pub os_patch_level: i64,
}

impl Default for AndroidKeyOptions {
    /// A genuine TEE key of the test app ([`TEST_PACKAGE`], [`TEST_SIGNER_DIGEST`]) on a
    /// locked, verified phone at patch level 2025-11.
    fn default() -> Self {
        Self {
            strongbox: false,
            verified_boot: true,
            device_locked: true,
            package: TEST_PACKAGE.to_owned(),
            signer_digest: TEST_SIGNER_DIGEST,
            os_patch_level: 202511,
        }
    }
}

impl AndroidKeyOptions {
    /// The KeyDescription of a key made for `challenge` under these options.
    pub fn key_description(&self, challenge: &[u8]) -> KeyDescriptionSpec {
        let mut kd = KeyDescriptionSpec::genuine(challenge);
        let level = if self.strongbox {
            LEVEL_STRONGBOX
        } else {
            LEVEL_TEE
        };
        kd.attestation_level = level;
        kd.keymint_level = level;
        let boot = if self.verified_boot {
            BOOT_VERIFIED
        } else {
            BOOT_UNVERIFIED
        };
        kd.set_hardware(704, root_of_trust(self.device_locked, boot));
        kd.set_hardware(706, int(self.os_patch_level));
        kd.set_software(
            709,
            octets(&application_id(&self.package, &self.signer_digest)),
        );
        kd
    }
}

/// Which platform's evidence the keystore makes.
#[derive(Clone, Debug)]
enum Platform {
    Android(AndroidKeyOptions),
    Apple { app_id: String, production: bool },
}

struct HardwareKey {
    pkcs8: Zeroizing<Vec<u8>>,
    /// Apple: the last assertion counter.
    counter: u32,
}

/// A test keystore with the hardware-key capability (see the module docs).
pub struct AttestingKeystore {
    inner: Arc<dyn PlatformKeystore>,
    root: Arc<TestAttestationRoot>,
    platform: Platform,
    keys: Mutex<HashMap<String, HardwareKey>>,
    withhold: AtomicBool,
    repeat_counter: AtomicBool,
}

impl AttestingKeystore {
    /// Android Key Attestation under `root`, with `inner` for the PRF.
    pub fn android(
        inner: Arc<dyn PlatformKeystore>,
        root: Arc<TestAttestationRoot>,
        options: AndroidKeyOptions,
    ) -> Self {
        Self::with(inner, root, Platform::Android(options))
    }

    /// Apple App Attest for `app_id` (`TEAMID.bundle.id`) under `root`, development
    /// environment (`production`: the production aaguid), with `inner` for the PRF.
    pub fn apple(
        inner: Arc<dyn PlatformKeystore>,
        root: Arc<TestAttestationRoot>,
        app_id: &str,
        production: bool,
    ) -> Self {
        let platform = Platform::Apple {
            app_id: app_id.to_owned(),
            production,
        };
        Self::with(inner, root, platform)
    }

    fn with(
        inner: Arc<dyn PlatformKeystore>,
        root: Arc<TestAttestationRoot>,
        platform: Platform,
    ) -> Self {
        Self {
            inner,
            root,
            platform,
            keys: Mutex::default(),
            withhold: AtomicBool::new(false),
            repeat_counter: AtomicBool::new(false),
        }
    }

    /// While `on`, [`PlatformKeystore::sign_attested`] answers `None`, as a keystore without
    /// the hardware key would.
    pub fn withhold_signatures(&self, on: bool) {
        self.withhold.store(on, Ordering::SeqCst);
    }

    /// While `on`, App Attest assertions reuse the last counter instead of raising it.
    pub fn repeat_counter(&self, on: bool) {
        self.repeat_counter.store(on, Ordering::SeqCst);
    }

    /// The aliases of the hardware keys held now, sorted.
    pub fn aliases(&self) -> Vec<String> {
        let mut out: Vec<String> = self.lock().keys().cloned().collect();
        out.sort();
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HardwareKey>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn evidence(&self, leaf: KeyPair, challenge: &[u8; 32]) -> DeviceAttestation {
        match &self.platform {
            Platform::Android(options) => {
                let kd = options.key_description(challenge).der();
                let chain = build_chain(android_links(kd, leaf, self.root.key()));
                DeviceAttestation::AndroidKey { chain }
            }
            Platform::Apple { app_id, production } => {
                let mut spec = AppAttestSpec::genuine(app_id);
                if *production {
                    spec.aaguid = AAGUID_PRODUCTION;
                }
                let built = app_attest_for_hash(&spec, challenge, leaf, self.root.key());
                DeviceAttestation::AppleAppAttest {
                    key_id: built.key_id.to_vec(),
                    object: built.object,
                }
            }
        }
    }
}

fn check_alias(alias: &str) -> Result<(), KeystoreError> {
    if is_hardware_alias(alias) {
        Ok(())
    } else {
        Err(KeystoreError::Failed("not a hardware key alias".into()))
    }
}

impl PlatformKeystore for AttestingKeystore {
    fn prf(&self, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        self.inner.prf(input)
    }

    fn delete(&self) -> Result<(), KeystoreError> {
        self.inner.delete()
    }

    fn is_hardware_backed(&self) -> bool {
        true
    }

    fn attest(
        &self,
        alias: &str,
        challenge: &[u8; 32],
    ) -> Result<Option<DeviceAttestation>, KeystoreError> {
        check_alias(alias)?;
        let leaf = p256();
        let pkcs8 = Zeroizing::new(leaf.serialize_der());
        let evidence = self.evidence(leaf, challenge);
        let key = HardwareKey { pkcs8, counter: 0 };
        self.lock().insert(alias.to_owned(), key);
        Ok(Some(evidence))
    }

    fn sign_attested(
        &self,
        alias: &str,
        message: &[u8],
    ) -> Result<Option<HardwareSignature>, KeystoreError> {
        check_alias(alias)?;
        if self.withhold.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let mut keys = self.lock();
        let key = keys.get_mut(alias).ok_or(KeystoreError::KeyInvalidated)?;
        match &self.platform {
            Platform::Android(_) => {
                let rng = SystemRandom::new();
                let pair =
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.pkcs8, &rng)
                        .map_err(|_| KeystoreError::Failed("hardware key".into()))?;
                let signature = pair
                    .sign(&rng, message)
                    .map_err(|_| KeystoreError::Failed("sign".into()))?;
                Ok(Some(HardwareSignature::AndroidKey {
                    signature: signature.as_ref().to_vec(),
                }))
            }
            Platform::Apple { app_id, .. } => {
                if !self.repeat_counter.load(Ordering::SeqCst) || key.counter == 0 {
                    key.counter += 1;
                }
                let assertion = assertion(&key.pkcs8, app_id, key.counter, &sha256(message));
                Ok(Some(HardwareSignature::AppleAppAttest { assertion }))
            }
        }
    }

    fn delete_attested(&self, alias: &str) -> Result<(), KeystoreError> {
        check_alias(alias)?;
        self.lock().remove(alias);
        Ok(())
    }
}

impl fmt::Debug for AttestingKeystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttestingKeystore")
            .field("platform", &self.platform)
            .field("aliases", &self.aliases())
            .finish_non_exhaustive()
    }
}
