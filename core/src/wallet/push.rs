// SPDX-License-Identifier: Apache-2.0
//! Push wake-ups on the wallet's side (issue 20, docs/push.md): registering the platform's
//! push token with each account's server, and handling a push when it arrives.
//!
//! Guarantees:
//! - Every registration is a compact JWS ([`TYP_PUSH_TOKEN`]) signed by the account's
//!   device-tier key (readable without the PIN, so the app can register in the background),
//!   with a fresh random `jti` and the current `iat`: single-use and fresh, as the PIN-guard
//!   requests. The token is checked for its platform's shape before anything is sent.
//! - [`Wallet::handle_push`] reads only the payload's version, device id and challenge id;
//!   a device id this wallet does not hold is refused ([`WalletError::InvalidPush`]) without
//!   any request. The challenge is then fetched from the account's server and verified as
//!   every fetched challenge is ([`Wallet::fetch_challenges`]); nothing else in the push is
//!   used.
//! - This module talks to the servers only through the wallet's `Transport`: no HTTP or TLS
//!   crate is added to the mobile library.

use super::records::read_state;
use super::{Wallet, WalletError};
use crate::challenge::Challenge;
use crate::jws;
use crate::push::{
    check_token, make_jti, PushPayload, PushPlatform, PushTarget, PushTokenClaims,
    PushTokenRequest, TYP_PUSH_TOKEN,
};

impl Wallet {
    /// Registers the platform's push token with every account's server (call it at start
    /// and whenever the platform rotates the token): each server then wakes this device
    /// through `platform` when a login waits. Every account is tried; the first failure is
    /// returned after all were tried (a retry later registers the rest, a registration
    /// replaces the previous token).
    pub async fn register_push_token(
        &self,
        platform: PushPlatform,
        token: &str,
    ) -> Result<(), WalletError> {
        check_token(platform, token).map_err(|_| WalletError::InvalidPushToken)?;
        self.send_push_target(Some(PushTarget {
            platform,
            token: token.to_owned(),
        }))
        .await
    }

    /// Removes this device's push token from every account's server (the devices are then
    /// reached by long-poll only). [`Wallet::wipe`] calls it first, best effort.
    pub async fn unregister_push_token(&self) -> Result<(), WalletError> {
        self.send_push_target(None).await
    }

    async fn send_push_target(&self, push: Option<PushTarget>) -> Result<(), WalletError> {
        let vault = self.vault().ok_or(WalletError::NotEnrolled)?;
        let state = read_state(&vault)?;
        let held = vault.account_ids()?;
        let mut first_error = None;
        for account in state
            .accounts
            .iter()
            .filter(|a| held.contains(&a.info.account_id))
        {
            let device_id = account.info.device_id.clone();
            let sent = async {
                let key = state.unlock_key(&account.info.account_id)?;
                let claims = PushTokenClaims {
                    device_id: device_id.clone(),
                    push: push.clone(),
                    jti: make_jti().ok_or(WalletError::Internal("random generator failure"))?,
                    iat: self.clock.now(),
                };
                let request = jws::sign_json(&key, TYP_PUSH_TOKEN, &claims)
                    .map_err(|_| WalletError::Internal("signing failed"))?;
                let client = self.client(&account.info.server_url)?;
                client
                    .push_token(&PushTokenRequest { device_id, request })
                    .await
                    .map_err(WalletError::from)
            }
            .await;
            if let Err(e) = sent {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Handles a push's data (FCM's `data`, APNs' `userInfo` as string pairs): checks its
    /// shape and that it names a device of this wallet, then fetches the account's pending
    /// challenges and returns the one named, verified and kept for [`Wallet::approve`] and
    /// the other answers. `None`: that challenge is no longer pending (answered elsewhere,
    /// expired, or refused by verification; the refusal is in
    /// [`Wallet::fetch_challenges`]'s result on the next fetch).
    pub async fn handle_push<'a>(
        &self,
        data: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Option<Challenge>, WalletError> {
        let payload = PushPayload::from_pairs(data).map_err(|_| WalletError::InvalidPush)?;
        let vault = self.vault().ok_or(WalletError::NotEnrolled)?;
        let state = read_state(&vault)?;
        if !state
            .accounts
            .iter()
            .any(|a| a.info.device_id == payload.device_id)
        {
            return Err(WalletError::InvalidPush);
        }
        let fetched = self.fetch_challenges(0).await?;
        Ok(fetched
            .challenges
            .into_iter()
            .find(|c| c.id == payload.challenge_id && c.device_id == payload.device_id))
    }
}
