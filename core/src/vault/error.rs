// SPDX-License-Identifier: Apache-2.0
//! The one error type of the vault, and how file-system errors map onto it.
//!
//! Guarantees: no variant carries a PIN, a key or the secrets; a damaged or tampered file is
//! [`VaultError::Corrupt`] (a missing file that must exist included), never a panic.

use std::io;

use super::guard::PinGuardError;
use crate::keystore::KeystoreError;
use crate::oprf::OprfError;

/// Why a PIN was refused. Stated once here and carried unchanged by [`VaultError::Pin`],
/// the wallet's error and the FFI's, so every layer says the same thing the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PinRefusal {
    /// The PIN is wrong; `tries_left` more wrong PINs lock the vault (the fewer of the
    /// phone's and the server's count; 0: the next try is refused).
    #[error("wrong PIN ({tries_left} tries left)")]
    WrongPin {
        /// Tries left before a limit is reached.
        tries_left: u32,
    },
    /// Too many wrong PINs on this phone: the vault is locked for good; wipe it and enrol
    /// again.
    #[error("locked after too many wrong PINs on this phone; enrol again")]
    Locked,
    /// A try came too soon after a failed one; retry after the given delay.
    #[error("wait {retry_after_secs} s before the next try")]
    Backoff {
        /// Seconds to wait before the next try.
        retry_after_secs: u64,
    },
    /// The new PIN breaks the PIN policy; the text says which rule (never the PIN).
    #[error("PIN refused: {0}")]
    WeakPin(&'static str),
}

/// Errors of the vault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The PIN was refused (wrong, locked, too soon, too weak).
    #[error(transparent)]
    Pin(#[from] PinRefusal),
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
    /// The PIN was changed since this [`super::Unlocked`] was made, so its data key no longer
    /// seals the current secrets: unlock again.
    #[error("the PIN was changed since the vault was unlocked; unlock again")]
    Stale,
    /// The vault holds no PIN tier for this account.
    #[error("no such account in the vault")]
    NoSuchAccount,
    /// The account has no offline-code secret (enrolled before issue 16, or with a server
    /// that offers no offline code).
    #[error("this account has no offline code")]
    NoOfflineSecret,
    /// The account's server could not check the PIN (unreachable, refusing, or its guess
    /// limit reached and its key erased: [`PinGuardError::Blocked`]).
    #[error("PIN check by the server: {0}")]
    Guard(#[from] PinGuardError),
    /// The server's OPRF answer was refused (its proof does not verify under the pinned key),
    /// or the OPRF step failed.
    #[error("OPRF: {0}")]
    Oprf(#[from] OprfError),
    /// The platform keystore failed (or answered a PRF output of the wrong length).
    #[error("keystore: {0}")]
    Keystore(#[from] KeystoreError),
    /// A file operation failed.
    #[error("I/O error: {0}")]
    Io(io::ErrorKind),
    /// The operating system's random generator failed.
    #[error("random generator failure")]
    Random,
    /// The [`super::VaultConfig`] is unusable (Argon2 parameters out of range).
    #[error("invalid vault configuration: {0}")]
    InvalidConfig(&'static str),
}

/// Maps a file-system error: oversized (`InvalidData`) is `Corrupt`, the rest keeps its kind.
pub(crate) fn io_err(e: io::Error) -> VaultError {
    match e.kind() {
        io::ErrorKind::InvalidData => VaultError::Corrupt,
        kind => VaultError::Io(kind),
    }
}

/// Maps the error of reading a file that must exist: missing means tampered.
pub(crate) fn must_exist(e: io::Error) -> VaultError {
    match e.kind() {
        io::ErrorKind::NotFound => VaultError::Corrupt,
        _ => io_err(e),
    }
}

/// Maps the error of reading the header: missing means there is no vault.
pub(crate) fn header_err(e: io::Error) -> VaultError {
    match e.kind() {
        io::ErrorKind::NotFound => VaultError::NotFound,
        _ => io_err(e),
    }
}
