// SPDX-License-Identifier: Apache-2.0
//! The offline code's records (issue 16, docs/offline-code.md): per device its sealed TOTP
//! secret and the last time step accepted; per account the fallback's wrong-code guard.
//!
//! Guarantees:
//! - [`Offline::begin`] counts a try **before** any code is compared, in a committed
//!   transaction, and refuses once [`MAX_FAILURES`] tries are counted since the last success:
//!   concurrent tries never get more than [`MAX_FAILURES`] comparisons per lock window. The
//!   5th wrong code (or a 6th try while 5 are counted) locks the fallback of the account for
//!   [`LOCK_SECS`].
//! - [`Offline::accept`] accepts a step of a device at most once (the step must be above
//!   the device's last accepted one), only for a device that is not revoked, and approves
//!   the attempt's pending phone request in the same transaction, marked as approved by the
//!   offline code; a success resets the count.
//! - Only active devices' secrets are returned: a revoked device's code is never compared.

use super::{postgres, sqlite, Store, StoreError};

/// Wrong codes (or tries in flight) that lock the fallback.
pub(crate) const MAX_FAILURES: u32 = 5;
/// How long the fallback stays locked after [`MAX_FAILURES`] wrong codes.
pub(crate) const LOCK_SECS: i64 = 15 * 60;

/// A device's sealed secret, created in the enrolment's transaction.
#[derive(Debug, Clone)]
pub(crate) struct NewOfflineSecret {
    /// The configured key that sealed it.
    pub(crate) key_id: String,
    /// `nonce || ciphertext || tag` (`offline_seal`).
    pub(crate) sealed: Vec<u8>,
}

/// An active device's sealed secret, as a try compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceSecret {
    /// The device.
    pub(crate) device_id: String,
    /// The key that sealed it.
    pub(crate) key_id: String,
    /// The sealed bytes.
    pub(crate) sealed: Vec<u8>,
}

/// What counting a try found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Begin {
    /// Locked until then (Unix seconds): no code is compared.
    Locked {
        /// End of the lock.
        until: i64,
    },
    /// Counted: compare the code with these secrets (empty: the account has none).
    Go(Vec<DeviceSecret>),
}

/// What a wrong code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failed {
    /// Wrong; this many tries are left before the lock.
    Wrong {
        /// Tries left.
        left: u32,
    },
    /// Wrong, and the fallback is now locked until then.
    Locked {
        /// End of the lock.
        until: i64,
    },
}

/// A right code to accept.
#[derive(Debug, Clone)]
pub(crate) struct OfflineAccept {
    /// The login attempt.
    pub(crate) attempt_id: String,
    /// Its account.
    pub(crate) account_id: String,
    /// The device whose secret gave the code.
    pub(crate) device_id: String,
    /// The code's time step.
    pub(crate) step: i64,
    /// Now.
    pub(crate) now: i64,
}

/// What accepting a right code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// The attempt's request is approved; its id (to wake the page).
    Approved(String),
    /// The step was accepted before (or the device was revoked since): refused.
    Replayed,
    /// The attempt has no pending request of that account any more: nothing written.
    Closed,
}

/// The repository of the offline code.
pub(crate) struct Offline<'a> {
    pub(super) store: &'a Store,
}

impl Offline<'_> {
    /// Whether the account has an active device with an offline secret.
    pub(crate) async fn available(&self, account_id: &str) -> Result<bool, StoreError> {
        let id = account_id.to_owned();
        self.store
            .read(
                id,
                |tx, id| sqlite::offline::available(tx, id),
                |tx, id| Box::pin(postgres::offline::available(tx, id)),
            )
            .await
    }

    /// Counts a try of `account_id` at `now` (see the module guarantees).
    pub(crate) async fn begin(&self, account_id: &str, now: i64) -> Result<Begin, StoreError> {
        let id = account_id.to_owned();
        self.store
            .write(
                (id, now),
                |tx, (id, now)| sqlite::offline::begin(tx, id, *now),
                |tx, (id, now)| Box::pin(postgres::offline::begin(tx, id, *now)),
            )
            .await
    }

    /// Records that the counted try was wrong.
    pub(crate) async fn fail(&self, account_id: &str, now: i64) -> Result<Failed, StoreError> {
        let id = account_id.to_owned();
        self.store
            .write(
                (id, now),
                |tx, (id, now)| sqlite::offline::fail(tx, id, *now),
                |tx, (id, now)| Box::pin(postgres::offline::fail(tx, id, *now)),
            )
            .await
    }

    /// Accepts a right code (see the module guarantees).
    pub(crate) async fn accept(&self, a: OfflineAccept) -> Result<Accepted, StoreError> {
        self.store
            .write(a, sqlite::offline::accept, |tx, a| {
                Box::pin(postgres::offline::accept(tx, a))
            })
            .await
    }

    /// Whether client `client_id` refuses the fallback (`add-client --no-offline-code`); an
    /// unknown client refuses.
    pub(crate) async fn client_refuses(&self, client_id: &str) -> Result<bool, StoreError> {
        let id = client_id.to_owned();
        self.store
            .read(
                id,
                |tx, id| sqlite::offline::client_refuses(tx, id),
                |tx, id| Box::pin(postgres::offline::client_refuses(tx, id)),
            )
            .await
    }

    /// Sets whether client `client_id` refuses the fallback (blocking: the admin's).
    pub(crate) fn set_client_refuses(
        &self,
        client_id: &str,
        refuses: bool,
    ) -> Result<bool, StoreError> {
        let id = client_id.to_owned();
        self.store.write_blocking(
            (id, refuses),
            |tx, (id, refuses)| sqlite::offline::set_client_refuses(tx, id, *refuses),
            |tx, (id, refuses)| Box::pin(postgres::offline::set_client_refuses(tx, id, *refuses)),
        )
    }

    /// Every sealed secret (blocking: the admin's re-sealing).
    pub(crate) fn all(&self) -> Result<Vec<DeviceSecret>, StoreError> {
        self.store.read_blocking(
            (),
            |c, ()| sqlite::offline::all(c),
            |tx, ()| Box::pin(postgres::offline::all_secrets(tx)),
        )
    }

    /// Replaces a device's sealed secret if it is still sealed under `old_key_id`
    /// (blocking).
    pub(crate) fn reseal(
        &self,
        device_id: &str,
        old_key_id: &str,
        new: NewOfflineSecret,
    ) -> Result<bool, StoreError> {
        let (d, k) = (device_id.to_owned(), old_key_id.to_owned());
        self.store.write_blocking(
            (d, k, new),
            |tx, (d, k, new)| sqlite::offline::reseal(tx, d, k, new),
            |tx, (d, k, new)| Box::pin(postgres::offline::reseal(tx, d, k, new)),
        )
    }
}
