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
//!   formats are in `envelope.rs`.
//!
//! Guarantees:
//! - The header (Argon2 parameters, salt, generation, wrapped key) is authenticated with a
//!   keystore-derived MAC before anything in it is used; any change to any vault file is
//!   [`VaultError::Corrupt`] (or `KeystoreMismatch` / `UnsupportedVersion` when that is
//!   what the bytes say), never a panic, never a silent success.
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
//!   after a kill at any point each file holds its old or its new content.
//! - [`Vault::wipe`] deletes the keystore key first (crypto-erase), then the files.
//! - Keys live in boxed [`Zeroizing`] buffers; `Debug` of [`Unlocked`] prints no secret.
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
//! - **PIN copies outside Rust.** A PIN passed from Kotlin or Swift as a `String` is copied
//!   by the runtime (and the UniFFI lowering); Rust wipes its own [`Pin`] but cannot wipe
//!   those copies, nor what the keyboard or the UI kept.
//! - **Zeroize is best effort.** Buffers we own are wiped on drop, but the compiler, the
//!   allocator, ring's internal key schedules, swap and core dumps may leave copies.
//! - The Argon2 memory block (64 MiB at the default) stays allocated while the [`Vault`]
//!   handle lives, so repeated unlocks do not allocate; it is wiped after each hash.

mod envelope;
mod lockout;
mod pin;
pub(crate) mod storage;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use zeroize::Zeroizing;

use crate::clock::{Clock, SystemClock};
use crate::keystore::{KeystoreError, PlatformKeystore};
use crate::secret::Pin;
use envelope::{DeviceKeys, Header, HeaderFile, Key, ID_LEN, KEY_LEN, SALT_LEN};
use lockout::Counter;
use storage::DirLock;

pub use lockout::BACKOFF_SECS;
pub use pin::{Argon2Kdf, PinPolicy};

/// File names inside a vault directory.
const HEADER_FILE: &str = "vault.hdr";
const SECRETS_FILE: &str = "secrets.bin";
const DEVICE_FILE: &str = "device.bin";
const COUNTER_FILE: &str = "counter.bin";
const LOCK_FILE: &str = "lock";

/// AAD labels of the two sealed tiers.
const SECRETS_LABEL: &[u8] = b"vistalid/secrets/v1";
const DEVICE_LABEL: &[u8] = b"vistalid/device-state/v1";
/// The device tier does not depend on the PIN generation; it is sealed with generation 0.
const DEVICE_GENERATION: u32 = 0;

/// Argon2id cost parameters, stored (authenticated) in each vault header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory, in KiB.
    pub m_kib: u32,
    /// Passes over the memory.
    pub t: u32,
    /// Lanes (degree of parallelism).
    pub p: u32,
}

impl Argon2Params {
    /// The product parameters: m = 64 MiB (65 536 KiB), t = 3 passes, p = 4 lanes (RFC
    /// 9106's second recommended option).
    ///
    /// Chosen from measurements (docs/argon2-parameters.md): the budget is 250 ms of Argon2
    /// per unlock on a mid-range phone. An attacker's cost per guess is memory x passes
    /// (64 MiB x 3 here), whatever p: a GPU or ASIC fills its cores with many guesses anyway.
    /// Lanes only cut the defender's latency, because the vault computes them on
    /// min(p, cores) threads. A 2022 flagship phone takes about 150 ms at these parameters
    /// with 4 threads, and a mid-range phone is estimated 1.5-2x slower, so 64 MiB x 3 fills
    /// the budget. At p = 1 the same cost takes up to about 3 times as long on a phone with 4
    /// fast-enough cores.
    pub const DEFAULT: Self = Self {
        m_kib: 64 * 1024,
        t: 3,
        p: 4,
    };

    /// The default of the releases before parallel lanes: m = 64 MiB, t = 3 passes, p = 1
    /// lane. Vaults made with it keep it (their header says so) until their next PIN change.
    pub const PREVIOUS_DEFAULT: Self = Self {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };

    /// OWASP's minimum for Argon2id: m = 19 MiB (19 456 KiB), t = 2 passes, p = 1 lane.
    pub const OWASP_MIN: Self = Self {
        m_kib: 19 * 1024,
        t: 2,
        p: 1,
    };

    /// Tiny parameters (m = 64 KiB, t = 1, p = 1) for tests only: they make a PIN guess
    /// nearly free. Nothing refuses them, so never use them in a product.
    pub fn insecure_fast_for_tests() -> Self {
        Self {
            m_kib: 64,
            t: 1,
            p: 1,
        }
    }

    fn is_in_range(&self) -> bool {
        self.p >= 1
            && self.p <= envelope::MAX_P
            && self.t >= 1
            && self.t <= envelope::MAX_T
            && self.m_kib >= 8 * self.p
            && self.m_kib <= envelope::MAX_M_KIB
    }
}

/// How a vault is created and guarded.
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// Argon2id parameters for new headers (create, PIN change). Unlock always uses the
    /// parameters stored in the header, so raising these upgrades a vault at its next PIN
    /// change.
    pub argon2: Argon2Params,
    /// Consecutive wrong PINs allowed before the vault locks for good (default 5). The
    /// counter file stores failures, not this limit: open a vault with the configuration it
    /// was created with.
    pub max_attempts: u32,
    /// Which PINs [`Vault::create`] and [`Vault::change_pin`] accept.
    pub pin_policy: PinPolicy,
    /// Whether failed tries impose the [`BACKOFF_SECS`] delays (default true).
    pub backoff: bool,
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            argon2: Argon2Params::DEFAULT,
            max_attempts: 5,
            pin_policy: PinPolicy::default(),
            backoff: true,
        }
    }
}

/// Errors of the vault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The PIN is wrong; `tries_left` more wrong PINs lock the vault (0: the next try is
    /// refused with `Locked`).
    #[error("wrong PIN ({tries_left} tries left)")]
    WrongPin {
        /// Tries left before the vault locks.
        tries_left: u32,
    },
    /// Too many wrong PINs: the vault is locked for good; wipe it and enrol again.
    #[error("vault locked after too many wrong PINs; re-enrol")]
    Locked,
    /// A try came too soon after a failed one; retry after the given delay.
    #[error("too many tries, retry in {retry_after_secs} s")]
    Backoff {
        /// Seconds to wait before the next try.
        retry_after_secs: u64,
    },
    /// The new PIN breaks the PIN policy; the text says which rule (never the PIN).
    #[error("PIN refused: {0}")]
    WeakPin(&'static str),
    /// There is no vault in this directory (or it was wiped or replaced).
    #[error("no vault found")]
    NotFound,
    /// A vault already exists in this directory.
    #[error("a vault already exists here")]
    AlreadyExists,
    /// A vault file is damaged or was tampered with (bad MAC, truncated, missing file).
    #[error("vault data is corrupt or was tampered with")]
    Corrupt,
    /// A vault file has a format version this build does not read.
    #[error("unsupported vault format version {0}")]
    UnsupportedVersion(u16),
    /// The device tier does not open: the vault was written with another device's keystore
    /// key, or the key was lost. Re-enrol.
    #[error("vault belongs to another keystore key")]
    KeystoreMismatch,
    /// The platform keystore failed.
    #[error("keystore: {0}")]
    Keystore(#[from] KeystoreError),
    /// A file operation failed.
    #[error("I/O error: {0}")]
    Io(io::ErrorKind),
    /// The operating system's random generator failed.
    #[error("random generator failure")]
    Random,
    /// The [`VaultConfig`] is unusable (Argon2 parameters out of range).
    #[error("invalid vault configuration: {0}")]
    InvalidConfig(&'static str),
}

fn io_err(e: io::Error) -> VaultError {
    match e.kind() {
        io::ErrorKind::InvalidData => VaultError::Corrupt,
        kind => VaultError::Io(kind),
    }
}

/// Maps the error of reading a file that must exist: missing means tampered.
fn must_exist(e: io::Error) -> VaultError {
    match e.kind() {
        io::ErrorKind::NotFound => VaultError::Corrupt,
        _ => io_err(e),
    }
}

struct Inner {
    dir: PathBuf,
    keystore: Arc<dyn PlatformKeystore>,
    config: VaultConfig,
    /// Serialises operations in this process; holds the reusable Argon2 memory.
    op: Mutex<Argon2Kdf>,
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
    fn read_header(&self) -> Result<(HeaderFile, DeviceKeys), VaultError> {
        let bytes = storage::read(&self.dir, HEADER_FILE).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => VaultError::NotFound,
            _ => io_err(e),
        })?;
        let file = HeaderFile::parse(&bytes)?;
        let dev = DeviceKeys::derive(&*self.keystore, &file.header.vault_id)?;
        file.verify(&dev)?;
        Ok((file, dev))
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
) -> Result<Key, VaultError> {
    let k_pin = derive_k_pin(kdf, header, pin)?;
    let k_hw = keystore.prf(k_pin.as_ref())?;
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
            generation: 1,
            argon2: inner.config.argon2,
            salt,
        };
        let data_key = envelope::random_key()?;
        let dev = DeviceKeys::derive(&*inner.keystore, &vault_id)?;
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
        let secrets = envelope::seal_file(
            envelope::MAGIC_SECRETS,
            SECRETS_LABEL,
            &data_key,
            &vault_id,
            1,
            &[],
        )?;
        storage::write_atomic(dir, SECRETS_FILE, &secrets).map_err(io_err)?;
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
    /// A correct PIN resets the count.
    pub fn unlock(&self, pin: &Pin) -> Result<Unlocked, VaultError> {
        self.attempt(pin, |_guard, file, _dev, data_key| {
            Ok(Unlocked {
                inner: Arc::clone(&self.inner),
                vault_id: file.header.vault_id,
                generation: file.header.generation,
                data_key,
            })
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

    /// Old PIN counts as a try; new salt and generation; re-wraps only the data key (the
    /// secrets file is not rewritten). The new header uses [`VaultConfig::argon2`].
    pub fn change_pin(&self, old: &Pin, new: &Pin) -> Result<(), VaultError> {
        let inner = &self.inner;
        inner.config.pin_policy.check(new)?;
        if !inner.config.argon2.is_in_range() {
            return Err(VaultError::InvalidConfig("Argon2 parameters out of range"));
        }
        self.attempt(old, |guard, file, dev, data_key| {
            let mut salt = [0u8; SALT_LEN];
            envelope::random(&mut salt)?;
            let header = Header {
                vault_id: file.header.vault_id,
                generation: file
                    .header
                    .generation
                    .checked_add(1)
                    .ok_or(VaultError::Corrupt)?,
                argon2: inner.config.argon2,
                salt,
            };
            let kek = derive_kek_for(&mut guard.kdf, &*inner.keystore, &header, new)?;
            let sealed = HeaderFile::seal(header, &kek, &data_key, dev)?;
            storage::write_atomic(&inner.dir, HEADER_FILE, &sealed.to_bytes()).map_err(io_err)
        })
    }

    /// One counted PIN try; on success resets the counter and runs `then` under the lock.
    fn attempt<T>(
        &self,
        pin: &Pin,
        then: impl FnOnce(&mut OpGuard<'_>, &HeaderFile, &DeviceKeys, Key) -> Result<T, VaultError>,
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
        let k_hw = inner.keystore.prf(k_pin.as_ref())?;
        let kek = envelope::derive_kek(&k_hw, k_pin.as_ref(), &file.header);
        let Some(data_key) = file.unwrap_key(&kek) else {
            return Err(VaultError::WrongPin {
                tries_left: max.saturating_sub(counter.failures),
            });
        };
        inner.write_counter(
            Counter {
                failures: 0,
                last_try: now,
            },
            &id,
            &dev,
        )?;
        then(&mut guard, &file, &dev, data_key)
    }

    /// Deletes the keystore key first (crypto-erase), then the files (also stale temporary
    /// files) and the directory if it is then empty. The files are removed even when the
    /// keystore fails; its error is returned afterwards.
    pub fn wipe(self) -> Result<(), VaultError> {
        let inner = &self.inner;
        let guard = inner.lock()?;
        let key_result = inner.keystore.delete();
        let dir = &inner.dir;
        storage::remove(dir, HEADER_FILE).map_err(io_err)?;
        storage::sync_dir(dir).map_err(io_err)?;
        for name in [SECRETS_FILE, DEVICE_FILE, COUNTER_FILE] {
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

/// An unlocked vault: holds the data key (boxed, zeroized on drop); `Debug` redacted. Drop it
/// as soon as the secrets are no longer needed.
pub struct Unlocked {
    inner: Arc<Inner>,
    vault_id: [u8; ID_LEN],
    generation: u32,
    data_key: Key,
}

impl Unlocked {
    /// The PIN-tier secrets (empty vec at creation).
    pub fn secrets(&self) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let bytes = storage::read(&self.inner.dir, SECRETS_FILE).map_err(must_exist)?;
        envelope::open_file(
            envelope::MAGIC_SECRETS,
            SECRETS_LABEL,
            &self.data_key,
            &self.vault_id,
            &bytes,
        )
    }

    /// Replaces the PIN-tier secrets (crash-safe; fresh random nonce per write). Fails with
    /// `NotFound` if the vault was wiped or replaced since it was unlocked.
    pub fn set_secrets(&self, bytes: &[u8]) -> Result<(), VaultError> {
        let _guard = self.inner.lock()?;
        let header = storage::read(&self.inner.dir, HEADER_FILE).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => VaultError::NotFound,
            _ => io_err(e),
        })?;
        let current = HeaderFile::parse(&header)?;
        if current.header.vault_id != self.vault_id {
            return Err(VaultError::NotFound);
        }
        let sealed = envelope::seal_file(
            envelope::MAGIC_SECRETS,
            SECRETS_LABEL,
            &self.data_key,
            &self.vault_id,
            self.generation,
            bytes,
        )?;
        storage::write_atomic(&self.inner.dir, SECRETS_FILE, &sealed).map_err(io_err)
    }
}

impl fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unlocked")
            .field("generation", &self.generation)
            .field("data_key", &"***")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
