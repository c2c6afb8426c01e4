// SPDX-License-Identifier: Apache-2.0
//! The challenge key's rollover, from the wallet's side (issue 19): a challenge signed by a
//! key the account has not pinned makes the wallet fetch the server's rollover statement,
//! check it against the pinned key ([`crate::rollover::verify_rollover`]) and re-pin.
//!
//! Guarantees:
//! - The pin changes only after every statement of the chain (at most [`MAX_HOPS`]) verified,
//!   each under the key the one before named, the first under the pinned key; it is written
//!   to the device tier (the vault's crash-safe write) before the new key verifies anything.
//!   A refused statement changes nothing and is [`WalletError::KeyRolloverRefused`].
//! - One fetch of challenges asks for a rollover at most once per unknown key id, however
//!   many challenges that key signed.
//! - The key pinned before stays accepted until the new key's `not_before` plus the longest
//!   challenge validity and the clock skew, for the challenges it signed before the switch.

use std::collections::HashSet;

use super::records::{read_state, write_state, AccountRecord};
use super::{blocking, Wallet, WalletError};
use crate::challenge::{ChallengeError, CLOCK_SKEW_SECS, MAX_VALIDITY_SECS};
use crate::client::ClientError;
use crate::jws;
use crate::keys::PublicKey;
use crate::rollover::verify_rollover;

/// Most successive rollovers followed in one go.
pub(super) const MAX_HOPS: usize = 8;

impl Wallet {
    /// Moves account `account_id` to its server's newest challenge key by following the
    /// server's rollover statements from the pinned key; whether the pin changed (`false`:
    /// the server names no successor). A statement that does not verify is
    /// [`WalletError::KeyRolloverRefused`] and changes nothing.
    pub async fn update_server_key(&self, account_id: &str) -> Result<bool, WalletError> {
        let vault = self.vault().ok_or(WalletError::NotEnrolled)?;
        let mut account = read_state(&vault)?
            .account(account_id)
            .cloned()
            .ok_or(WalletError::NoSuchAccount)?;
        self.roll_over(&mut account, None).await
    }

    /// The key that verifies `token` for `account`: the pinned one, the one pinned before
    /// (within its grace), or, for a key id not yet in `tried`, the one a rollover moves the
    /// pin to (the pin is then written, and `account` updated).
    pub(super) async fn challenge_key(
        &self,
        account: &mut AccountRecord,
        token: &str,
        tried: &mut HashSet<String>,
    ) -> Result<PublicKey, ChallengeError> {
        let kid = jws::peek_header(token)
            .ok()
            .and_then(|h| h.kid)
            .ok_or(ChallengeError::BadServerSignature)?;
        let pinned = PublicKey::from_jwk(&account.server_key)
            .map_err(|_| ChallengeError::BadServerSignature)?;
        if pinned.thumbprint() == kid {
            return Ok(pinned);
        }
        if let Some(prev) = account
            .previous_server_key
            .as_ref()
            .and_then(|j| PublicKey::from_jwk(j).ok())
            .filter(|k| k.thumbprint() == kid && self.clock.now() <= account.previous_until)
        {
            return Ok(prev);
        }
        if !tried.insert(kid.clone()) {
            return Err(ChallengeError::KeyRolloverRefused);
        }
        match self.roll_over(account, Some(&kid)).await {
            Ok(_) => {
                let now_pinned = PublicKey::from_jwk(&account.server_key)
                    .map_err(|_| ChallengeError::BadServerSignature)?;
                if now_pinned.thumbprint() == kid {
                    Ok(now_pinned)
                } else {
                    Err(ChallengeError::KeyRolloverRefused)
                }
            }
            Err(_) => Err(ChallengeError::KeyRolloverRefused),
        }
    }

    /// Follows the statements from `account`'s pinned key until `target` (or until the
    /// server names no successor), then writes the new pin; whether it changed.
    async fn roll_over(
        &self,
        account: &mut AccountRecord,
        target: Option<&str>,
    ) -> Result<bool, WalletError> {
        let client = self.client(&account.info.server_url)?;
        let old = PublicKey::from_jwk(&account.server_key).map_err(|_| WalletError::Corrupt)?;
        let mut pinned = old;
        let mut not_before = 0;
        for _ in 0..MAX_HOPS {
            let statement = match client.key_rollover(&pinned.thumbprint()).await {
                Ok(s) => s,
                Err(ClientError::Server { status: 404, .. }) => break,
                Err(e) => return Err(e.into()),
            };
            let (next, claims) = verify_rollover(&statement, &pinned, &account.info.server_url)
                .map_err(WalletError::KeyRolloverRefused)?;
            pinned = next;
            not_before = claims.not_before;
            if target == Some(claims.new_kid.as_str()) {
                break;
            }
        }
        if pinned == old {
            return Ok(false);
        }
        account.previous_server_key = Some(old.to_jwk());
        account.previous_until = not_before
            .saturating_add(MAX_VALIDITY_SECS)
            .saturating_add(CLOCK_SKEW_SECS);
        account.server_key = pinned.to_jwk();
        let vault = self.vault().ok_or(WalletError::NotEnrolled)?;
        let state_lock = self.state_lock.clone();
        let updated = account.clone();
        blocking(move || {
            let _guard = state_lock
                .lock()
                .map_err(|_| WalletError::Internal("lock"))?;
            let mut state = read_state(&vault)?;
            let record = state
                .accounts
                .iter_mut()
                .find(|a| a.info.account_id == updated.info.account_id)
                .ok_or(WalletError::NoSuchAccount)?;
            record.server_key = updated.server_key;
            record.previous_server_key = updated.previous_server_key;
            record.previous_until = updated.previous_until;
            write_state(&vault, &state)
        })
        .await?;
        Ok(true)
    }
}
