// SPDX-License-Identifier: Apache-2.0
//! The operations that take the PIN: unlocking an account, adding one, changing the PIN, and
//! the counted try and the server's OPRF step they share.
//!
//! Guarantees:
//! - A try is counted in the local counter (written and fsynced while Argon2 runs) before
//!   anything whose outcome depends on the PIN (keystore PRF, server evaluation, unwrap).
//! - A try whose PIN was never checked (the server unreachable, refusing, blocked, or
//!   answering with a proof that does not verify) is given back: the counter is written
//!   back as it was. A try that proves the PIN right resets it, even when a later step fails.
//! - The server's output is used only once its proof verifies under the key pinned in the
//!   header (or given with a new account).
//! - A wrong PIN reports the tries left before the first of the two limits is reached: the
//!   local counter's or the server's.
//! - A successful unlock is confirmed to the server with the account's confirmation key
//!   (best effort: a failed confirmation leaves the server's count where it was and the
//!   unlock stands).

use std::io;

use zeroize::Zeroizing;

use super::envelope::{self, DeviceKeys, KEY_LEN, SALT_LEN};
use super::guard::{NewAccount, PinGuard, PinGuardError};
use super::header::{self, AccountEntry, Header, HeaderFile, MAX_ACCOUNTS};
use super::lockout::Counter;
use super::sections::{SecretsFile, Section};
use super::PinRefusal;
use super::HEADER_FILE;
use super::{derive_k_pin, io_err, layout, storage, Inner, OpGuard, Unlocked, Vault, VaultError};
use crate::keys::SigningKey;
use crate::oprf::{self, OprfPublicKey};
use crate::secret::{Pin, VaultKey};

/// The PIN-derived keys of one try: `k_pin` and `k_hw` (wiped on drop).
pub(crate) struct PinKeys {
    k_pin: Zeroizing<[u8; KEY_LEN]>,
    k_hw: Zeroizing<Vec<u8>>,
}

impl PinKeys {
    fn derive(
        inner: &Inner,
        guard: &mut OpGuard<'_>,
        header: &Header,
        pin: &Pin,
    ) -> Result<Self, VaultError> {
        let k_pin = derive_k_pin(&mut guard.kdf, header, pin)?;
        let k_hw = envelope::prf(&*inner.keystore, k_pin.as_ref())?;
        Ok(Self { k_pin, k_hw })
    }

    /// The keys of `pin` under `header`, uncounted (the offline secret: `offline.rs`).
    pub(crate) fn derive_for(
        inner: &Inner,
        guard: &mut OpGuard<'_>,
        header: &Header,
        pin: &Pin,
    ) -> Result<Self, VaultError> {
        Self::derive(inner, guard, header, pin)
    }

    /// `k_pin` (the offline pad's input, `offline.rs`).
    pub(crate) fn k_pin(&self) -> &[u8] {
        self.k_pin.as_ref()
    }

    /// `k_hw` (the offline pad's input, `offline.rs`).
    pub(crate) fn k_hw(&self) -> &[u8] {
        &self.k_hw
    }

    /// A second copy (for the handle of an account added under the same try).
    pub(crate) fn duplicate(&self) -> Self {
        Self {
            k_pin: Zeroizing::new(*self.k_pin),
            k_hw: Zeroizing::new(self.k_hw.to_vec()),
        }
    }

    /// One counted guess at the account's server: blind `k_hw`, have it evaluated, verify the
    /// proof under `server_key`, finalize; then the account's KEK. Returns the KEK and the
    /// guesses the server still allows.
    fn server_kek(
        &self,
        guard: &dyn PinGuard,
        header: &Header,
        account_id: &str,
        key_id: &str,
        server_key: &OprfPublicKey,
    ) -> Result<(VaultKey, u32), VaultError> {
        let (state, blinded) = oprf::blind(&self.k_hw)?;
        let answer = guard.evaluate(account_id, key_id, &blinded)?;
        let y = state.finalize(&answer.evaluation, server_key)?;
        let kek = header::derive_kek(
            &self.k_hw,
            self.k_pin.as_ref(),
            y.as_ref(),
            header,
            account_id,
        );
        Ok((kek, answer.guesses_left))
    }
}

/// How a try ended when it did not succeed.
pub(crate) enum TryError {
    /// The PIN is wrong; the server allows `server_left` more guesses.
    WrongPin { server_left: u32 },
    /// The PIN was never checked: the try is given back.
    Unchecked(VaultError),
    /// The PIN was proved right, then something else failed: the count is reset.
    AfterRight(VaultError),
    /// Anything else (a damaged file): the try stays counted.
    Failed(VaultError),
}

/// An account opened with a right PIN.
pub(crate) struct OpenedAccount {
    pub(crate) data_key: VaultKey,
    pub(crate) section: Section,
}

impl Inner {
    /// Opens `account_id` with the try's keys: the server's step, the unwrap, the section.
    fn open_account(
        &self,
        file: &HeaderFile,
        keys: &PinKeys,
        account_id: &str,
        guard: &dyn PinGuard,
    ) -> Result<OpenedAccount, TryError> {
        let entry = file
            .account(account_id)
            .ok_or(TryError::Unchecked(VaultError::NoSuchAccount))?;
        let (kek, server_left) = keys
            .server_kek(
                guard,
                &file.header,
                account_id,
                &entry.key_id,
                &entry.server_key,
            )
            .map_err(TryError::Unchecked)?;
        let Some(data_key) = entry.unwrap_key(&file.header, &kek) else {
            return Err(TryError::WrongPin { server_left });
        };
        // A header put back from a backup unwraps its own old data key, which seals no file
        // left: refused here, with the try still counted.
        let section = self
            .read_secrets(&file.header.vault_id, file.header.generation)
            .and_then(|s| s.open(account_id, &data_key))
            .map_err(TryError::Failed)?;
        Ok(OpenedAccount { data_key, section })
    }

    /// Adds an account to the current generation: one counted guess at its server for the
    /// KEK, a new data key, its section written into the generation's file, then the header
    /// that lists it (the commit point), then the confirmation. Returns its data key.
    pub(crate) fn add_account(
        &self,
        file: &HeaderFile,
        dev: &DeviceKeys,
        keys: &PinKeys,
        new: &NewAccount<'_>,
        data: &[u8],
        guard: &dyn PinGuard,
    ) -> Result<VaultKey, VaultError> {
        header::check_names(new.account_id, new.key_id)?;
        if file.account(new.account_id).is_some() {
            return Err(VaultError::AlreadyExists);
        }
        if file.accounts.len() >= MAX_ACCOUNTS {
            return Err(VaultError::InvalidConfig("too many accounts in one vault"));
        }
        let (kek, _) = keys.server_kek(
            guard,
            &file.header,
            new.account_id,
            new.key_id,
            new.server_key,
        )?;
        let data_key = envelope::random_key()?;
        let entry = AccountEntry::seal(
            &file.header,
            new.account_id,
            new.key_id,
            new.server_key,
            &kek,
            &data_key,
        )?;
        let (id, generation) = (file.header.vault_id, file.header.generation);
        let mut secrets = self.read_secrets(&id, generation)?;
        // Sections a crash left without a header entry go now.
        secrets.retain_accounts(|a| file.account(a).is_some());
        secrets.put(new.account_id, &data_key, new.confirm_key, data)?;
        // The section first: the header that names the account is the commit point.
        self.write_secrets(generation, &secrets)?;
        let mut accounts = file.accounts.clone();
        accounts.push(entry);
        let sealed = HeaderFile::seal(file.header.clone(), accounts, dev)?;
        storage::write_atomic(&self.dir, HEADER_FILE, &sealed.to_bytes()).map_err(io_err)?;
        let _ = guard.confirm(new.account_id, new.key_id, new.confirm_key);
        Ok(data_key)
    }
}

impl Vault {
    /// Adds the first account of a vault made by [`Vault::create`], under `pin` (checked
    /// against the PIN policy; no earlier PIN to check). Costs one counted guess at the
    /// account's server, confirmed at once. `AlreadyExists` when the vault has an account:
    /// add later ones through [`Unlocked::add_account`], which proves the PIN first.
    pub fn add_first_account(
        &self,
        pin: &Pin,
        new: NewAccount<'_>,
        data: &[u8],
        guard: &dyn PinGuard,
    ) -> Result<Unlocked, VaultError> {
        let inner = &self.inner;
        inner.config.pin_policy.check(pin)?;
        let mut op = inner.lock()?;
        let (file, dev) = inner.read_header()?;
        if !file.accounts.is_empty() {
            return Err(VaultError::AlreadyExists);
        }
        let keys = PinKeys::derive(inner, &mut op, &file.header, pin)?;
        let data_key = inner.add_account(&file, &dev, &keys, &new, data, guard)?;
        Ok(Unlocked::new(
            self.inner.clone(),
            &file.header,
            new.account_id,
            data_key,
            copy_key(new.confirm_key)?,
            keys,
        ))
    }

    /// Opens account `account_id`'s PIN tier. Counts the try (persisted and fsynced) BEFORE
    /// checking; `WrongPin { tries_left }` (the fewer of the local and the server's tries
    /// left); `Locked` at the local limit; `Backoff { retry_after_secs }` if tried too soon;
    /// [`PinGuardError::Blocked`] when the server's limit was reached. The PIN is right when
    /// the key it derives (with the server's evaluation) unwraps the account's data key and
    /// that key opens its section (else `Corrupt`, and the try stays counted). A right PIN
    /// resets both counts.
    pub fn unlock(
        &self,
        account_id: &str,
        pin: &Pin,
        guard: &dyn PinGuard,
    ) -> Result<Unlocked, VaultError> {
        self.attempt(pin, |inner, _op, file, _dev, keys| {
            let opened = inner.open_account(file, keys, account_id, guard)?;
            let entry = file
                .account(account_id)
                .ok_or(TryError::Failed(VaultError::Corrupt))?;
            let _ = guard.confirm(account_id, &entry.key_id, &opened.section.confirm_key);
            let confirm = copy_key(&opened.section.confirm_key).map_err(TryError::AfterRight)?;
            layout::remove_stale_secrets(&inner.dir, Some(file.header.generation))
                .map_err(|e| TryError::AfterRight(io_err(e)))?;
            Ok((opened.data_key, confirm, file.header.clone()))
        })
        .map(|((data_key, confirm, header), keys)| {
            Unlocked::new(
                self.inner.clone(),
                &header,
                account_id,
                data_key,
                confirm,
                keys,
            )
        })
    }

    /// Changes the PIN of every account. The old PIN counts as one try and is checked with
    /// every account's server (confirmed at once); the new one must meet the policy and is
    /// evaluated by every account's server (one more counted guess each, confirmed at the
    /// end); the new header
    /// uses [`super::VaultConfig::argon2`]. Every account's data key is rotated: its section
    /// is re-sealed under a new random data key in the next generation's file, and the new
    /// header (new salt, generation + 1) wraps those keys. So a saved copy of the old header
    /// opens nothing once the change is done. All or nothing: when a server cannot be
    /// reached, nothing is written. Crash-safe (the file sequence is in `layout.rs`).
    pub fn change_pin(&self, old: &Pin, new: &Pin, guard: &dyn PinGuard) -> Result<(), VaultError> {
        let inner = &self.inner;
        inner.config.pin_policy.check(new)?;
        if !inner.config.argon2.is_in_range() {
            return Err(VaultError::InvalidConfig("Argon2 parameters out of range"));
        }
        self.attempt(old, |inner, op, file, dev, keys| {
            if file.accounts.is_empty() {
                return Err(TryError::Unchecked(VaultError::NoSuchAccount));
            }
            let mut opened = Vec::with_capacity(file.accounts.len());
            for (i, entry) in file.accounts.iter().enumerate() {
                match inner.open_account(file, keys, &entry.account_id, guard) {
                    Ok(o) => opened.push(o),
                    Err(e) if i == 0 => return Err(e),
                    // The PIN opened the first account: a later failure is no wrong PIN.
                    Err(TryError::WrongPin { .. }) => {
                        return Err(TryError::AfterRight(VaultError::Corrupt))
                    }
                    Err(TryError::Unchecked(e) | TryError::AfterRight(e) | TryError::Failed(e)) => {
                        return Err(TryError::AfterRight(e))
                    }
                }
            }
            // The old PIN is proved: reset the servers' counts now, so that the new PIN's
            // evaluations below are not counted on top of the tries made before.
            for (entry, account) in file.accounts.iter().zip(&opened) {
                let _ = guard.confirm(
                    &entry.account_id,
                    &entry.key_id,
                    &account.section.confirm_key,
                );
            }
            inner
                .rewrap_all(op, file, dev, (keys, new), &opened, guard)
                .map_err(TryError::AfterRight)
        })
        .map(drop)
    }

    /// One counted PIN try: checks the local limit and back-off, counts the try (durably,
    /// while Argon2 runs), derives the keys, runs `then`, and settles the count by how
    /// `then` ended (see [`TryError`]).
    fn attempt<T>(
        &self,
        pin: &Pin,
        then: impl FnOnce(
            &Inner,
            &mut OpGuard<'_>,
            &HeaderFile,
            &DeviceKeys,
            &PinKeys,
        ) -> Result<T, TryError>,
    ) -> Result<(T, PinKeys), VaultError> {
        let inner = &*self.inner;
        let mut op = inner.lock()?;
        let (file, dev) = inner.read_header()?;
        let id = file.header.vault_id;
        let before = inner.read_counter(&id, &dev)?;
        let max = inner.config.max_attempts;
        if before.failures >= max {
            return Err(VaultError::Pin(PinRefusal::Locked));
        }
        let now = self.clock.now();
        if inner.config.backoff {
            let wait = before.wait_secs(now);
            if wait > 0 {
                return Err(VaultError::Pin(PinRefusal::Backoff {
                    retry_after_secs: wait,
                }));
            }
        }
        // Count first, durably: once the counter is written a kill has used up the try. The
        // write (two fsyncs) runs on a helper thread while Argon2 hashes the PIN, so it costs
        // no wall time; nothing that depends on whether the PIN is right (keystore PRF, the
        // server's evaluation, key unwrap) happens before the write has completed.
        let counted = Counter {
            failures: before.failures + 1,
            last_try: now,
        };
        let (written, k_pin) = std::thread::scope(|s| {
            let writer = std::thread::Builder::new()
                .name("vault-counter".into())
                .spawn_scoped(s, || inner.write_counter(counted, &id, &dev));
            match writer {
                Ok(writer) => {
                    let k_pin = derive_k_pin(&mut op.kdf, &file.header, pin);
                    let written = writer
                        .join()
                        .unwrap_or(Err(VaultError::Io(io::ErrorKind::Other)));
                    (written, k_pin)
                }
                // No thread to be had: write first, then hash.
                Err(_) => match inner.write_counter(counted, &id, &dev) {
                    Ok(()) => (Ok(()), derive_k_pin(&mut op.kdf, &file.header, pin)),
                    Err(e) => (Err(e), Err(VaultError::Io(io::ErrorKind::Other))),
                },
            }
        });
        written?;
        let k_pin = k_pin?;
        let k_hw = envelope::prf(&*inner.keystore, k_pin.as_ref())?;
        let keys = PinKeys { k_pin, k_hw };
        let reset = Counter {
            failures: 0,
            last_try: now,
        };
        match then(inner, &mut op, &file, &dev, &keys) {
            Ok(value) => {
                inner.write_counter(reset, &id, &dev)?;
                Ok((value, keys))
            }
            Err(TryError::WrongPin { server_left }) => Err(VaultError::Pin(PinRefusal::WrongPin {
                tries_left: max.saturating_sub(counted.failures).min(server_left),
            })),
            Err(TryError::Unchecked(e)) => {
                inner.write_counter(before, &id, &dev)?;
                Err(e)
            }
            Err(TryError::AfterRight(e)) => {
                inner.write_counter(reset, &id, &dev)?;
                Err(e)
            }
            Err(TryError::Failed(e)) => Err(e),
        }
    }
}

impl Inner {
    /// The PIN change's writes: new salt and keys, every account's section re-sealed under a
    /// new data key into generation + 1, then the new header (the commit point), then the old
    /// file removed and every account confirmed.
    fn rewrap_all(
        &self,
        op: &mut OpGuard<'_>,
        file: &HeaderFile,
        dev: &DeviceKeys,
        (old_keys, new): (&PinKeys, &Pin),
        opened: &[OpenedAccount],
        guard: &dyn PinGuard,
    ) -> Result<(), VaultError> {
        let vault_id = file.header.vault_id;
        let generation = file
            .header
            .generation
            .checked_add(1)
            .ok_or(VaultError::Corrupt)?;
        let mut salt = [0u8; SALT_LEN];
        envelope::random(&mut salt)?;
        let header = Header {
            vault_id,
            generation,
            argon2: self.config.argon2,
            salt,
        };
        let keys = PinKeys::derive(self, op, &header, new)?;
        let mut secrets = SecretsFile::empty(vault_id, generation);
        let mut entries = Vec::with_capacity(opened.len());
        for (entry, account) in file.accounts.iter().zip(opened) {
            let (kek, _) = keys.server_kek(
                guard,
                &header,
                &entry.account_id,
                &entry.key_id,
                &entry.server_key,
            )?;
            let data_key = envelope::random_key()?;
            entries.push(AccountEntry::seal(
                &header,
                &entry.account_id,
                &entry.key_id,
                &entry.server_key,
                &kek,
                &data_key,
            )?);
            secrets.put(
                &entry.account_id,
                &data_key,
                &account.section.confirm_key,
                &account.section.data,
            )?;
        }
        // The offline secrets (issue 16), re-masked under the new PIN beside the old
        // entries: whichever header is on disk after a kill finds its own.
        let mut offline = self.read_offline(&vault_id, dev)?;
        offline.remask(old_keys, &file.header, &keys, &header);
        let new_header = header.clone();
        let sealed = HeaderFile::seal(header, entries, dev)?;
        let has_offline = !offline.is_empty();
        if has_offline {
            self.write_offline(file, dev, &mut offline)?;
        }
        // The next generation's file first: nothing points to it until the header.
        self.write_secrets(generation, &secrets)?;
        // The commit point.
        storage::write_atomic(&self.dir, HEADER_FILE, &sealed.to_bytes()).map_err(io_err)?;
        // The old generation's file goes: the old header's data keys now seal nothing.
        layout::remove_stale_secrets(&self.dir, Some(generation)).map_err(io_err)?;
        if has_offline {
            offline.retain(new_header.generation, |_| true);
            self.write_offline(&sealed, dev, &mut offline)?;
        }
        for (entry, account) in file.accounts.iter().zip(opened) {
            let _ = guard.confirm(
                &entry.account_id,
                &entry.key_id,
                &account.section.confirm_key,
            );
        }
        Ok(())
    }
}

/// A copy of a confirmation key for an [`Unlocked`] handle (the section's own copy is wiped
/// with the section).
fn copy_key(key: &SigningKey) -> Result<SigningKey, VaultError> {
    // EXPOSE: the PKCS#8 bytes are parsed into a second key object; they stay in the key's
    // own wiped buffer.
    SigningKey::from_pkcs8(key.to_pkcs8()).map_err(|_| VaultError::Corrupt)
}

impl From<PinGuardError> for TryError {
    fn from(e: PinGuardError) -> Self {
        TryError::Unchecked(e.into())
    }
}
