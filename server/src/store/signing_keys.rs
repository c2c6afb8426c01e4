// SPDX-License-Identifier: Apache-2.0
//! The server's signing keys, several per purpose, sealed, with their timing (issue 19, "keys
//! that can change"). What the sealed bytes hold and how keys are chosen is `keyring`'s.
//!
//! Guarantees:
//! - [`SigningKeys::insert_first`] stores a purpose's first key only when the purpose has
//!   none yet, in one transaction, so instances starting together agree on one key (a
//!   backend with concurrent writers must serialise it: the PostgreSQL port takes a lock on
//!   the purpose, or relies on a unique constraint).
//! - [`SigningKeys::rotate`] inserts the successor and retires the key it replaces in one
//!   transaction, and refuses (changing nothing) when the purpose already has a key that is
//!   published but not yet signing, or when the key to retire is no longer the current one.

use super::{postgres, sqlite, Store, StoreError};

/// One stored signing key.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct StoredKey {
    /// `id_token`, `challenge` or `issuer`.
    pub(crate) purpose: &'static str,
    /// Its key id (RFC 7638 thumbprint).
    pub(crate) kid: String,
    /// The PKCS#8 key sealed under the key-encryption key (nonce, ciphertext and tag).
    pub(crate) sealed: Vec<u8>,
    /// Published (JWKS, issuer keys) from then on.
    pub(crate) published_at: i64,
    /// Signs from then on.
    pub(crate) active_at: i64,
    /// Signs no more from then on (`None`: still the current key).
    pub(crate) retired_at: Option<i64>,
    /// Published until then (`None`: while it signs, and until a successor retires it).
    pub(crate) expires_at: Option<i64>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("purpose", &self.purpose)
            .field("kid", &self.kid)
            .field("published_at", &self.published_at)
            .field("active_at", &self.active_at)
            .field("retired_at", &self.retired_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What [`SigningKeys::rotate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rotated {
    /// The successor is stored, the old key retired.
    Done,
    /// A successor is already waiting (published, not yet signing): nothing changed.
    AlreadyPending,
    /// The key to retire is not the current one any more (another rotation won): nothing
    /// changed.
    Stale,
}

/// The repository of signing keys.
pub(crate) struct SigningKeys<'a> {
    pub(super) store: &'a Store,
}

impl SigningKeys<'_> {
    /// Every stored key, every purpose (blocking).
    pub(crate) fn all_blocking(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.store.read_blocking(
            (),
            |c, ()| sqlite::signing_keys::all(c),
            |tx, ()| Box::pin(postgres::signing_keys::all_keys(tx)),
        )
    }

    /// Every stored key, every purpose.
    pub(crate) async fn all(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.store
            .read(
                (),
                |c, ()| sqlite::signing_keys::all(c),
                |tx, ()| Box::pin(postgres::signing_keys::all_keys(tx)),
            )
            .await
    }

    /// Stores `key` if its purpose has no key yet; whether it was stored (blocking).
    pub(crate) fn insert_first(&self, key: StoredKey) -> Result<bool, StoreError> {
        self.store
            .write_blocking(key, sqlite::signing_keys::insert_first, |tx, key| {
                Box::pin(postgres::signing_keys::insert_first(tx, key))
            })
    }

    /// Stores `successor` and retires `old_kid` (of the same purpose) at
    /// `successor.active_at`, published until `old_expires_at` (blocking).
    pub(crate) fn rotate(
        &self,
        old_kid: String,
        old_expires_at: i64,
        successor: StoredKey,
        now: i64,
    ) -> Result<Rotated, StoreError> {
        self.store.write_blocking(
            (old_kid, old_expires_at, successor, now),
            |tx, (old_kid, old_expires_at, successor, now)| {
                sqlite::signing_keys::rotate(tx, old_kid, *old_expires_at, successor, *now)
            },
            |tx, (old_kid, old_expires_at, successor, now)| {
                Box::pin(postgres::signing_keys::rotate(
                    tx,
                    old_kid,
                    *old_expires_at,
                    successor,
                    *now,
                ))
            },
        )
    }
}
