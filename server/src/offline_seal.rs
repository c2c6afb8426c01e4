// SPDX-License-Identifier: Apache-2.0
//! The offline-code secrets at rest (issue 16): AES-256-GCM under a key of the server's
//! configuration, named by a key id so that the key can rotate.
//!
//! Guarantees:
//! - A sealed secret is `nonce (12) || ciphertext || tag`, with the AAD
//!   `"vistalid/offline-secret/v1" || len(key id) || key id || device id`: a sealed value
//!   moved to another device's row, or relabelled with another key id, does not open.
//! - [`OfflineKeys::seal`] always uses the **current** key (the first configured);
//!   [`OfflineKeys::open`] takes any configured key by its id, so rows sealed under an older
//!   key keep working until `reseal-offline-secrets` moved them to the current one.
//! - Keys are wiped on drop and never printed (`Debug` shows the ids only).

use std::fmt;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use vistalid_core::totp::{TotpSecret, SECRET_LEN};
use zeroize::Zeroizing;

/// AAD label of a sealed secret.
const AAD_LABEL: &[u8] = b"vistalid/offline-secret/v1";
/// Longest key id.
pub const MAX_KEY_ID: usize = 64;

/// One configured key: its id (stored beside each secret it seals) and 32 bytes.
#[derive(Clone)]
pub struct OfflineCodeKey {
    id: String,
    key: Zeroizing<[u8; 32]>,
}

impl OfflineCodeKey {
    /// The key `id` with these bytes; `None` when the id is empty, longer than
    /// [`MAX_KEY_ID`] or not printable ASCII.
    pub fn new(id: &str, key: [u8; 32]) -> Option<Self> {
        let ok =
            !id.is_empty() && id.len() <= MAX_KEY_ID && id.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Self {
            id: id.to_owned(),
            key: Zeroizing::new(key),
        })
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for OfflineCodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OfflineCodeKey({}, <redacted>)", self.id)
    }
}

/// The configured keys, the current one first.
#[derive(Debug, Clone, Default)]
pub struct OfflineKeys(Vec<OfflineCodeKey>);

/// Why a secret could not be sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// No key is configured: the server offers no offline code.
    #[error("no offline-code key is configured")]
    NoKey,
    /// The OS random generator failed.
    #[error("random generator failure")]
    Random,
}

fn aad(key_id: &str, device_id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(AAD_LABEL.len() + 1 + key_id.len() + device_id.len());
    out.extend_from_slice(AAD_LABEL);
    out.push(u8::try_from(key_id.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(key_id.as_bytes());
    out.extend_from_slice(device_id.as_bytes());
    out
}

fn aead(key: &OfflineCodeKey) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key.key.as_ref()).expect("32-byte key"))
}

impl OfflineKeys {
    /// The keys, `keys[0]` the current one (may be empty: no offline code).
    pub fn new(keys: Vec<OfflineCodeKey>) -> Self {
        Self(keys)
    }

    /// Whether a key is configured (the server then offers the offline code).
    pub fn is_enabled(&self) -> bool {
        !self.0.is_empty()
    }

    /// The current key's id.
    pub fn current_id(&self) -> Option<&str> {
        self.0.first().map(OfflineCodeKey::id)
    }

    /// Seals `secret` of `device_id` under the current key: `(key id, sealed bytes)`.
    pub fn seal(
        &self,
        device_id: &str,
        secret: &TotpSecret,
    ) -> Result<(String, Vec<u8>), SealError> {
        let key = self.0.first().ok_or(SealError::NoKey)?;
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        // EXPOSE: the secret is encrypted in place in a buffer that is wiped after.
        let mut buf = Zeroizing::new(secret.expose().to_vec());
        aead(key)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(&key.id, device_id)),
                &mut *buf,
            )
            .map_err(|_| SealError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok((key.id.clone(), out))
    }

    /// Opens a secret sealed for `device_id` under key `key_id`; `None` when that key is
    /// not configured or the bytes do not open under it.
    pub fn open(&self, key_id: &str, device_id: &str, sealed: &[u8]) -> Option<TotpSecret> {
        let key = self.0.iter().find(|k| k.id == key_id)?;
        if sealed.len() != NONCE_LEN + SECRET_LEN + 16 {
            return None;
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let plain = aead(key)
            .open_in_place(nonce, Aad::from(aad(key_id, device_id)), &mut buf)
            .ok()?;
        TotpSecret::from_slice(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, b: u8) -> OfflineCodeKey {
        OfflineCodeKey::new(id, [b; 32]).expect("key")
    }

    #[test]
    fn seals_under_the_current_key_and_opens_under_any_configured_one() {
        let old = OfflineKeys::new(vec![key("k1", 1)]);
        let secret = TotpSecret::new([9; 32]);
        let (id, sealed) = old.seal("dev-1", &secret).expect("seal");
        assert_eq!(id, "k1");
        assert!(!sealed.windows(32).any(|w| w == secret.expose()));
        let rotated = OfflineKeys::new(vec![key("k2", 2), key("k1", 1)]);
        let opened = rotated.open("k1", "dev-1", &sealed).expect("old key");
        assert_eq!(opened.expose(), secret.expose());
        assert_eq!(rotated.seal("dev-1", &secret).expect("seal").0, "k2");
        // Another device's row, another key id, a key dropped, a flipped bit: nothing opens.
        assert!(rotated.open("k1", "dev-2", &sealed).is_none());
        assert!(rotated.open("k2", "dev-1", &sealed).is_none());
        assert!(OfflineKeys::new(vec![key("k2", 2)])
            .open("k1", "dev-1", &sealed)
            .is_none());
        let mut bad = sealed.clone();
        bad[20] ^= 1;
        assert!(rotated.open("k1", "dev-1", &bad).is_none());
        assert_eq!(
            OfflineKeys::default().seal("dev-1", &secret).err(),
            Some(SealError::NoKey)
        );
    }

    #[test]
    fn key_ids_are_checked_and_keys_never_printed() {
        assert!(OfflineCodeKey::new("", [0; 32]).is_none());
        assert!(OfflineCodeKey::new("a b", [0; 32]).is_none());
        assert!(OfflineCodeKey::new(&"k".repeat(65), [0; 32]).is_none());
        let k = key("k1", 0xab);
        assert_eq!(format!("{k:?}"), "OfflineCodeKey(k1, <redacted>)");
    }
}
