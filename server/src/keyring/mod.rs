// SPDX-License-Identifier: Apache-2.0
//! The server's signing keys and their rotation (issue 19, "keys that can change"): one
//! keyring shared by every instance through the database.
//!
//! Three purposes, each with its own keys: the ID-token key (ID tokens, signed userinfo, the
//! JWKS), the challenge key (challenges, which wallets pin at enrolment) and the QR issuer
//! key (credentials). Each key has a timeline:
//!
//! ```text
//! published_at ──(pre-publication)── active_at ──(signs)── retired_at ──(still published)── expires_at
//! ```
//!
//! Guarantees:
//! - Keys are stored sealed under the key-encryption key (`seal`), never in the clear; the
//!   keys of older databases (`meta`) are moved in at the first start and their clear copy
//!   deleted.
//! - The signer of a purpose at time `t` is the key with the latest `active_at` ≤ `t`: every
//!   instance that loaded the same rows picks the same key at the same time, so a rotation
//!   takes effect on all instances at the successor's `active_at`, provided they reloaded
//!   (every [`RELOAD_SECS`]) in the pre-publication period, which is why a rotation's
//!   pre-publication is at least [`MIN_PREPUBLISH_SECS`].
//! - A key is published (JWKS, issuer keys) from `published_at` until `expires_at`, which a
//!   rotation sets to the retirement plus the longest lifetime of what the key signed plus
//!   [`EXPIRY_MARGIN_SECS`]: a relying party that caches the JWKS across a rotation keeps
//!   verifying, and a retired issuer key's credentials verify until they expire.
//! - Every key's private half stays stored after retirement: the challenge keys sign the
//!   rollover statements that move wallets that pinned them (`core::rollover`).

mod rotate;
mod seal;

use std::sync::{Arc, RwLock};

use vistalid_core::keys::{Jwk, PublicKey, SigningKey};

use crate::error::ServerError;
use crate::store::{Store, StoredKey};

pub(crate) use seal::Kek;

/// How often each instance re-reads the keys from the database, in seconds.
pub(crate) const RELOAD_SECS: u64 = 60;
/// Shortest pre-publication of a rotation, in seconds: two reload periods, so every instance
/// has the successor before it signs.
pub const MIN_PREPUBLISH_SECS: i64 = 2 * RELOAD_SECS as i64;
/// Added to a retired key's publication beyond the lifetime of what it signed, in seconds
/// (clock skew between the server and those who verify).
pub const EXPIRY_MARGIN_SECS: i64 = 300;

/// Meta key of the server's PKCS#8 signing key before the keyring (OIDC and challenges).
const LEGACY_SERVER_KEY: &str = "server_signing_key_pkcs8";
/// Meta key of the QR issuer's PKCS#8 signing key before the keyring.
const LEGACY_ISSUER_KEY: &str = "qr_issuer_signing_key_pkcs8";

/// What a key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// ID tokens and signed userinfo; published in the JWKS.
    IdToken,
    /// Device challenges; pinned by wallets at enrolment, moved by rollover statements.
    Challenge,
    /// QR credentials; published at the issuer-keys endpoint with their windows.
    Issuer,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Self; 3] = [Self::IdToken, Self::Challenge, Self::Issuer];

    /// The name stored in the database.
    pub(crate) fn stored(self) -> &'static str {
        match self {
            Self::IdToken => "id_token",
            Self::Challenge => "challenge",
            Self::Issuer => "issuer",
        }
    }

    /// The purpose the admin command names (`id-token`, `challenge`, `issuer`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "id-token" | "id_token" => Some(Self::IdToken),
            "challenge" => Some(Self::Challenge),
            "issuer" => Some(Self::Issuer),
            _ => None,
        }
    }

    fn legacy_meta(self) -> &'static str {
        match self {
            Self::IdToken | Self::Challenge => LEGACY_SERVER_KEY,
            Self::Issuer => LEGACY_ISSUER_KEY,
        }
    }
}

/// One key, opened.
pub(crate) struct KeyEntry {
    /// What it signs.
    pub(crate) purpose: Purpose,
    /// Its id (RFC 7638 thumbprint), the `kid` of everything it signs.
    pub(crate) kid: String,
    /// The key.
    pub(crate) key: SigningKey,
    /// Its public JWK (with `kid`).
    pub(crate) jwk: Jwk,
    /// See the module's timeline.
    pub(crate) published_at: i64,
    /// Signs from then on.
    pub(crate) active_at: i64,
    /// Signs no more from then on.
    pub(crate) retired_at: Option<i64>,
    /// Published until then.
    pub(crate) expires_at: Option<i64>,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEntry")
            .field("purpose", &self.purpose)
            .field("kid", &self.kid)
            .field("active_at", &self.active_at)
            .finish_non_exhaustive()
    }
}

impl KeyEntry {
    /// The public key.
    pub(crate) fn public(&self) -> PublicKey {
        self.key.public_key()
    }

    /// Whether it is published at `now`.
    pub(crate) fn is_published(&self, now: i64) -> bool {
        self.published_at <= now && self.expires_at.is_none_or(|e| now < e)
    }
}

/// The keys of every purpose, as last read from the database.
pub(crate) struct Keyring {
    kek: Kek,
    entries: RwLock<Arc<Vec<Arc<KeyEntry>>>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("keys", &self.snapshot().len())
            .finish()
    }
}

impl Keyring {
    /// Opens the keyring of `store` under `kek`: creates each purpose's first key (or moves
    /// the older database's key in) when it has none, then reads them all. Blocks (start-up).
    pub(crate) fn open(store: &Store, kek: Kek) -> Result<Self, ServerError> {
        let ring = Self {
            kek,
            entries: RwLock::new(Arc::new(Vec::new())),
        };
        let repo = store.signing_keys();
        let present = repo.all_blocking()?;
        for purpose in Purpose::ALL {
            if present.iter().any(|k| k.purpose == purpose.stored()) {
                continue;
            }
            // A key of an older database, or a fresh one. A purpose's first key counts from
            // the epoch: nothing came before it to hand over from.
            let key = match store.meta().value(purpose.legacy_meta())? {
                Some(pkcs8) => SigningKey::from_pkcs8(&pkcs8)?,
                None => SigningKey::make()?,
            };
            repo.insert_first(ring.stored_key(purpose, &key, 0, 0)?)?;
        }
        for legacy in [LEGACY_SERVER_KEY, LEGACY_ISSUER_KEY] {
            store.meta().remove(legacy)?;
        }
        ring.replace(repo.all_blocking()?)?;
        Ok(ring)
    }

    /// Re-reads the keys from the database (a rotation made by another process or instance).
    pub(crate) async fn reload(&self, store: &Store) -> Result<(), ServerError> {
        let rows = store.signing_keys().all().await?;
        self.replace(rows)
    }

    /// Re-reads the keys, blocking (admin paths).
    pub(crate) fn reload_blocking(&self, store: &Store) -> Result<(), ServerError> {
        self.replace(store.signing_keys().all_blocking()?)
    }

    fn replace(&self, rows: Vec<StoredKey>) -> Result<(), ServerError> {
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let purpose = Purpose::ALL
                .into_iter()
                .find(|p| p.stored() == row.purpose)
                .ok_or(ServerError::Store(crate::store::StoreError::Corrupt(
                    "signing_keys.purpose",
                )))?;
            let pkcs8 = self.kek.open(row.purpose, &row.kid, &row.sealed)?;
            let key = SigningKey::from_pkcs8(&pkcs8)?;
            if key.public_key().thumbprint() != row.kid {
                return Err(ServerError::Store(crate::store::StoreError::Corrupt(
                    "signing_keys.kid",
                )));
            }
            entries.push(Arc::new(KeyEntry {
                purpose,
                jwk: key.public_key().to_jwk(),
                kid: row.kid,
                key,
                published_at: row.published_at,
                active_at: row.active_at,
                retired_at: row.retired_at,
                expires_at: row.expires_at,
            }));
        }
        *self.entries.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(entries);
        Ok(())
    }

    fn snapshot(&self) -> Arc<Vec<Arc<KeyEntry>>> {
        Arc::clone(&self.entries.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The keys of `purpose`, oldest first.
    pub(crate) fn all(&self, purpose: Purpose) -> Vec<Arc<KeyEntry>> {
        let mut keys: Vec<_> = self
            .snapshot()
            .iter()
            .filter(|k| k.purpose == purpose)
            .cloned()
            .collect();
        keys.sort_by_key(|k| k.active_at);
        keys
    }

    /// The key that signs for `purpose` at `now` (see the module's guarantees).
    pub(crate) fn signer(&self, purpose: Purpose, now: i64) -> Arc<KeyEntry> {
        let keys = self.all(purpose);
        keys.iter()
            .rev()
            .find(|k| k.active_at <= now)
            .or_else(|| keys.first())
            .cloned()
            .expect("every purpose has a key from the first start on")
    }

    /// The keys of `purpose` published at `now`.
    pub(crate) fn published(&self, purpose: Purpose, now: i64) -> Vec<Arc<KeyEntry>> {
        self.all(purpose)
            .into_iter()
            .filter(|k| k.is_published(now))
            .collect()
    }

    /// The key of `purpose` with id `kid`, published or not.
    pub(crate) fn by_kid(&self, purpose: Purpose, kid: &str) -> Option<Arc<KeyEntry>> {
        self.all(purpose).into_iter().find(|k| k.kid == kid)
    }

    /// The key that took (or takes) over from `kid`: the next by `active_at`.
    pub(crate) fn successor(&self, purpose: Purpose, kid: &str) -> Option<Arc<KeyEntry>> {
        let keys = self.all(purpose);
        let at = keys.iter().position(|k| k.kid == kid)?;
        keys.get(at + 1).cloned()
    }

    fn stored_key(
        &self,
        purpose: Purpose,
        key: &SigningKey,
        published_at: i64,
        active_at: i64,
    ) -> Result<StoredKey, ServerError> {
        let kid = key.public_key().thumbprint();
        Ok(StoredKey {
            purpose: purpose.stored(),
            sealed: self.kek.seal(purpose.stored(), &kid, key.to_pkcs8())?,
            kid,
            published_at,
            active_at,
            retired_at: None,
            expires_at: None,
        })
    }
}
