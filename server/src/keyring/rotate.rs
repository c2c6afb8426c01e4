// SPDX-License-Identifier: Apache-2.0
//! Rotation: a successor is published now, signs after the pre-publication, and the key it
//! replaces is retired at that moment and stays published for the lifetime of what it signed.
//!
//! Guarantees: a rotation is one store transaction; it is refused (nothing changed) when the
//! pre-publication is shorter than [`MIN_PREPUBLISH_SECS`], when a successor is already
//! waiting, or when another rotation changed the current key meanwhile.

use vistalid_core::keys::SigningKey;

use super::{Keyring, Purpose, EXPIRY_MARGIN_SECS, MIN_PREPUBLISH_SECS};
use crate::error::ServerError;
use crate::store::{Rotated, Store};

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rotation {
    /// The purpose rotated.
    pub(crate) purpose: Purpose,
    /// The retired key's id.
    pub(crate) old_kid: String,
    /// The successor's id.
    pub(crate) new_kid: String,
    /// Published from (now).
    pub(crate) published_at: i64,
    /// The successor signs, and the old key stops signing, from then on.
    pub(crate) active_at: i64,
    /// The old key is published until then.
    pub(crate) old_expires_at: i64,
}

impl Keyring {
    /// Rotates `purpose` at `now`: the successor signs after `prepublish_secs`; the old key
    /// stays published `lifetime_secs` (the longest lifetime of what it signed) plus
    /// [`EXPIRY_MARGIN_SECS`] after. Reloads this keyring. Blocks (admin).
    pub(crate) fn rotate(
        &self,
        store: &Store,
        purpose: Purpose,
        now: i64,
        prepublish_secs: i64,
        lifetime_secs: i64,
    ) -> Result<Rotation, ServerError> {
        if prepublish_secs < MIN_PREPUBLISH_SECS {
            return Err(ServerError::InvalidInput(format!(
                "the pre-publication must be at least {MIN_PREPUBLISH_SECS} seconds (two key \
                 reloads of every instance)"
            )));
        }
        self.reload_blocking(store)?;
        let old = self.signer(purpose, now);
        let key = SigningKey::make()?;
        let active_at = now.saturating_add(prepublish_secs);
        let old_expires_at = active_at
            .saturating_add(lifetime_secs.max(0))
            .saturating_add(EXPIRY_MARGIN_SECS);
        let successor = self.stored_key(purpose, &key, now, active_at)?;
        let new_kid = successor.kid.clone();
        match store
            .signing_keys()
            .rotate(old.kid.clone(), old_expires_at, successor, now)?
        {
            Rotated::Done => {}
            Rotated::AlreadyPending => {
                return Err(ServerError::InvalidInput(
                    "a new key is already waiting to take over; rotate again after it signs".into(),
                ))
            }
            Rotated::Stale => {
                return Err(ServerError::InvalidInput(
                    "the current key changed meanwhile (another rotation); try again".into(),
                ))
            }
        }
        self.reload_blocking(store)?;
        Ok(Rotation {
            purpose,
            old_kid: old.kid.clone(),
            new_kid,
            published_at: now,
            active_at,
            old_expires_at,
        })
    }
}
