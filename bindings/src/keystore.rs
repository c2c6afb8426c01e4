// SPDX-License-Identifier: Apache-2.0
//! The platform keystore as a foreign trait: Kotlin (`AndroidKeystoreKeystore`) and Swift
//! (`SecureEnclaveKeystore`) implement [`PlatformKeystore`]; Rust calls it through
//! [`KeystoreBridge`].
//!
//! Guarantees:
//! - The trait has the shape of core's `PlatformKeystore` (prf, delete, is_hardware_backed,
//!   and the hardware-key capability of ADR 0001: attest, sign_attested, delete_attested);
//!   [`KeystoreBridge`] implements the core trait by mapping only. A keystore without secure
//!   hardware answers `None` from `attest` and `sign_attested`.
//! - PRF outputs are moved into [`Zeroizing`] buffers the moment they cross into Rust.
//! - An implementation that throws a [`VistalidError`] gives that error back to the caller;
//!   one that throws anything else gives [`VistalidError::Internal`]; neither panics.

use std::sync::Arc;

use vistalid_core::keystore::{KeystoreError, PlatformKeystore as CoreKeystore};
use vistalid_core::protocol;
use zeroize::Zeroizing;

use crate::error::VistalidError;

/// A keyed pseudo-random function whose key never leaves the device's secure hardware,
/// implemented by the app. Every PIN guess goes through [`PlatformKeystore::prf`], so a
/// copied wallet file cannot be brute-forced off the device.
///
/// Implementations throw [`VistalidError::KeystoreUnavailable`] when the hardware cannot be
/// used now (device locked) and [`VistalidError::KeyInvalidated`] when the platform destroyed
/// the key; anything else they throw is reported as [`VistalidError::Internal`].
#[uniffi::export(with_foreign)]
pub trait PlatformKeystore: Send + Sync {
    /// Returns the keyed function of `input` (32 bytes; deterministic for a given key and
    /// input). Creates the key on first use.
    fn prf(&self, input: Vec<u8>) -> Result<Vec<u8>, VistalidError>;
    /// Deletes the key for good (crypto-erase of the wallet). Deleting a missing key succeeds.
    fn delete(&self) -> Result<(), VistalidError>;
    /// Whether the key lives in secure hardware (StrongBox, TEE, Secure Enclave) rather than
    /// in software.
    fn is_hardware_backed(&self) -> bool;
    /// Optional capability (return `None` when the platform has none): generates a new P-256
    /// signing key named `alias` in secure hardware, replacing any key of that name, and
    /// returns the platform's evidence for the 32-byte `challenge`. Android: a key made with
    /// `setAttestationChallenge(challenge)`, its certificate chain (DER, leaf first). Apple:
    /// an App Attest key, its key id and `attestKey(clientDataHash: challenge)`'s object.
    /// `alias` is `hw-` and 16 hex digits, drawn by the wallet.
    fn attest(
        &self,
        alias: String,
        challenge: Vec<u8>,
    ) -> Result<Option<DeviceAttestation>, VistalidError>;
    /// Optional capability (return `None` when the platform has none): signs `message` with the
    /// hardware key `alias`. Android: SHA256withECDSA, the DER signature. Apple:
    /// `generateAssertion(clientDataHash: SHA-256(message))`. Throw
    /// [`VistalidError::KeyInvalidated`] when the key is gone.
    fn sign_attested(
        &self,
        alias: String,
        message: Vec<u8>,
    ) -> Result<Option<HardwareSignature>, VistalidError>;
    /// Deletes the hardware key `alias` (wipe, failed enrolment); deleting a missing key, or
    /// having no hardware keys at all, succeeds.
    fn delete_attested(&self, alias: String) -> Result<(), VistalidError>;
}

/// The platform's evidence for a hardware key (ADR 0001), as [`PlatformKeystore::attest`]
/// returns it. The wallet sends it at enrolment; the server verifies it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum DeviceAttestation {
    /// Android Key Attestation.
    AndroidKey {
        /// `KeyStore.getCertificateChain(alias)`, each certificate's DER, leaf first.
        chain: Vec<Vec<u8>>,
    },
    /// Apple App Attest.
    AppleAppAttest {
        /// The key id `generateKey` returned, base64-decoded (32 bytes).
        key_id: Vec<u8>,
        /// The CBOR attestation object `attestKey` returned.
        attestation_object: Vec<u8>,
    },
}

/// A hardware key's signature over an answer (ADR 0001), as
/// [`PlatformKeystore::sign_attested`] returns it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum HardwareSignature {
    /// Android: the DER ECDSA signature (SHA256withECDSA) over the message.
    AndroidKey {
        /// DER `ECDSA-Sig-Value`.
        signature: Vec<u8>,
    },
    /// Apple: the CBOR assertion `generateAssertion` returned.
    AppleAppAttest {
        /// The assertion.
        assertion: Vec<u8>,
    },
}

impl From<DeviceAttestation> for protocol::DeviceAttestation {
    fn from(a: DeviceAttestation) -> Self {
        match a {
            DeviceAttestation::AndroidKey { chain } => Self::AndroidKey { chain },
            DeviceAttestation::AppleAppAttest {
                key_id,
                attestation_object,
            } => Self::AppleAppAttest {
                key_id,
                object: attestation_object,
            },
        }
    }
}

impl From<HardwareSignature> for protocol::HardwareSignature {
    fn from(s: HardwareSignature) -> Self {
        match s {
            HardwareSignature::AndroidKey { signature } => Self::AndroidKey { signature },
            HardwareSignature::AppleAppAttest { assertion } => Self::AppleAppAttest { assertion },
        }
    }
}

/// Rust's handle on an app-provided [`PlatformKeystore`]: the place where foreign results
/// become Rust types (zeroized PRF output), and the implementation of core's
/// [`CoreKeystore`] the wallet uses. Foreign errors map to core's: `KeystoreUnavailable` to
/// `Unavailable`, `KeyInvalidated` to `KeyInvalidated`, anything else (including an
/// unexpected Kotlin/Swift exception) to `Failed`.
#[derive(Clone)]
pub(crate) struct KeystoreBridge {
    inner: Arc<dyn PlatformKeystore>,
}

impl KeystoreBridge {
    /// Wraps a foreign keystore.
    pub(crate) fn new(inner: Arc<dyn PlatformKeystore>) -> Self {
        Self { inner }
    }

    /// Calls the foreign PRF; the output is zeroized when dropped.
    pub(crate) fn prf(&self, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, VistalidError> {
        self.inner.prf(input.to_vec()).map(Zeroizing::new)
    }

    /// Calls the foreign hardware check.
    pub(crate) fn is_hardware_backed(&self) -> bool {
        self.inner.is_hardware_backed()
    }
}

/// Core's view of a foreign keystore error: the keystore's own variants keep their meaning,
/// every other one (an app throwing an unrelated error) becomes `Failed` with its text. No
/// catch-all arm: a new [`VistalidError`] variant must be placed here.
fn to_core(e: VistalidError) -> KeystoreError {
    match e {
        VistalidError::KeystoreUnavailable { reason } => KeystoreError::Unavailable(reason),
        VistalidError::KeyInvalidated => KeystoreError::KeyInvalidated,
        VistalidError::InvalidKeystoreOutput { length } => {
            KeystoreError::BadOutputLength(usize::try_from(length).unwrap_or(usize::MAX))
        }
        other @ (VistalidError::WrongPin { .. }
        | VistalidError::Locked
        | VistalidError::BlockedByServer
        | VistalidError::VaultOutdated
        | VistalidError::Backoff { .. }
        | VistalidError::WeakPin { .. }
        | VistalidError::NotEnrolled
        | VistalidError::NoSuchChallenge
        | VistalidError::ChallengeReplayed
        | VistalidError::InvalidCode
        | VistalidError::WrongCode
        | VistalidError::QrExpired
        | VistalidError::NoCredential
        | VistalidError::NoOfflineCode
        | VistalidError::Corrupt
        | VistalidError::ChallengeExpired
        | VistalidError::BadSignature
        | VistalidError::AccountAlreadyEnrolled
        | VistalidError::DeviceNotTrusted { .. }
        | VistalidError::NotALoginQr { .. }
        | VistalidError::ScanUnknownServer { .. }
        | VistalidError::ScanNoRequest
        | VistalidError::ScanRequired
        | VistalidError::ScanRefused { .. }
        | VistalidError::KeyRolloverRefused { .. }
        | VistalidError::Network { .. }
        | VistalidError::Server { .. }
        | VistalidError::InvalidInput { .. }
        | VistalidError::Internal { .. }) => KeystoreError::Failed(other.to_string()),
    }
}

impl CoreKeystore for KeystoreBridge {
    fn prf(&self, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        KeystoreBridge::prf(self, input).map_err(to_core)
    }

    fn delete(&self) -> Result<(), KeystoreError> {
        self.inner.delete().map_err(to_core)
    }

    fn is_hardware_backed(&self) -> bool {
        KeystoreBridge::is_hardware_backed(self)
    }

    fn attest(
        &self,
        alias: &str,
        challenge: &[u8; 32],
    ) -> Result<Option<protocol::DeviceAttestation>, KeystoreError> {
        let evidence = self.inner.attest(alias.to_owned(), challenge.to_vec());
        Ok(evidence.map_err(to_core)?.map(Into::into))
    }

    fn sign_attested(
        &self,
        alias: &str,
        message: &[u8],
    ) -> Result<Option<protocol::HardwareSignature>, KeystoreError> {
        let signature = self.inner.sign_attested(alias.to_owned(), message.to_vec());
        Ok(signature.map_err(to_core)?.map(Into::into))
    }

    fn delete_attested(&self, alias: &str) -> Result<(), KeystoreError> {
        self.inner
            .delete_attested(alias.to_owned())
            .map_err(to_core)
    }
}

/// What [`describe_keystore`] found out about an app's keystore.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct KeystoreDescription {
    /// Whether the keystore says its key is in secure hardware.
    pub hardware_backed: bool,
    /// Length in bytes of one PRF output (32 expected).
    pub prf_output_len: u32,
}

/// Runs the app's keystore once through the same bridge the wallet uses (one PRF call on
/// `probe_input` and the hardware flag) and reports what it saw: an integration check for the
/// app's settings or diagnostics screen. It makes no hardware key (attesting one is an
/// enrolment's job). Errors from the keystore come back unchanged.
#[uniffi::export]
pub fn describe_keystore(
    keystore: Arc<dyn PlatformKeystore>,
    probe_input: Vec<u8>,
) -> Result<KeystoreDescription, VistalidError> {
    let bridge = KeystoreBridge::new(keystore);
    let out = bridge.prf(&probe_input)?;
    Ok(KeystoreDescription {
        hardware_backed: bridge.is_hardware_backed(),
        prf_output_len: u32::try_from(out.len()).map_err(|_| VistalidError::InvalidInput {
            reason: "keystore PRF output longer than 4 GiB".into(),
        })?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Rust implementation used through the trait object, as a foreign one would be.
    struct Fixed {
        fail: Option<VistalidError>,
    }

    impl PlatformKeystore for Fixed {
        fn prf(&self, input: Vec<u8>) -> Result<Vec<u8>, VistalidError> {
            match &self.fail {
                Some(e) => Err(e.clone()),
                None => Ok(vec![input.len() as u8; 32]),
            }
        }
        fn delete(&self) -> Result<(), VistalidError> {
            Ok(())
        }
        fn is_hardware_backed(&self) -> bool {
            false
        }
        fn attest(
            &self,
            _alias: String,
            _challenge: Vec<u8>,
        ) -> Result<Option<DeviceAttestation>, VistalidError> {
            Ok(None)
        }
        fn sign_attested(
            &self,
            _alias: String,
            _message: Vec<u8>,
        ) -> Result<Option<HardwareSignature>, VistalidError> {
            Ok(None)
        }
        fn delete_attested(&self, _alias: String) -> Result<(), VistalidError> {
            Ok(())
        }
    }

    #[test]
    fn describe_reports_and_errors_pass_through() {
        let d = describe_keystore(Arc::new(Fixed { fail: None }), vec![1, 2]).expect("ok");
        assert_eq!(
            d,
            KeystoreDescription {
                hardware_backed: false,
                prf_output_len: 32
            }
        );
        let locked = Fixed {
            fail: Some(VistalidError::KeystoreUnavailable {
                reason: "locked".into(),
            }),
        };
        assert_eq!(
            describe_keystore(Arc::new(locked), vec![]),
            Err(VistalidError::KeystoreUnavailable {
                reason: "locked".into()
            })
        );
    }

    #[test]
    fn bridge_maps_foreign_errors_to_core_keystore_errors() {
        let bridge = |fail| KeystoreBridge::new(Arc::new(Fixed { fail: Some(fail) }));
        let core = |b: KeystoreBridge| {
            CoreKeystore::prf(&b, b"x")
                .map(|_| ())
                .expect_err("the keystore fails")
        };
        assert_eq!(
            core(bridge(VistalidError::KeystoreUnavailable {
                reason: "locked".into()
            })),
            KeystoreError::Unavailable("locked".into())
        );
        assert_eq!(
            core(bridge(VistalidError::KeyInvalidated)),
            KeystoreError::KeyInvalidated
        );
        assert!(matches!(
            core(bridge(VistalidError::Internal {
                reason: "foreign callback failed: boom".into()
            })),
            KeystoreError::Failed(r) if r.contains("boom")
        ));
        let ok = KeystoreBridge::new(Arc::new(Fixed { fail: None }));
        assert_eq!(
            CoreKeystore::prf(&ok, b"ab").expect("prf").as_slice(),
            &[2u8; 32]
        );
        assert!(!CoreKeystore::is_hardware_backed(&ok));
    }

    /// A foreign keystore with hardware keys: Android evidence for aliases ending in `a`,
    /// Apple evidence otherwise; `fail` is thrown by every hardware-key call when set.
    struct Hardware {
        fail: Option<VistalidError>,
        deleted: std::sync::Mutex<Vec<String>>,
    }

    impl PlatformKeystore for Hardware {
        fn prf(&self, _input: Vec<u8>) -> Result<Vec<u8>, VistalidError> {
            Ok(vec![0; 32])
        }
        fn delete(&self) -> Result<(), VistalidError> {
            Ok(())
        }
        fn is_hardware_backed(&self) -> bool {
            true
        }
        fn attest(
            &self,
            alias: String,
            challenge: Vec<u8>,
        ) -> Result<Option<DeviceAttestation>, VistalidError> {
            if let Some(e) = &self.fail {
                return Err(e.clone());
            }
            Ok(Some(if alias.ends_with('a') {
                DeviceAttestation::AndroidKey {
                    chain: vec![challenge, alias.into_bytes()],
                }
            } else {
                DeviceAttestation::AppleAppAttest {
                    key_id: alias.into_bytes(),
                    attestation_object: challenge,
                }
            }))
        }
        fn sign_attested(
            &self,
            alias: String,
            message: Vec<u8>,
        ) -> Result<Option<HardwareSignature>, VistalidError> {
            if let Some(e) = &self.fail {
                return Err(e.clone());
            }
            Ok(Some(if alias.ends_with('a') {
                HardwareSignature::AndroidKey { signature: message }
            } else {
                HardwareSignature::AppleAppAttest { assertion: message }
            }))
        }
        fn delete_attested(&self, alias: String) -> Result<(), VistalidError> {
            if let Some(e) = &self.fail {
                return Err(e.clone());
            }
            self.deleted.lock().expect("lock").push(alias);
            Ok(())
        }
    }

    #[test]
    fn bridge_maps_hardware_keys_field_by_field() {
        use protocol::{DeviceAttestation as Evidence, HardwareSignature as Signature};
        let foreign = Arc::new(Hardware {
            fail: None,
            deleted: Default::default(),
        });
        let bridge = KeystoreBridge::new(foreign.clone());
        let (android, apple) = ("hw-000000000000000a", "hw-000000000000000b");
        assert_eq!(
            CoreKeystore::attest(&bridge, android, &[7; 32]),
            Ok(Some(Evidence::AndroidKey {
                chain: vec![vec![7; 32], android.as_bytes().to_vec()]
            }))
        );
        assert_eq!(
            CoreKeystore::attest(&bridge, apple, &[8; 32]),
            Ok(Some(Evidence::AppleAppAttest {
                key_id: apple.as_bytes().to_vec(),
                object: vec![8; 32]
            }))
        );
        assert_eq!(
            CoreKeystore::sign_attested(&bridge, android, b"jws"),
            Ok(Some(Signature::AndroidKey {
                signature: b"jws".to_vec()
            }))
        );
        assert_eq!(
            CoreKeystore::sign_attested(&bridge, apple, b"jws"),
            Ok(Some(Signature::AppleAppAttest {
                assertion: b"jws".to_vec()
            }))
        );
        CoreKeystore::delete_attested(&bridge, apple).expect("delete");
        assert_eq!(
            *foreign.deleted.lock().expect("lock"),
            vec![apple.to_owned()]
        );

        // A keystore without the capability says so through the bridge.
        let plain = KeystoreBridge::new(Arc::new(Fixed { fail: None }));
        assert_eq!(CoreKeystore::attest(&plain, android, &[7; 32]), Ok(None));
        assert_eq!(CoreKeystore::sign_attested(&plain, android, b"m"), Ok(None));
    }

    #[test]
    fn bridge_maps_hardware_key_errors() {
        let failing = |fail| {
            KeystoreBridge::new(Arc::new(Hardware {
                fail: Some(fail),
                deleted: Default::default(),
            }))
        };
        let alias = "hw-000000000000000a";
        let b = failing(VistalidError::KeyInvalidated);
        assert_eq!(
            CoreKeystore::sign_attested(&b, alias, b"m"),
            Err(KeystoreError::KeyInvalidated)
        );
        let b = failing(VistalidError::KeystoreUnavailable {
            reason: "device locked".into(),
        });
        assert_eq!(
            CoreKeystore::attest(&b, alias, &[0; 32]),
            Err(KeystoreError::Unavailable("device locked".into()))
        );
        let b = failing(VistalidError::Internal {
            reason: "foreign callback failed: StrongBox went away".into(),
        });
        assert!(matches!(
            CoreKeystore::delete_attested(&b, alias),
            Err(KeystoreError::Failed(r)) if r.contains("StrongBox went away")
        ));
        let b = failing(VistalidError::InvalidKeystoreOutput { length: 31 });
        assert_eq!(
            CoreKeystore::attest(&b, alias, &[0; 32]),
            Err(KeystoreError::BadOutputLength(31))
        );
    }
}
