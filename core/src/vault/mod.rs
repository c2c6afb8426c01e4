// SPDX-License-Identifier: Apache-2.0
//! The PIN vault (DESIGN.md section 2), format 3: a device tier and one PIN tier per account.
//!
//! - **Device tier** ([`Vault::device_state`]): sealed under a key derived from the platform
//!   keystore only. Readable before unlock, but only with this device's keystore. Holds
//!   non-PIN state (accounts' public data, pinned server keys, poll tokens, replay cache) and
//!   the keys that must work without the PIN (the wallet's device-tier keys: they sign the
//!   PIN-guard requests and the offline QR).
//! - **PIN tier, per account** ([`Unlocked::secrets`]): each account's secrets are sealed under
//!   a random data key of that account, wrapped under a KEK that needs the PIN, the keystore
//!   **and one evaluation by the account's server** of an RFC 9497 VOPRF
//!   ([`PinGuard`]): `k_pin = Argon2id(PIN, salt)`, `k_hw = keystore.prf(k_pin)`,
//!   `y_a = VOPRF_a(k_hw)` (blinded: the server sees neither the PIN nor `k_hw`),
//!   `kek_a = HKDF-SHA256(k_hw || k_pin || y_a, "vistalid/kek/v3" || vault id || generation ||
//!   account id)`. Every PIN guess therefore needs the device's keystore *and* a guess counted
//!   by the server, which refuses and erases its key at its limit: a copied vault with its
//!   keystore gets at most that many guesses, whatever it does to the files. The exact
//!   formats are in `header.rs` and `sections.rs`; which file is written when, in `layout.rs`.
//! - **Generations.** The header names a generation (1 at creation, +1 per PIN change); the
//!   PIN tiers of generation `g` live in `secrets.<g>.bin`, one section per account under its
//!   own data key. A PIN change draws new data keys, re-seals every section into the next
//!   generation's file, then writes the new header (the commit point), then removes the old
//!   file.
//!
//! Guarantees:
//! - The header (Argon2 parameters, salt, generation, accounts with their pinned server keys
//!   and wrapped keys) is authenticated with a keystore-derived MAC before anything in it is
//!   used; any change to any vault file is [`VaultError::Corrupt`] (or `KeystoreMismatch` /
//!   `UnsupportedVersion` when that is what the bytes say), never a panic, never a silent
//!   success.
//! - Every keystore PRF output is exactly 32 bytes, else
//!   [`KeystoreError::BadOutputLength`](crate::keystore::KeystoreError::BadOutputLength) before
//!   anything is derived from it ([`Vault::check_keystore`] probes a keystore without a vault).
//! - The server's answer is used only once its proof verifies under the key pinned in the
//!   header (else [`VaultError::Oprf`]).
//! - A PIN change cannot be undone by putting the old header file back: the old header's
//!   data keys seal no file that is left ([`VaultError::Corrupt`] at unlock).
//! - Every PIN try is counted in the local counter, written and fsynced **before** the PIN is
//!   checked (the write runs while Argon2 hashes the PIN; the keystore PRF, the server's
//!   evaluation and the key unwrap wait for it). A try whose PIN could not be checked (the
//!   server unreachable or refusing) is given back. After [`VaultConfig::max_attempts`]
//!   consecutive failures (default 5) the vault is [`PinRefusal::Locked`] for good. A correct
//!   PIN resets the local count and, through the account's confirmation key, the server's.
//! - Tries are serialised across threads (a mutex) and processes (an exclusive `flock` on
//!   the `lock` file), so concurrent wrong PINs are each counted exactly once.
//! - Back-off between failed tries: see [`BACKOFF_SECS`] (0, 0, 1, 5, 30 s, read from the
//!   vault's [`Clock`]); `VaultConfig::backoff = false` turns it off (tests).
//! - Every file is written crash-safely (temp file, fsync, rename, fsync of the directory):
//!   after a kill at any point each file holds its old or its new content, and the order of
//!   the writes (`layout.rs`) makes a kill during an account's addition leave it absent or
//!   complete, and a kill during a PIN change leave the old PIN or the new one working, with
//!   the secrets intact.
//! - [`Vault::wipe`] deletes the keystore key first (crypto-erase), then the files.
//! - Keys live in `VaultKey` newtypes (`crate::secret`: boxed, wiped on drop, `Debug`
//!   redacted, bytes out only through `expose` at commented call sites); `Debug` of
//!   [`Unlocked`] prints no secret.
//!
//! # Residual risks (read before relying on this)
//!
//! - **Local counter rollback** no longer gives an attacker who holds the files and the
//!   keystore more guesses than the server allows: the local counter is the first layer (it
//!   works offline and tells the user how many tries are left); the server's is the limit.
//!   What a server compromise or a rollback of the server's database gives is in
//!   `docs/pin-guard.md`.
//! - **Whole-vault rollback undoes a PIN change.** With a copy of *every* vault file taken
//!   before a PIN change, the old PIN opens the old secrets again (the server's key did not
//!   change); each try still costs a server-counted guess, and the old PIN must be known.
//!   Rotating the server's key at every PIN change (as Signal's SVR3 does at every restore)
//!   would close it; it is not built.
//! - **PIN copies outside Rust.** A PIN passed from Kotlin or Swift as a `String` is copied
//!   by the runtime (and the UniFFI lowering); Rust wipes its own [`Pin`] but cannot wipe
//!   those copies, nor what the keyboard or the UI kept.
//! - **Zeroize is best effort.** Buffers we own are wiped on drop, but the compiler, the
//!   allocator, ring's internal key schedules, swap and core dumps may leave copies.
//! - The Argon2 memory block (64 MiB at the default) and `min(p, cores)` idle lane threads
//!   stay while the [`Vault`] handle lives, so repeated unlocks do not allocate; the block is
//!   wiped after each hash.
//! - The device keys (header and counter MACs, device-tier key: what the keystore gives
//!   without the PIN) are derived once per handle and kept in memory until it drops or
//!   wipes, so an approval makes one keystore PRF call (the PIN's) instead of four. They
//!   open nothing of the PIN tier. A header they do not verify is checked again with freshly
//!   derived keys, so a changed keystore key is still refused.

mod attempt;
mod config;
mod envelope;
mod error;
pub mod guard;
mod header;
mod layout;
mod lockout;
mod offline;
mod pin;
mod sections;
pub(crate) mod storage;
mod unlocked;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use zeroize::Zeroizing;

use crate::clock::{Clock, SystemClock};
use crate::keystore::PlatformKeystore;
use crate::secret::Pin;
use envelope::{DeviceKeys, ID_LEN, KEY_LEN, SALT_LEN};
use error::{header_err, io_err, must_exist};
use header::{Header, HeaderFile};
use layout::{secrets_file, COUNTER_FILE, DEVICE_FILE, HEADER_FILE, LOCK_FILE};
use lockout::Counter;
use sections::SecretsFile;
use storage::DirLock;

pub use config::{Argon2Params, VaultConfig};
pub use error::{PinRefusal, VaultError};
pub use guard::{GuardAnswer, MemoryPinGuard, NewAccount, PinGuard, PinGuardError};
pub use lockout::BACKOFF_SECS;
pub use pin::{Argon2Kdf, PinPolicy};
pub use unlocked::Unlocked;

/// AAD label of the device tier.
const DEVICE_LABEL: &[u8] = b"vistalid/device-state/v1";
/// The device tier does not depend on the PIN generation; it is sealed with generation 0.
const DEVICE_GENERATION: u32 = 0;
/// The generation of a new vault's header and PIN tier.
const FIRST_GENERATION: u32 = 1;

struct Inner {
    dir: PathBuf,
    keystore: Arc<dyn PlatformKeystore>,
    config: VaultConfig,
    /// Serialises operations in this process; holds the reusable Argon2 memory.
    op: Mutex<Argon2Kdf>,
    /// The device keys of the vault id last read, derived once per handle: each derivation
    /// is a keystore PRF call (a round trip to secure hardware on a phone), and an approval
    /// reads the header three times.
    device: Mutex<Option<([u8; ID_LEN], Arc<DeviceKeys>)>>,
}

/// Holds the in-process and the cross-process lock for one operation.
struct OpGuard<'a> {
    kdf: MutexGuard<'a, Argon2Kdf>,
    _file: DirLock,
}

impl Inner {
    fn lock(&self) -> Result<OpGuard<'_>, VaultError> {
        let kdf = self.op.lock().unwrap_or_else(PoisonError::into_inner);
        let file = DirLock::acquire(&self.dir, LOCK_FILE).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => VaultError::NotFound,
            _ => io_err(e),
        })?;
        Ok(OpGuard { kdf, _file: file })
    }

    /// Reads, parses and authenticates the header file.
    fn read_header(&self) -> Result<(HeaderFile, Arc<DeviceKeys>), VaultError> {
        let file = self.read_header_unverified()?;
        let id = file.header.vault_id;
        let dev = self.device_keys(&id)?;
        if file.verify(&dev).is_ok() {
            return Ok((file, dev));
        }
        // The cached keys may be stale (the keystore key changed under this handle): the
        // verdict is the one of freshly derived keys.
        let dev = Arc::new(DeviceKeys::derive(&*self.keystore, &id)?);
        file.verify(&dev)?;
        self.remember_device_keys(id, Arc::clone(&dev));
        Ok((file, dev))
    }

    /// The device keys of vault `id`: the cached ones, else derived (one keystore PRF call)
    /// and cached.
    fn device_keys(&self, id: &[u8; ID_LEN]) -> Result<Arc<DeviceKeys>, VaultError> {
        let cached = self.device.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached_id, dev)) = cached.as_ref() {
            if cached_id == id {
                return Ok(Arc::clone(dev));
            }
        }
        drop(cached);
        let dev = Arc::new(DeviceKeys::derive(&*self.keystore, id)?);
        self.remember_device_keys(*id, Arc::clone(&dev));
        Ok(dev)
    }

    fn remember_device_keys(&self, id: [u8; ID_LEN], dev: Arc<DeviceKeys>) {
        *self.device.lock().unwrap_or_else(PoisonError::into_inner) = Some((id, dev));
    }

    /// Reads and parses the header file without authenticating it (a freshness check of the
    /// vault id and generation; nothing in it is trusted).
    fn read_header_unverified(&self) -> Result<HeaderFile, VaultError> {
        let bytes = storage::read(&self.dir, HEADER_FILE).map_err(header_err)?;
        HeaderFile::parse(&bytes)
    }

    fn read_counter(&self, id: &[u8; ID_LEN], dev: &DeviceKeys) -> Result<Counter, VaultError> {
        let bytes = storage::read(&self.dir, COUNTER_FILE).map_err(must_exist)?;
        Counter::parse(&bytes, id, dev.counter_mac())
    }

    fn write_counter(
        &self,
        counter: Counter,
        id: &[u8; ID_LEN],
        dev: &DeviceKeys,
    ) -> Result<(), VaultError> {
        storage::write_atomic(
            &self.dir,
            COUNTER_FILE,
            &counter.to_bytes(id, dev.counter_mac()),
        )
        .map_err(io_err)
    }

    /// Reads the PIN-tier file of `generation`.
    fn read_secrets(
        &self,
        vault_id: &[u8; ID_LEN],
        generation: u32,
    ) -> Result<SecretsFile, VaultError> {
        let bytes = storage::read(&self.dir, &secrets_file(generation)).map_err(must_exist)?;
        SecretsFile::parse(&bytes, vault_id, generation)
    }

    /// Writes the PIN-tier file of `generation` (crash-safe).
    fn write_secrets(&self, generation: u32, file: &SecretsFile) -> Result<(), VaultError> {
        storage::write_atomic(&self.dir, &secrets_file(generation), &file.to_bytes())
            .map_err(io_err)
    }
}

/// `k_pin = Argon2id(PIN, salt, AD = vault id)` with the header's parameters.
fn derive_k_pin(
    kdf: &mut Argon2Kdf,
    header: &Header,
    pin: &Pin,
) -> Result<Zeroizing<[u8; KEY_LEN]>, VaultError> {
    let mut k_pin = Zeroizing::new([0u8; KEY_LEN]);
    kdf.derive(
        &header.argon2,
        // EXPOSE: the PIN is the Argon2 password; only its hash leaves this call.
        pin.expose().as_bytes(),
        &header.salt,
        None,
        &header.vault_id,
        k_pin.as_mut(),
    )?;
    Ok(k_pin)
}

/// A handle on a vault directory. Cheap to keep; `Send + Sync`. Operations on one vault are
/// serialised across threads and processes.
pub struct Vault {
    inner: Arc<Inner>,
    clock: Arc<dyn Clock>,
}

impl Vault {
    /// True when `dir` holds a vault (its header file exists; contents not checked).
    pub fn exists(dir: &Path) -> bool {
        dir.join(HEADER_FILE).is_file()
    }

    /// Checks, with one PRF call on a fixed probe input, that `keystore` answers as the vault
    /// needs ([`crate::keystore::PRF_LEN`] bytes), without touching any file: run it before an
    /// irreversible step (a server spending an activation code) that a broken keystore would
    /// make useless. Creates the keystore's key if it has none yet.
    pub fn check_keystore(keystore: &dyn PlatformKeystore) -> Result<(), VaultError> {
        envelope::prf(keystore, KEYSTORE_PROBE).map(drop)
    }

    /// Creates a new vault with no account and an empty device tier (the PIN comes with the
    /// first account: [`Vault::add_first_account`]). The directory is created if needed
    /// (`0700` on Unix). The header is written last, so a crash mid-create leaves no vault
    /// ([`Vault::exists`] is false) and create can run again.
    pub fn create(
        dir: &Path,
        keystore: Arc<dyn PlatformKeystore>,
        config: VaultConfig,
    ) -> Result<Vault, VaultError> {
        if Self::exists(dir) {
            return Err(VaultError::AlreadyExists);
        }
        if !config.argon2.is_in_range() {
            return Err(VaultError::InvalidConfig("Argon2 parameters out of range"));
        }
        create_dir_private(dir).map_err(io_err)?;
        let vault = Self::handle(dir, keystore, config);
        let inner = &vault.inner;
        let guard = inner.lock()?;
        if Self::exists(dir) {
            return Err(VaultError::AlreadyExists);
        }
        let mut vault_id = [0u8; ID_LEN];
        envelope::random(&mut vault_id)?;
        let mut salt = [0u8; SALT_LEN];
        envelope::random(&mut salt)?;
        let header = Header {
            vault_id,
            generation: FIRST_GENERATION,
            argon2: inner.config.argon2,
            salt,
        };
        let dev = Arc::new(DeviceKeys::derive(&*inner.keystore, &vault_id)?);
        inner.remember_device_keys(vault_id, Arc::clone(&dev));
        let file = HeaderFile::seal(header, Vec::new(), &dev)?;
        inner.write_counter(Counter::FRESH, &vault_id, &dev)?;
        let device = envelope::seal_file(
            envelope::MAGIC_DEVICE,
            DEVICE_LABEL,
            dev.seal_key(),
            &vault_id,
            DEVICE_GENERATION,
            &[],
        )?;
        storage::write_atomic(dir, DEVICE_FILE, &device).map_err(io_err)?;
        // Leftovers of an earlier create that crashed before its header, if any.
        layout::remove_stale_secrets(dir, None).map_err(io_err)?;
        inner.write_secrets(
            FIRST_GENERATION,
            &SecretsFile::empty(vault_id, FIRST_GENERATION),
        )?;
        storage::write_atomic(dir, HEADER_FILE, &file.to_bytes()).map_err(io_err)?;
        drop(guard);
        Ok(vault)
    }

    /// Opens an existing vault without the PIN (reads and authenticates the header):
    /// `NotFound` when there is none, `KeystoreMismatch` when another keystore key wrote it.
    pub fn open(
        dir: &Path,
        keystore: Arc<dyn PlatformKeystore>,
        config: VaultConfig,
    ) -> Result<Vault, VaultError> {
        if !Self::exists(dir) {
            return Err(VaultError::NotFound);
        }
        let vault = Self::handle(dir, keystore, config);
        vault.inner.read_header()?;
        Ok(vault)
    }

    fn handle(dir: &Path, keystore: Arc<dyn PlatformKeystore>, config: VaultConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                keystore,
                config,
                op: Mutex::new(Argon2Kdf::new()),
                device: Mutex::new(None),
            }),
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses `clock` for the back-off (tests use a `ManualClock`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The accounts whose PIN tier the vault holds, in the order they were added (read from
    /// the authenticated header; no PIN needed).
    pub fn account_ids(&self) -> Result<Vec<String>, VaultError> {
        let (file, _) = self.inner.read_header()?;
        Ok(file.accounts.into_iter().map(|a| a.account_id).collect())
    }

    /// Device tier: sealed under a key from keystore.prf(label) only (no PIN): readable before
    /// unlock, but only on this device's keystore. Empty vec when never set.
    pub fn device_state(&self) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let (file, dev) = self.inner.read_header()?;
        let bytes = storage::read(&self.inner.dir, DEVICE_FILE).map_err(must_exist)?;
        envelope::open_file(
            envelope::MAGIC_DEVICE,
            DEVICE_LABEL,
            dev.seal_key(),
            &file.header.vault_id,
            DEVICE_GENERATION,
            &bytes,
        )
    }

    /// Replaces the device tier (crash-safe, fresh random nonce).
    pub fn set_device_state(&self, bytes: &[u8]) -> Result<(), VaultError> {
        let _guard = self.inner.lock()?;
        let (file, dev) = self.inner.read_header()?;
        let sealed = envelope::seal_file(
            envelope::MAGIC_DEVICE,
            DEVICE_LABEL,
            dev.seal_key(),
            &file.header.vault_id,
            DEVICE_GENERATION,
            bytes,
        )?;
        storage::write_atomic(&self.inner.dir, DEVICE_FILE, &sealed).map_err(io_err)
    }

    /// Tries left before the vault locks (0 when locked), by the local counter. Does not count
    /// as a try. The server's own limit is reported with each wrong PIN.
    pub fn attempts_left(&self) -> Result<u32, VaultError> {
        let (file, dev) = self.inner.read_header()?;
        let counter = self.inner.read_counter(&file.header.vault_id, &dev)?;
        Ok(self
            .inner
            .config
            .max_attempts
            .saturating_sub(counter.failures))
    }

    /// The offline-code secret of `account_id` (issue 16), unmasked with `pin`, **without
    /// the account's server** (the phone may have no network): Argon2id and the keystore PRF
    /// only. The local limit and back-off apply (`Locked`, `Backoff`), but the try is not
    /// counted: nothing here can tell a wrong PIN, which gives a wrong secret whose codes
    /// the server refuses and counts (`offline.rs`, docs/offline-code.md).
    /// `NoOfflineSecret` when the account has none (vaults and enrolments older than it).
    pub fn offline_secret(
        &self,
        account_id: &str,
        pin: &Pin,
    ) -> Result<crate::totp::TotpSecret, VaultError> {
        let inner = &*self.inner;
        let mut op = inner.lock()?;
        let (file, dev) = inner.read_header()?;
        if file.account(account_id).is_none() {
            return Err(VaultError::NoSuchAccount);
        }
        let id = file.header.vault_id;
        let counter = inner.read_counter(&id, &dev)?;
        if counter.failures >= inner.config.max_attempts {
            return Err(VaultError::Pin(PinRefusal::Locked));
        }
        if inner.config.backoff {
            let wait = counter.wait_secs(self.clock.now());
            if wait > 0 {
                return Err(VaultError::Pin(PinRefusal::Backoff {
                    retry_after_secs: wait,
                }));
            }
        }
        let offline = inner.read_offline(&id, &dev)?;
        let keys = attempt::PinKeys::derive_for(inner, &mut op, &file.header, pin)?;
        offline
            .unmask(&keys, &file.header, account_id)
            .ok_or(VaultError::NoOfflineSecret)
    }

    /// Deletes the keystore key first (crypto-erase), then the files (also stale temporary
    /// files) and the directory if it is then empty. The files are removed even when the
    /// keystore fails; its error is returned afterwards.
    pub fn wipe(self) -> Result<(), VaultError> {
        let inner = &self.inner;
        let guard = inner.lock()?;
        let key_result = inner.keystore.delete();
        // An `Unlocked` may keep `inner` alive: drop the device keys with the keystore key.
        *inner.device.lock().unwrap_or_else(PoisonError::into_inner) = None;
        let dir = &inner.dir;
        storage::remove(dir, HEADER_FILE).map_err(io_err)?;
        storage::sync_dir(dir).map_err(io_err)?;
        layout::remove_stale_secrets(dir, None).map_err(io_err)?;
        for name in [DEVICE_FILE, COUNTER_FILE, offline::OFFLINE_FILE] {
            storage::remove(dir, name).map_err(io_err)?;
        }
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                if let Some(name) = entry.file_name().to_str() {
                    if name.starts_with(storage::TEMP_PREFIX) {
                        storage::remove(dir, name).map_err(io_err)?;
                    }
                }
            }
        }
        storage::remove(dir, LOCK_FILE).map_err(io_err)?;
        storage::sync_dir(dir).map_err(io_err)?;
        drop(guard);
        let _ = std::fs::remove_dir(dir);
        key_result.map_err(VaultError::from)
    }
}

/// The PRF input of [`Vault::check_keystore`]: 40 bytes, so never the input of a real
/// derivation (`k_pin` is 32 bytes, the device root 45).
const KEYSTORE_PROBE: &[u8] = b"vistalid/vault/v2/keystore-probe/prf-len";

fn create_dir_private(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.inner.dir)
            .field("hardware_backed", &self.inner.keystore.is_hardware_backed())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_offline;
