// SPDX-License-Identifier: Apache-2.0
//! The server-counted PIN guesses (issue 18, docs/pin-guard.md): per device its OPRF key, its
//! guess counter and the keys that sign its requests, and the request ids already used.
//!
//! Guarantees:
//! - [`PinGuards::count_guess`] spends the request id, then counts the guess and returns the
//!   key, in one transaction whose commit completes before the caller gets the key: the
//!   caller evaluates only a guess that is already counted. The writer thread runs one write
//!   at a time, so concurrent guesses never pass the limit.
//! - At the limit a guess is refused and the key erased (set to NULL, with the time), in the
//!   same committed transaction; nothing brings it back short of a rollback of the file.
//! - A confirmation resets the count only while the key exists, once per request id.
//! - The secret key leaves the store only in a wiped buffer, and no `Debug` prints it.

use std::fmt;

use zeroize::Zeroizing;

use super::{postgres, sqlite, Store, StoreError};

/// The guard to create with a device (in the enrolment's transaction).
#[derive(Clone)]
pub(crate) struct NewPinGuard {
    /// The key's public id, sent back with every request.
    pub(crate) key_id: String,
    /// The OPRF secret key (a P-256 scalar).
    pub(crate) secret_key: Zeroizing<Vec<u8>>,
    /// The device-tier key that signs guesses, SEC1 uncompressed.
    pub(crate) unlock_key: Vec<u8>,
    /// The confirmation key, SEC1 uncompressed.
    pub(crate) confirm_key: Vec<u8>,
    /// Guesses allowed between two confirmations.
    pub(crate) guess_limit: u32,
}

impl fmt::Debug for NewPinGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewPinGuard")
            .field("key_id", &self.key_id)
            .field("guess_limit", &self.guess_limit)
            .finish_non_exhaustive()
    }
}

/// What a request's check needs: the keys and the device's standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GuardKeys {
    /// The device-tier key, SEC1 uncompressed.
    pub(crate) unlock_key: Vec<u8>,
    /// The confirmation key, SEC1 uncompressed.
    pub(crate) confirm_key: Vec<u8>,
    /// Whether the device was revoked.
    pub(crate) revoked: bool,
}

/// One request to count: the device, the key it names, its single-use id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GuardRequest {
    /// The device.
    pub(crate) device_id: String,
    /// The OPRF key id the request names.
    pub(crate) key_id: String,
    /// The request id.
    pub(crate) jti: String,
    /// Until when the id is remembered (past it the request is stale anyway).
    pub(crate) jti_expires_at: i64,
    /// Time of the request.
    pub(crate) now: i64,
}

/// What counting a guess did (every outcome is committed).
pub(crate) enum GuessOutcome {
    /// Counted: evaluate with this key; `guesses_left` after this one.
    Counted {
        /// The OPRF secret key.
        secret_key: Zeroizing<Vec<u8>>,
        /// Guesses left after this one.
        guesses_left: u32,
    },
    /// Refused, and why.
    Refused(GuardRefusal),
}

/// Why a PIN-guard request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GuardRefusal {
    /// The limit was reached: the key is erased (now or before).
    Blocked,
    /// The request id was used before.
    Replayed,
    /// The device has no key of that id.
    UnknownKey,
    /// The device has no guard.
    Unknown,
}

/// The repository of PIN guards.
pub(crate) struct PinGuards<'a> {
    pub(super) store: &'a Store,
}

impl PinGuards<'_> {
    /// The keys of `device_id`'s guard, if it has one.
    pub(crate) async fn keys(&self, device_id: &str) -> Result<Option<GuardKeys>, StoreError> {
        let id = device_id.to_owned();
        self.store
            .read(
                id,
                |tx, id| sqlite::pin_guards::keys(tx, id),
                |tx, id| Box::pin(postgres::pin_guards::keys(tx, id)),
            )
            .await
    }

    /// Spends the request id and counts one guess (see the module guarantees).
    pub(crate) async fn count_guess(&self, req: GuardRequest) -> Result<GuessOutcome, StoreError> {
        self.store
            .write(req, sqlite::pin_guards::count_guess, |tx, req| {
                Box::pin(postgres::pin_guards::count_guess(tx, req))
            })
            .await
    }

    /// Spends the request id and resets the count; returns the guesses allowed from now on.
    pub(crate) async fn confirm(
        &self,
        req: GuardRequest,
    ) -> Result<Result<u32, GuardRefusal>, StoreError> {
        self.store
            .write(req, sqlite::pin_guards::confirm, |tx, req| {
                Box::pin(postgres::pin_guards::confirm(tx, req))
            })
            .await
    }
}
