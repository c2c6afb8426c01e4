// SPDX-License-Identifier: Apache-2.0
//! Newtypes for secrets: the user's PIN and the vault's symmetric keys.
//!
//! Guarantees: a [`Pin`] and a `VaultKey` are wiped from memory when dropped (best effort:
//! see the residual risks in [`crate::vault`]), their `Debug` prints `Pin(***)` /
//! `VaultKey(***)`, and they have no `Display`, `Serialize` or `Clone`, so they cannot end up
//! in logs or be copied by accident. Their bytes come out only through `expose`, and every
//! call site says why in an `// EXPOSE: reason` comment.

use std::fmt;

use zeroize::Zeroizing;

/// A user PIN. Zeroized on drop; `Debug` prints `Pin(***)`; no `Display`, `Serialize` or
/// `Clone`. Whether it is an acceptable PIN is decided by [`crate::vault::PinPolicy`].
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// Wraps a PIN. The `String` moves in and is wiped when the `Pin` drops; a copy made by
    /// the caller before (for instance a Kotlin or Swift string) is out of Rust's reach.
    pub fn new(pin: impl Into<String>) -> Self {
        Self(Zeroizing::new(pin.into()))
    }

    /// The PIN's characters. Every call site must carry an `// EXPOSE: reason` comment.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(***)")
    }
}

/// Length of a [`VaultKey`], in bytes (AES-256 and HMAC-SHA256 keys).
pub(crate) const VAULT_KEY_LEN: usize = 32;

/// A 32-byte symmetric key of the vault: the data key, a KEK, the device-tier key. Held in a
/// heap box (moves do not copy the bytes), wiped on drop; `Debug` prints `VaultKey(***)`; no
/// `Clone`, `Display` or `Serialize`.
pub(crate) struct VaultKey(Box<Zeroizing<[u8; VAULT_KEY_LEN]>>);

impl VaultKey {
    /// An all-zero key, to be filled through [`VaultKey::expose_mut`] (random bytes, HKDF
    /// output, an unwrapped key).
    pub(crate) fn zeroed() -> Self {
        Self(Box::new(Zeroizing::new([0u8; VAULT_KEY_LEN])))
    }

    /// The key bytes. Every call site must carry an `// EXPOSE: reason` comment.
    pub(crate) fn expose(&self) -> &[u8; VAULT_KEY_LEN] {
        &self.0
    }

    /// The key bytes, to fill them. Every call site must carry an `// EXPOSE: reason`
    /// comment.
    pub(crate) fn expose_mut(&mut self) -> &mut [u8; VAULT_KEY_LEN] {
        &mut self.0
    }
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let pin = Pin::new("482915");
        assert_eq!(format!("{pin:?}"), "Pin(***)");
        assert_eq!(format!("{pin:#?}"), "Pin(***)");
        // EXPOSE: test checks the value round-trips.
        assert_eq!(pin.expose(), "482915");
    }

    #[test]
    fn vault_key_debug_is_redacted() {
        let mut key = VaultKey::zeroed();
        // EXPOSE: test fills the key with a recognisable pattern.
        key.expose_mut().copy_from_slice(&[0xab; VAULT_KEY_LEN]);
        let shown = format!("{key:?} {key:#?}");
        assert_eq!(shown, "VaultKey(***) VaultKey(***)");
        assert!(!shown.to_lowercase().contains("ab"));
        // EXPOSE: test checks the bytes round-trip.
        assert_eq!(key.expose(), &[0xab; VAULT_KEY_LEN]);
    }
}
