// SPDX-License-Identifier: Apache-2.0
//! The platform keystore: a keyed pseudo-random function whose key should never leave secure
//! hardware (Android StrongBox/TEE HMAC key, iOS Secure Enclave ECDH key).
//!
//! Guarantees:
//! - [`PlatformKeystore`] is what the vault needs from the platform; mobile shells implement
//!   it over the hardware, and [`PlatformKeystore::is_hardware_backed`] says honestly whether
//!   they do.
//! - [`SoftwareKeystore`] keeps an HMAC-SHA256 key in a `0600` file written crash-safely. It
//!   is **not** hardware-backed: anyone who copies that file with the vault can brute-force
//!   the PIN off the device. It serves desktop, the CLI and tests.
//! - [`MemoryKeystore`] holds a random key in memory, for tests.
//! - Hardware keys (ADR 0001) are an optional capability: [`PlatformKeystore::attest`],
//!   [`PlatformKeystore::sign_attested`] and [`PlatformKeystore::delete_attested`] have
//!   default methods that answer "not supported" (`Ok(None)`, and nothing to delete), so a
//!   keystore without secure hardware says so instead of pretending. [`SoftwareKeystore`] and
//!   [`MemoryKeystore`] keep those defaults: they can neither attest nor co-sign.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::protocol::{DeviceAttestation, HardwareSignature};
use crate::vault::storage;

/// Length of the PRF output and of the software keys.
pub const PRF_LEN: usize = 32;

/// Errors of a platform keystore.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeystoreError {
    /// No secure hardware, or the platform refused access to the key (for instance the
    /// device is locked); the text is a platform message without secrets.
    #[error("keystore unavailable: {0}")]
    Unavailable(String),
    /// The key is lost or was invalidated (new biometrics enrolled, factory reset, ...); data
    /// sealed under it can no longer be opened.
    #[error("keystore key invalidated")]
    KeyInvalidated,
    /// Any other platform failure; the text is a platform message without secrets.
    #[error("keystore failure: {0}")]
    Failed(String),
    /// The PRF answered this many bytes instead of [`PRF_LEN`]: the keystore implementation is
    /// broken (an empty or short answer would leave the vault's keys to Argon2 alone). The
    /// vault refuses it before deriving anything from it.
    #[error("keystore PRF answered {0} bytes instead of 32")]
    BadOutputLength(usize),
}

/// What the platform provides: a keyed PRF whose key never leaves secure hardware.
pub trait PlatformKeystore: Send + Sync {
    /// HMAC-like keyed PRF: exactly [`PRF_LEN`] (32) bytes out, same input -> same output for
    /// the life of the key. Creates the key on first use. The vault refuses any other length
    /// ([`KeystoreError::BadOutputLength`]).
    fn prf(&self, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError>;

    /// Deletes the key (crypto-erase). Idempotent.
    fn delete(&self) -> Result<(), KeystoreError>;

    /// True only when the key lives in secure hardware.
    fn is_hardware_backed(&self) -> bool;

    /// Optional capability: generates a new P-256 signing key named `alias` (a
    /// [`crate::attestation::is_hardware_alias`] shape, drawn by the wallet) in secure
    /// hardware, bound to `challenge` ([`crate::attestation::attestation_challenge`]), and
    /// returns the platform's evidence for it: Android's certificate chain made with
    /// `setAttestationChallenge(challenge)`, or Apple's App Attest object with
    /// `clientDataHash = challenge`. A key already under `alias` is replaced.
    ///
    /// `Ok(None)` (the default): this keystore cannot attest; the wallet then enrols without a
    /// hardware key, where the server's policy allows it.
    fn attest(
        &self,
        alias: &str,
        challenge: &[u8; 32],
    ) -> Result<Option<DeviceAttestation>, KeystoreError> {
        let _ = (alias, challenge);
        Ok(None)
    }

    /// Optional capability: signs `message` with the hardware key `alias` made by
    /// [`PlatformKeystore::attest`]: Android, a DER ECDSA-SHA256 signature over `message`;
    /// Apple, an App Attest assertion with `clientDataHash = SHA-256(message)`.
    ///
    /// `Ok(None)` (the default): this keystore has no hardware keys. A keystore that has the
    /// capability but lost the key answers [`KeystoreError::KeyInvalidated`].
    fn sign_attested(
        &self,
        alias: &str,
        message: &[u8],
    ) -> Result<Option<HardwareSignature>, KeystoreError> {
        let _ = (alias, message);
        Ok(None)
    }

    /// Optional capability: deletes the hardware key `alias` (account removal, wipe, a failed
    /// enrolment). Idempotent; the default has nothing to delete.
    fn delete_attested(&self, alias: &str) -> Result<(), KeystoreError> {
        let _ = alias;
        Ok(())
    }
}

fn hmac_prf(key: &[u8; PRF_LEN], input: &[u8]) -> Zeroizing<Vec<u8>> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    Zeroizing::new(hmac::sign(&key, input).as_ref().to_vec())
}

fn random_key() -> Result<Zeroizing<[u8; PRF_LEN]>, KeystoreError> {
    let mut key = Zeroizing::new([0u8; PRF_LEN]);
    SystemRandom::new()
        .fill(key.as_mut())
        .map_err(|_| KeystoreError::Failed("random generator failure".into()))?;
    Ok(key)
}

/// NOT hardware-backed: an HMAC-SHA256 key in a file (`0600`, crash-safe write). For
/// desktop, CLI, tests. The key file is created on the first [`PlatformKeystore::prf`] call;
/// two processes racing to create it end up with the same key.
pub struct SoftwareKeystore {
    path: PathBuf,
    cached: Mutex<Option<Zeroizing<[u8; PRF_LEN]>>>,
}

impl SoftwareKeystore {
    /// A keystore whose key lives in the file at `path` (its directory must exist). Nothing
    /// is read or written until first use.
    pub fn open(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            cached: Mutex::new(None),
        }
    }

    fn split_path(&self) -> Result<(&Path, &str), KeystoreError> {
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = self
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| KeystoreError::Failed("key file path has no UTF-8 file name".into()))?;
        Ok((dir, name))
    }

    fn load_or_create(&self) -> Result<Zeroizing<[u8; PRF_LEN]>, KeystoreError> {
        let (dir, name) = self.split_path()?;
        let io_err = |e: std::io::Error| KeystoreError::Failed(format!("key file: {}", e.kind()));
        loop {
            match storage::read(dir, name) {
                Ok(bytes) => {
                    let bytes = Zeroizing::new(bytes);
                    let key: [u8; PRF_LEN] = bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| KeystoreError::Failed("key file has a wrong length".into()))?;
                    return Ok(Zeroizing::new(key));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let key = random_key()?;
                    if storage::create_atomic(dir, name, key.as_ref()).map_err(io_err)? {
                        return Ok(key);
                    }
                    // Another process created it first: loop and read theirs.
                }
                Err(e) => return Err(io_err(e)),
            }
        }
    }
}

impl PlatformKeystore for SoftwareKeystore {
    fn prf(&self, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        if cached.is_none() {
            *cached = Some(self.load_or_create()?);
        }
        let key = cached.as_ref().expect("the key was just loaded");
        Ok(hmac_prf(key, input))
    }

    fn delete(&self) -> Result<(), KeystoreError> {
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        *cached = None;
        let (dir, name) = self.split_path()?;
        storage::remove(dir, name)
            .and_then(|()| storage::sync_dir(dir))
            .map_err(|e| KeystoreError::Failed(format!("key file: {}", e.kind())))
    }

    fn is_hardware_backed(&self) -> bool {
        false
    }
}

impl fmt::Debug for SoftwareKeystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareKeystore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// In-memory keystore for tests (random key per instance). After [`PlatformKeystore::delete`]
/// the next `prf` call creates a new random key, as a platform keystore would.
pub struct MemoryKeystore {
    key: Mutex<Option<Zeroizing<[u8; PRF_LEN]>>>,
}

impl MemoryKeystore {
    /// A keystore with a fresh random key.
    ///
    /// # Panics
    /// Panics if the operating system's random generator fails (tests only).
    pub fn new() -> Self {
        Self {
            key: Mutex::new(Some(random_key().expect("OS random generator"))),
        }
    }
}

impl Default for MemoryKeystore {
    fn default() -> Self {
        Self::new()
    }
}

impl PlatformKeystore for MemoryKeystore {
    fn prf(&self, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        let mut key = self.key.lock().unwrap_or_else(PoisonError::into_inner);
        if key.is_none() {
            *key = Some(random_key()?);
        }
        Ok(hmac_prf(key.as_ref().expect("the key was just set"), input))
    }

    fn delete(&self) -> Result<(), KeystoreError> {
        *self.key.lock().unwrap_or_else(PoisonError::into_inner) = None;
        Ok(())
    }

    fn is_hardware_backed(&self) -> bool {
        false
    }
}

impl fmt::Debug for MemoryKeystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemoryKeystore(***)")
    }
}

/// Test-only: a broken keystore, over a [`MemoryKeystore`], whose PRF answers are cut or
/// padded to `len` bytes while `broken` is set, for inputs of `only_for` bytes (or all).
#[cfg(test)]
pub(crate) struct BadLengthKeystore {
    inner: MemoryKeystore,
    len: usize,
    only_for: Option<usize>,
    /// Whether the PRF answers the wrong length now.
    pub(crate) broken: std::sync::atomic::AtomicBool,
}

#[cfg(test)]
impl BadLengthKeystore {
    /// A keystore answering `len` bytes (from the start) for inputs of `only_for` bytes, or
    /// for every input.
    pub(crate) fn new(len: usize, only_for: Option<usize>) -> Self {
        Self {
            inner: MemoryKeystore::new(),
            len,
            only_for,
            broken: true.into(),
        }
    }
}

#[cfg(test)]
impl PlatformKeystore for BadLengthKeystore {
    fn prf(&self, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        let mut out = self.inner.prf(input)?;
        let broken = self.broken.load(std::sync::atomic::Ordering::SeqCst);
        if broken && self.only_for.is_none_or(|n| n == input.len()) {
            out.resize(self.len, 0);
        }
        Ok(out)
    }

    fn delete(&self) -> Result<(), KeystoreError> {
        self.inner.delete()
    }

    fn is_hardware_backed(&self) -> bool {
        false
    }
}

/// Test-only: a keystore with the hardware-key capability in a fake format (the unit tests'
/// canned server reads it; the real Android and Apple formats are built and verified by the
/// `vistalid-attest-testkit` crate and the end-to-end tests). `attest` answers an Android
/// "chain" of two entries, the challenge and the key's SEC1 point; `sign_attested` answers
/// the raw `r || s` ES256 signature.
#[cfg(test)]
pub(crate) struct FakeHardwareKeystore {
    inner: MemoryKeystore,
    keys: Mutex<std::collections::HashMap<String, crate::keys::SigningKey>>,
    /// Every alias deleted, in order.
    pub(crate) deleted: Mutex<Vec<String>>,
    /// Number of `sign_attested` calls.
    pub(crate) signatures: std::sync::atomic::AtomicUsize,
    /// While set, `sign_attested` answers `None` (a keystore without the hardware key).
    pub(crate) withhold: std::sync::atomic::AtomicBool,
}

#[cfg(test)]
impl FakeHardwareKeystore {
    pub(crate) fn new() -> Self {
        Self {
            inner: MemoryKeystore::new(),
            keys: Mutex::default(),
            deleted: Mutex::default(),
            signatures: 0.into(),
            withhold: false.into(),
        }
    }

    /// The public key under `alias`, if any.
    pub(crate) fn public_key(&self, alias: &str) -> Option<crate::keys::PublicKey> {
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.get(alias).map(|k| k.public_key())
    }

    /// The aliases held now, sorted.
    pub(crate) fn aliases(&self) -> Vec<String> {
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<String> = keys.keys().cloned().collect();
        out.sort();
        out
    }
}

#[cfg(test)]
impl PlatformKeystore for FakeHardwareKeystore {
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
        assert!(crate::attestation::is_hardware_alias(alias), "{alias}");
        let key =
            crate::keys::SigningKey::make().map_err(|_| KeystoreError::Failed("key".into()))?;
        let chain = vec![challenge.to_vec(), key.public_key().as_sec1().to_vec()];
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.insert(alias.to_owned(), key);
        Ok(Some(DeviceAttestation::AndroidKey { chain }))
    }

    fn sign_attested(
        &self,
        alias: &str,
        message: &[u8],
    ) -> Result<Option<HardwareSignature>, KeystoreError> {
        use std::sync::atomic::Ordering;
        self.signatures.fetch_add(1, Ordering::SeqCst);
        if self.withhold.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let key = keys.get(alias).ok_or(KeystoreError::KeyInvalidated)?;
        let signature = key
            .sign(message)
            .map_err(|_| KeystoreError::Failed("sign".into()))?
            .to_vec();
        Ok(Some(HardwareSignature::AndroidKey { signature }))
    }

    fn delete_attested(&self, alias: &str) -> Result<(), KeystoreError> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.remove(alias);
        let mut deleted = self.deleted.lock().unwrap_or_else(PoisonError::into_inner);
        deleted.push(alias.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_keystore_persists_and_deletes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key");
        let ks = SoftwareKeystore::open(&path);
        let a = ks.prf(b"x").expect("prf");
        assert_eq!(a.len(), PRF_LEN);
        assert_eq!(*ks.prf(b"x").expect("prf"), *a);
        assert_ne!(*ks.prf(b"y").expect("prf"), *a);
        // A second handle on the same file gives the same PRF.
        assert_eq!(*SoftwareKeystore::open(&path).prf(b"x").expect("prf"), *a);
        assert!(!ks.is_hardware_backed());
        ks.delete().expect("delete");
        ks.delete().expect("delete is idempotent");
        assert!(!path.exists());
        assert_ne!(*ks.prf(b"x").expect("prf"), *a, "a new key after delete");
        assert!(format!("{ks:?}").starts_with("SoftwareKeystore"));
    }

    #[test]
    fn software_keystore_rejects_bad_key_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key");
        std::fs::write(&path, b"short").expect("write");
        let ks = SoftwareKeystore::open(&path);
        assert!(matches!(ks.prf(b"x"), Err(KeystoreError::Failed(_))));
    }

    #[test]
    fn memory_keystores_differ_and_match_hmac() {
        let a = MemoryKeystore::new();
        let b = MemoryKeystore::new();
        assert_ne!(*a.prf(b"x").expect("prf"), *b.prf(b"x").expect("prf"));
        let before = a.prf(b"x").expect("prf");
        a.delete().expect("delete");
        assert_ne!(*a.prf(b"x").expect("prf"), *before);
        assert_eq!(format!("{a:?}"), "MemoryKeystore(***)");
    }

    #[test]
    fn software_keystores_say_they_cannot_attest_or_co_sign() {
        let dir = tempfile::tempdir().expect("tempdir");
        let software = SoftwareKeystore::open(dir.path().join("key"));
        let memory = MemoryKeystore::new();
        for ks in [&software as &dyn PlatformKeystore, &memory] {
            let alias = "hw-0123456789abcdef";
            assert_eq!(ks.attest(alias, &[7; 32]), Ok(None));
            assert_eq!(ks.sign_attested(alias, b"answer"), Ok(None));
            assert_eq!(ks.delete_attested(alias), Ok(()));
        }
        assert!(!dir.path().join("key").exists(), "nothing was written");
    }
}
