// SPDX-License-Identifier: Apache-2.0
//! The PIN vault (DESIGN.md section 2): two sealed tiers in one directory.
//!
//! - **Device tier** ([`Vault::device_state`]): sealed under a key derived from the platform
//!   keystore only. Readable before unlock, but only with this device's keystore key. Holds
//!   non-PIN state (accounts' public data, pinned server keys, poll tokens, replay cache).
//! - **PIN tier** ([`Unlocked::secrets`]): sealed under a random data key, itself wrapped
//!   under a key that needs both the PIN and the keystore:
//!   `k_pin = Argon2id(PIN, salt)`, `k_hw = keystore.prf(k_pin)`,
//!   `kek = HKDF-SHA256(k_hw || k_pin, "vistalid/kek/v1" || vault id || generation)`.
//!   Every PIN guess therefore needs the device's keystore: a copied vault cannot be
//!   brute-forced elsewhere, not even with the right PIN on another keystore. The exact
//!   formats are in `envelope.rs`; which file is written when, in `layout.rs`.
//! - **Generations.** The header names a generation (1 at creation, +1 per PIN change); the
//!   PIN tier of generation `g` lives in `secrets.<g>.bin`, under a data key of its own. A PIN
//!   change draws a new data key, re-seals the PIN tier into the next generation's file, then
//!   writes the new header (the commit point), then removes the old file.
//!
//! Guarantees:
//! - The header (Argon2 parameters, salt, generation, wrapped key) is authenticated with a
//!   keystore-derived MAC before anything in it is used; any change to any vault file is
//!   [`VaultError::Corrupt`] (or `KeystoreMismatch` / `UnsupportedVersion` when that is
//!   what the bytes say), never a panic, never a silent success.
//! - Every keystore PRF output is exactly 32 bytes, else
//!   [`KeystoreError::BadOutputLength`](crate::keystore::KeystoreError::BadOutputLength) before
//!   anything is derived from it ([`Vault::check_keystore`] probes a keystore without a vault).
//! - A PIN change cannot be undone by putting the old header file back: the old header's
//!   data key seals no file that is left ([`VaultError::Corrupt`] at unlock).
//! - Every PIN try is counted in the persistent counter, written and fsynced **before** the
//!   PIN is checked, so killing the app mid-check still uses up the try (the write runs
//!   while Argon2 hashes the PIN; the keystore PRF and the key unwrap, the only steps whose
//!   outcome depends on the PIN being right, wait for it). After
//!   [`VaultConfig::max_attempts`] consecutive failures (default 5) the vault is
//!   [`VaultError::Locked`] for good: the only way out is [`Vault::wipe`] and re-enrolment.
//!   A correct PIN resets the count.
//! - Tries are serialised across threads (a mutex) and processes (an exclusive `flock` on
//!   the `lock` file), so concurrent wrong PINs are each counted exactly once.
//! - Back-off between failed tries: see [`BACKOFF_SECS`] (0, 0, 1, 5, 30 s, read from the
//!   vault's [`Clock`]); `VaultConfig::backoff = false` turns it off (tests).
//! - Every file is written crash-safely (temp file, fsync, rename, fsync of the directory):
//!   after a kill at any point each file holds its old or its new content, and the order of
//!   the writes (`layout.rs`) makes a kill during create leave no vault and a kill during a
//!   PIN change leave the old PIN or the new one working, with the secrets intact.
//! - [`Vault::wipe`] deletes the keystore key first (crypto-erase), then the files.
//! - Keys live in `VaultKey` newtypes (`crate::secret`: boxed, wiped on drop, `Debug`
//!   redacted, bytes out only through `expose` at commented call sites); `Debug` of
//!   [`Unlocked`] prints no secret.
//!
//! # Residual risks (read before relying on this)
//!
//! - **Counter rollback.** The counter file is MACed with a keystore-derived key, so it
//!   cannot be forged or edited; but someone who can write the app's files (root, a backup
//!   restore, a forensic tool) can put back an older genuine copy and get fresh tries. With
//!   a hardware keystore every guess still needs the unlocked device and runs at Argon2
//!   speed; with [`crate::keystore::SoftwareKeystore`] the keystore key is a file too, and a
//!   copy of the directory plus that key file can be brute-forced offline (a 6-digit PIN is
//!   about 20 bits). Rollback-proof counting needs platform support (a hardware monotonic
//!   counter or a keystore key with use limits) that the [`PlatformKeystore`] trait does not
//!   yet expose.
//! - **Whole-vault rollback undoes a PIN change.** The same person, with a copy of *every*
//!   vault file taken before a PIN change (header, `secrets.<g>.bin`, counter), can put them
//!   all back: the old PIN then opens the old secrets again (the keystore key did not change,
//!   so nothing on the device can tell the old state from the new). Putting back the header
//!   alone no longer works (the data key rotates). Both rollbacks are closed only by a limit
//!   the device does not hold: the server-counted OPRF step planned in issue 18, where every
//!   PIN try needs an evaluation by the server, which counts them and rotates its key.
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

mod config;
mod envelope;
mod error;
mod layout;
mod lockout;
mod pin;
pub(crate) mod storage;
mod unlocked;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use zeroize::Zeroizing;

use crate::clock::{Clock, SystemClock};
use crate::keystore::PlatformKeystore;
use crate::secret::{Pin, VaultKey};
use envelope::{DeviceKeys, Header, HeaderFile, ID_LEN, KEY_LEN, SALT_LEN};
use error::{header_err, io_err, must_exist};
use layout::{secrets_file, COUNTER_FILE, DEVICE_FILE, HEADER_FILE, LOCK_FILE};
use lockout::Counter;
use storage::DirLock;

pub use config::{Argon2Params, VaultConfig};
pub use error::VaultError;
pub use lockout::BACKOFF_SECS;
pub use pin::{Argon2Kdf, PinPolicy};
pub use unlocked::Unlocked;

/// AAD labels of the two sealed tiers.
const SECRETS_LABEL: &[u8] = b"vistalid/secrets/v1";
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

/// What a correct PIN opened: the authenticated header, the device keys, the data key of the
/// header's generation and the PIN tier it seals.
struct Opened {
    file: HeaderFile,
    dev: Arc<DeviceKeys>,
    data_key: VaultKey,
    secrets: Zeroizing<Vec<u8>>,
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

    /// Opens the PIN tier of `generation` with its data key.
    fn read_secrets(
        &self,
        data_key: &VaultKey,
        vault_id: &[u8; ID_LEN],
        generation: u32,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let bytes = storage::read(&self.dir, &secrets_file(generation)).map_err(must_exist)?;
        envelope::open_file(
            envelope::MAGIC_SECRETS,
            SECRETS_LABEL,
            data_key,
            vault_id,
            generation,
            &bytes,
        )
    }

    /// Seals `plain` as the PIN tier of `generation` and writes it (crash-safe).
    fn write_secrets(
        &self,
        data_key: &VaultKey,
        vault_id: &[u8; ID_LEN],
        generation: u32,
        plain: &[u8],
    ) -> Result<(), VaultError> {
        let sealed = envelope::seal_file(
            envelope::MAGIC_SECRETS,
            SECRETS_LABEL,
            data_key,
            vault_id,
            generation,
            plain,
        )?;
        storage::write_atomic(&self.dir, &secrets_file(generation), &sealed).map_err(io_err)
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

/// The KEK of `header` for `pin`: Argon2id, then the keystore PRF, then HKDF.
fn derive_kek_for(
    kdf: &mut Argon2Kdf,
    keystore: &dyn PlatformKeystore,
    header: &Header,
    pin: &Pin,
) -> Result<VaultKey, VaultError> {
    let k_pin = derive_k_pin(kdf, header, pin)?;
    let k_hw = envelope::prf(keystore, k_pin.as_ref())?;
    Ok(envelope::derive_kek(&k_hw, k_pin.as_ref(), header))
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

    /// Creates a new vault with empty secrets and empty device state. Checks the PIN policy.
    /// The directory is created if needed (`0700` on Unix). The header is written last, so
    /// a crash mid-create leaves no vault ([`Vault::exists`] is false) and create can run
    /// again.
    pub fn create(
        dir: &Path,
        keystore: Arc<dyn PlatformKeystore>,
        config: VaultConfig,
        pin: &Pin,
    ) -> Result<Vault, VaultError> {
        if Self::exists(dir) {
            return Err(VaultError::AlreadyExists);
        }
        config.pin_policy.check(pin)?;
        if !config.argon2.is_in_range() {
            return Err(VaultError::InvalidConfig("Argon2 parameters out of range"));
        }
        create_dir_private(dir).map_err(io_err)?;
        let vault = Self::handle(dir, keystore, config);
        let inner = &vault.inner;
        let mut guard = inner.lock()?;
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
        let data_key = envelope::random_key()?;
        let dev = Arc::new(DeviceKeys::derive(&*inner.keystore, &vault_id)?);
        inner.remember_device_keys(vault_id, Arc::clone(&dev));
        let kek = derive_kek_for(&mut guard.kdf, &*inner.keystore, &header, pin)?;
        let file = HeaderFile::seal(header, &kek, &data_key, &dev)?;
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
        inner.write_secrets(&data_key, &vault_id, FIRST_GENERATION, &[])?;
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

    /// Device tier: sealed under a key from keystore.prf(label) only (no PIN): readable before
    /// unlock, but only on this device's keystore. Holds non-PIN state (accounts' public data,
    /// pinned server keys, poll tokens, replay cache). Empty vec when never set.
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

    /// PIN tier: counts the attempt (persisted + fsynced) BEFORE checking; `WrongPin {
    /// tries_left }`; `Locked` at the limit; `Backoff { retry_after_secs }` if tried too soon.
    /// The PIN is right when it unwraps the data key and that key opens the PIN tier of the
    /// header's generation (else `Corrupt`, and the try stays counted). A right PIN resets
    /// the count.
    pub fn unlock(&self, pin: &Pin) -> Result<Unlocked, VaultError> {
        self.attempt(pin, |_guard, opened| {
            Ok(Unlocked::new(
                Arc::clone(&self.inner),
                opened.file.header.vault_id,
                opened.file.header.generation,
                opened.data_key,
            ))
        })
    }

    /// Tries left before the vault locks (0 when locked). Does not count as a try.
    pub fn attempts_left(&self) -> Result<u32, VaultError> {
        let (file, dev) = self.inner.read_header()?;
        let counter = self.inner.read_counter(&file.header.vault_id, &dev)?;
        Ok(self
            .inner
            .config
            .max_attempts
            .saturating_sub(counter.failures))
    }

    /// Changes the PIN. The old PIN counts as a try; the new one must meet the policy; the new
    /// header uses [`VaultConfig::argon2`]. The data key is rotated: the PIN tier is re-sealed
    /// under a new random data key, in the next generation's file, and the new header (new
    /// salt, generation + 1) wraps that key. So a saved copy of the old header opens nothing
    /// once the change is done. Crash-safe: a kill at any point leaves the old PIN or the new
    /// one working (the file sequence is in `layout.rs`).
    pub fn change_pin(&self, old: &Pin, new: &Pin) -> Result<(), VaultError> {
        let inner = &self.inner;
        inner.config.pin_policy.check(new)?;
        if !inner.config.argon2.is_in_range() {
            return Err(VaultError::InvalidConfig("Argon2 parameters out of range"));
        }
        self.attempt(old, |guard, opened| {
            let Opened {
                file, dev, secrets, ..
            } = opened;
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
                argon2: inner.config.argon2,
                salt,
            };
            let data_key = envelope::random_key()?;
            let kek = derive_kek_for(&mut guard.kdf, &*inner.keystore, &header, new)?;
            let sealed = HeaderFile::seal(header, &kek, &data_key, &dev)?;
            // The next generation's secrets first: nothing points to them until the header.
            inner.write_secrets(&data_key, &vault_id, generation, &secrets)?;
            // The commit point.
            storage::write_atomic(&inner.dir, HEADER_FILE, &sealed.to_bytes()).map_err(io_err)?;
            // The old generation's secrets go: the old header's data key now seals nothing.
            layout::remove_stale_secrets(&inner.dir, Some(generation)).map_err(io_err)?;
            Ok(())
        })
    }

    /// One counted PIN try; on success resets the counter, removes stale generations, and runs
    /// `then` under the lock.
    fn attempt<T>(
        &self,
        pin: &Pin,
        then: impl FnOnce(&mut OpGuard<'_>, Opened) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        let inner = &self.inner;
        let mut guard = inner.lock()?;
        let (file, dev) = inner.read_header()?;
        let id = file.header.vault_id;
        let mut counter = inner.read_counter(&id, &dev)?;
        let max = inner.config.max_attempts;
        if counter.failures >= max {
            return Err(VaultError::Locked);
        }
        let now = self.clock.now();
        if inner.config.backoff {
            let wait = counter.wait_secs(now);
            if wait > 0 {
                return Err(VaultError::Backoff {
                    retry_after_secs: wait,
                });
            }
        }
        // Count first, durably: once the counter is written a kill has used up the try. The
        // write (two fsyncs) runs on a helper thread while Argon2 hashes the PIN, so it costs
        // no wall time; nothing that depends on whether the PIN is right (keystore PRF, key
        // unwrap) happens before the write has completed.
        counter.failures += 1;
        counter.last_try = now;
        let (written, k_pin) = std::thread::scope(|s| {
            let writer = std::thread::Builder::new()
                .name("vault-counter".into())
                .spawn_scoped(s, || inner.write_counter(counter, &id, &dev));
            match writer {
                Ok(writer) => {
                    let k_pin = derive_k_pin(&mut guard.kdf, &file.header, pin);
                    let written = writer
                        .join()
                        .unwrap_or(Err(VaultError::Io(io::ErrorKind::Other)));
                    (written, k_pin)
                }
                // No thread to be had: write first, then hash.
                Err(_) => match inner.write_counter(counter, &id, &dev) {
                    Ok(()) => (Ok(()), derive_k_pin(&mut guard.kdf, &file.header, pin)),
                    Err(e) => (Err(e), Err(VaultError::Io(io::ErrorKind::Other))),
                },
            }
        });
        written?;
        let k_pin = k_pin?;
        let k_hw = envelope::prf(&*inner.keystore, k_pin.as_ref())?;
        let kek = envelope::derive_kek(&k_hw, k_pin.as_ref(), &file.header);
        let Some(data_key) = file.unwrap_key(&kek) else {
            return Err(VaultError::WrongPin {
                tries_left: max.saturating_sub(counter.failures),
            });
        };
        // A header put back from a backup unwraps its own old data key, which seals no file
        // left: refused here, with the try still counted.
        let generation = file.header.generation;
        let secrets = inner.read_secrets(&data_key, &id, generation)?;
        inner.write_counter(
            Counter {
                failures: 0,
                last_try: now,
            },
            &id,
            &dev,
        )?;
        layout::remove_stale_secrets(&inner.dir, Some(generation)).map_err(io_err)?;
        then(
            &mut guard,
            Opened {
                file,
                dev,
                data_key,
                secrets,
            },
        )
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
        for name in [DEVICE_FILE, COUNTER_FILE] {
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
