// SPDX-License-Identifier: Apache-2.0
//! An unlocked account: its data key of one generation, and the PIN tier it seals.
//!
//! Guarantees: the data key lives in a [`VaultKey`] (boxed, wiped on drop, redacted `Debug`);
//! reads and writes go to the account's section of the generation that was unlocked, and are
//! refused with [`VaultError::Stale`] once a PIN change moved the vault to a newer one (a
//! write under the old key would otherwise be lost, and would recreate a file the old header
//! could open), or with [`VaultError::NotFound`] once the vault was wiped or replaced. The
//! handle also keeps the try's PIN-derived keys (`k_pin`, `k_hw`, wiped on drop), so that
//! [`Unlocked::add_account`] adds an account under the PIN this unlock proved, without a
//! second Argon2 run or a second counted try.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::attempt::PinKeys;
use super::envelope::ID_LEN;
use super::guard::{NewAccount, PinGuard};
use super::header::Header;
use super::{Inner, VaultError};
use crate::keys::SigningKey;
use crate::secret::VaultKey;

/// An unlocked account: holds its data key (boxed, zeroized on drop); `Debug` redacted. Drop
/// it as soon as the secrets are no longer needed.
pub struct Unlocked {
    inner: Arc<Inner>,
    vault_id: [u8; ID_LEN],
    generation: u32,
    account_id: String,
    data_key: VaultKey,
    confirm_key: SigningKey,
    keys: PinKeys,
}

impl Unlocked {
    pub(super) fn new(
        inner: Arc<Inner>,
        header: &Header,
        account_id: &str,
        data_key: VaultKey,
        confirm_key: SigningKey,
        keys: PinKeys,
    ) -> Self {
        Self {
            inner,
            vault_id: header.vault_id,
            generation: header.generation,
            account_id: account_id.to_owned(),
            data_key,
            confirm_key,
            keys,
        }
    }

    /// The account this handle opened.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The account's PIN-tier secrets (as the account was added with, or last set). `Stale`
    /// after a PIN change made since the unlock, `NotFound` after a wipe.
    pub fn secrets(&self) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        // Under the lock, so that a PIN change cannot remove the file between the check and
        // the read.
        let _guard = self.inner.lock()?;
        self.check_current()?;
        let file = self.inner.read_secrets(&self.vault_id, self.generation)?;
        Ok(file.open(&self.account_id, &self.data_key)?.data)
    }

    /// Replaces the account's PIN-tier secrets (crash-safe; fresh random nonce per write; the
    /// other accounts' sections are copied as they are). Fails with `NotFound` if the vault
    /// was wiped or replaced since it was unlocked, `Stale` if its PIN was changed.
    pub fn set_secrets(&self, bytes: &[u8]) -> Result<(), VaultError> {
        let _guard = self.inner.lock()?;
        let current = self.check_current()?;
        let mut file = self.inner.read_secrets(&self.vault_id, self.generation)?;
        file.retain_accounts(|a| current.account(a).is_some());
        file.put(&self.account_id, &self.data_key, &self.confirm_key, bytes)?;
        self.inner.write_secrets(self.generation, &file)
    }

    /// Stores the account's offline-code secret (issue 16) masked under the PIN this unlock
    /// proved (`offline.rs`): no tag, so the stored bytes are no PIN oracle. Replaces a
    /// former one; entries of older generations are dropped. `Stale` after a PIN change.
    pub fn set_offline_secret(&self, secret: &crate::totp::TotpSecret) -> Result<(), VaultError> {
        let _guard = self.inner.lock()?;
        self.check_current()?;
        let (file, dev) = self.inner.read_header()?;
        let mut offline = self.inner.read_offline(&self.vault_id, &dev)?;
        offline.retain(self.generation, |_| true);
        offline.put(&self.keys, &file.header, &self.account_id, secret);
        self.inner.write_offline(&file, &dev, &mut offline)
    }

    /// Adds another account to the vault under the PIN this unlock proved: one counted guess
    /// at the new account's server (confirmed at once), a new data key, its section, then the
    /// header that lists it (the commit point). `AlreadyExists` when the vault holds that
    /// account, `Stale` after a PIN change since this unlock.
    pub fn add_account(
        &self,
        new: NewAccount<'_>,
        data: &[u8],
        guard: &dyn PinGuard,
    ) -> Result<Unlocked, VaultError> {
        let _guard = self.inner.lock()?;
        self.check_current()?;
        let (file, dev) = self.inner.read_header()?;
        let data_key = self
            .inner
            .add_account(&file, &dev, &self.keys, &new, data, guard)?;
        let confirm = SigningKey::from_pkcs8(
            // EXPOSE: a copy of the new account's confirmation key for its handle.
            new.confirm_key.to_pkcs8(),
        )
        .map_err(|_| VaultError::Corrupt)?;
        Ok(Unlocked::new(
            Arc::clone(&self.inner),
            &file.header,
            new.account_id,
            data_key,
            confirm,
            self.keys.duplicate(),
        ))
    }

    /// Checks that the header on disk is still the one this handle was unlocked with, and
    /// returns it (parsed, not authenticated: only its id and generation are compared).
    fn check_current(&self) -> Result<super::HeaderFile, VaultError> {
        let current = self.inner.read_header_unverified()?;
        if current.header.vault_id != self.vault_id {
            return Err(VaultError::NotFound);
        }
        if current.header.generation != self.generation {
            return Err(VaultError::Stale);
        }
        Ok(current)
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
            .field("account_id", &self.account_id)
            .field("generation", &self.generation)
            .field("data_key", &self.data_key)
            .finish_non_exhaustive()
    }
}
