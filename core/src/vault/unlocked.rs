// SPDX-License-Identifier: Apache-2.0
//! An unlocked vault: the data key of one generation, and the PIN tier it seals.
//!
//! Guarantees: the data key lives in a [`VaultKey`] (boxed, wiped on drop, redacted `Debug`);
//! reads and writes go to the PIN-tier file of the generation that was unlocked, and are
//! refused with [`VaultError::Stale`] once a PIN change moved the vault to a newer one (a
//! write under the old key would otherwise be lost, and would recreate a file the old header
//! could open), or with [`VaultError::NotFound`] once the vault was wiped or replaced.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::envelope::ID_LEN;
use super::{Inner, VaultError};
use crate::secret::VaultKey;

/// An unlocked vault: holds the data key (boxed, zeroized on drop); `Debug` redacted. Drop it
/// as soon as the secrets are no longer needed.
pub struct Unlocked {
    inner: Arc<Inner>,
    vault_id: [u8; ID_LEN],
    generation: u32,
    data_key: VaultKey,
}

impl Unlocked {
    pub(super) fn new(
        inner: Arc<Inner>,
        vault_id: [u8; ID_LEN],
        generation: u32,
        data_key: VaultKey,
    ) -> Self {
        Self {
            inner,
            vault_id,
            generation,
            data_key,
        }
    }

    /// The PIN-tier secrets (empty vec at creation). `Stale` after a PIN change made since
    /// the unlock, `NotFound` after a wipe.
    pub fn secrets(&self) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        // Under the lock, so that a PIN change cannot remove the file between the check and
        // the read.
        let _guard = self.inner.lock()?;
        self.check_current()?;
        self.inner
            .read_secrets(&self.data_key, &self.vault_id, self.generation)
    }

    /// Replaces the PIN-tier secrets (crash-safe; fresh random nonce per write). Fails with
    /// `NotFound` if the vault was wiped or replaced since it was unlocked, `Stale` if its PIN
    /// was changed.
    pub fn set_secrets(&self, bytes: &[u8]) -> Result<(), VaultError> {
        let _guard = self.inner.lock()?;
        self.check_current()?;
        self.inner
            .write_secrets(&self.data_key, &self.vault_id, self.generation, bytes)
    }

    /// Checks that the header on disk is still the one this handle was unlocked with.
    fn check_current(&self) -> Result<(), VaultError> {
        let current = self.inner.read_header_unverified()?;
        if current.header.vault_id != self.vault_id {
            return Err(VaultError::NotFound);
        }
        if current.header.generation != self.generation {
            return Err(VaultError::Stale);
        }
        Ok(())
    }

    /// The data key, for the vault's own tests.
    #[cfg(test)]
    pub(super) fn data_key(&self) -> &VaultKey {
        &self.data_key
    }

    /// The generation unlocked, for the vault's own tests.
    #[cfg(test)]
    pub(super) fn generation(&self) -> u32 {
        self.generation
    }
}

impl fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unlocked")
            .field("generation", &self.generation)
            .field("data_key", &self.data_key)
            .finish_non_exhaustive()
    }
}
