// SPDX-License-Identifier: Apache-2.0
//! The platform keystore as a foreign trait: Kotlin (`AndroidKeystoreKeystore`) and Swift
//! (`SecureEnclaveKeystore`) implement [`PlatformKeystore`]; Rust calls it through
//! [`KeystoreBridge`].
//!
//! Guarantees:
//! - The trait has the shape of core's `PlatformKeystore` (prf, delete, attestation,
//!   is_hardware_backed); [`KeystoreBridge`] implements the core trait by mapping only.
//! - PRF outputs are moved into [`Zeroizing`] buffers the moment they cross into Rust.
//! - An implementation that throws a [`VistalidError`] gives that error back to the caller;
//!   one that throws anything else gives [`VistalidError::Internal`]; neither panics.

use std::sync::Arc;

use vistalid_core::keystore::{KeystoreError, PlatformKeystore as CoreKeystore};
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
    /// A platform attestation of the key (Android key attestation chain, DER certificates
    /// concatenated as the platform gives them), or `None` where the platform has none.
    fn attestation(&self) -> Result<Option<Vec<u8>>, VistalidError>;
    /// Whether the key lives in secure hardware (StrongBox, TEE, Secure Enclave) rather than
    /// in software.
    fn is_hardware_backed(&self) -> bool;
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

    /// Calls the foreign attestation.
    pub(crate) fn attestation(&self) -> Result<Option<Vec<u8>>, VistalidError> {
        self.inner.attestation()
    }

    /// Calls the foreign hardware check.
    pub(crate) fn is_hardware_backed(&self) -> bool {
        self.inner.is_hardware_backed()
    }
}

/// Core's view of a foreign keystore error.
fn to_core(e: VistalidError) -> KeystoreError {
    match e {
        VistalidError::KeystoreUnavailable { reason } => KeystoreError::Unavailable(reason),
        VistalidError::KeyInvalidated => KeystoreError::KeyInvalidated,
        other => KeystoreError::Failed(other.to_string()),
    }
}

impl CoreKeystore for KeystoreBridge {
    fn prf(&self, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        KeystoreBridge::prf(self, input).map_err(to_core)
    }

    fn delete(&self) -> Result<(), KeystoreError> {
        self.inner.delete().map_err(to_core)
    }

    fn attestation(&self) -> Result<Option<Vec<u8>>, KeystoreError> {
        KeystoreBridge::attestation(self).map_err(to_core)
    }

    fn is_hardware_backed(&self) -> bool {
        KeystoreBridge::is_hardware_backed(self)
    }
}

/// What [`describe_keystore`] found out about an app's keystore.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct KeystoreDescription {
    /// Whether the keystore says its key is in secure hardware.
    pub hardware_backed: bool,
    /// Whether the keystore returned an attestation.
    pub has_attestation: bool,
    /// Length in bytes of one PRF output (32 expected).
    pub prf_output_len: u32,
}

/// Runs the app's keystore once through the same bridge the wallet uses (one PRF call on
/// `probe_input`, the attestation and the hardware flag) and reports what it saw: an
/// integration check for the app's settings or diagnostics screen. Errors from the keystore
/// come back unchanged.
#[uniffi::export]
pub fn describe_keystore(
    keystore: Arc<dyn PlatformKeystore>,
    probe_input: Vec<u8>,
) -> Result<KeystoreDescription, VistalidError> {
    let bridge = KeystoreBridge::new(keystore);
    let out = bridge.prf(&probe_input)?;
    Ok(KeystoreDescription {
        hardware_backed: bridge.is_hardware_backed(),
        has_attestation: bridge.attestation()?.is_some(),
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
        fn attestation(&self) -> Result<Option<Vec<u8>>, VistalidError> {
            Ok(None)
        }
        fn is_hardware_backed(&self) -> bool {
            false
        }
    }

    #[test]
    fn describe_reports_and_errors_pass_through() {
        let d = describe_keystore(Arc::new(Fixed { fail: None }), vec![1, 2]).expect("ok");
        assert_eq!(
            d,
            KeystoreDescription {
                hardware_backed: false,
                has_attestation: false,
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
}
