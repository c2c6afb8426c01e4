// SPDX-License-Identifier: Apache-2.0
//! The devices' push tokens (issue 20, docs/push.md): at most one per device, and the
//! registration request ids already used.
//!
//! Guarantees:
//! - [`PushTokens::register`] spends the request id, then sets or removes the device's token,
//!   in one transaction: a replayed request changes nothing. A revoked or unknown device gets
//!   no token (its registration is refused without spending anything).
//! - Revoking a device removes its token in the revocation's transaction
//!   (`sqlite::accounts::revoke_device`); [`PushTokens::remove_if`] removes a token the push
//!   service answered unregistered, only if it is still the one that was sent (a newer
//!   registration is kept).
//! - [`PushTokens::of_device`] answers only for devices that are not revoked.
//! - No `Debug` prints a token (it addresses the phone).

use std::fmt;

use vistalid_core::push::PushPlatform;

use super::{postgres, sqlite, Store, StoreError};

/// A device's token, as the senders need it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct StoredPushToken {
    /// The push service.
    pub(crate) platform: PushPlatform,
    /// The token.
    pub(crate) token: String,
}

impl fmt::Debug for StoredPushToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredPushToken")
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

/// One checked registration to apply.
#[derive(Clone)]
pub(crate) struct PushRegistration {
    /// The device.
    pub(crate) device_id: String,
    /// The token to set; `None` removes the device's token.
    pub(crate) token: Option<StoredPushToken>,
    /// The request id.
    pub(crate) jti: String,
    /// Until when the id is remembered (past it the request is stale anyway).
    pub(crate) jti_expires_at: i64,
    /// Time of the request.
    pub(crate) now: i64,
}

impl fmt::Debug for PushRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushRegistration")
            .field("device_id", &self.device_id)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// What a registration did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegisterOutcome {
    /// Applied; whether the device now has a token.
    Applied {
        /// `false` after a removal.
        registered: bool,
    },
    /// The request id was used before: nothing changed.
    Replayed,
    /// No such device, or it is revoked: nothing changed.
    NoDevice,
}

/// The repository of push tokens.
pub(crate) struct PushTokens<'a> {
    pub(super) store: &'a Store,
}

impl PushTokens<'_> {
    /// Spends the request id and sets or removes the token (see the module guarantees).
    pub(crate) async fn register(
        &self,
        reg: PushRegistration,
    ) -> Result<RegisterOutcome, StoreError> {
        self.store
            .write(reg, sqlite::push_tokens::register, |tx, reg| {
                Box::pin(postgres::push_tokens::register(tx, reg))
            })
            .await
    }

    /// The token of `device_id`, if it has one and is not revoked.
    pub(crate) async fn of_device(
        &self,
        device_id: &str,
    ) -> Result<Option<StoredPushToken>, StoreError> {
        let id = device_id.to_owned();
        self.store
            .read(
                id,
                |tx, id| sqlite::push_tokens::of_device(tx, id),
                |tx, id| Box::pin(postgres::push_tokens::of_device(tx, id)),
            )
            .await
    }

    /// Removes `device_id`'s token if it is still `token` (the push service answered it
    /// unregistered); whether one was removed.
    pub(crate) async fn remove_if(&self, device_id: &str, token: &str) -> Result<bool, StoreError> {
        let (id, token) = (device_id.to_owned(), token.to_owned());
        self.store
            .write(
                (id, token),
                |tx, (id, token)| sqlite::push_tokens::remove_if(tx, id, token),
                |tx, (id, token)| Box::pin(postgres::push_tokens::remove_if(tx, id, token)),
            )
            .await
    }
}
