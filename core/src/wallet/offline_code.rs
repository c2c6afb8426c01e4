// SPDX-License-Identifier: Apache-2.0
//! The offline code (issue 16): when the phone has no network, the login page takes an
//! 8-digit RFC 6238 code that the wallet computes from the account's offline secret.
//!
//! Guarantees:
//! - [`Wallet::offline_code`] sends nothing to any server: the secret is unmasked with the
//!   PIN through Argon2id and the keystore PRF only (`vault/offline.rs`).
//! - The vault's local limit and back-off apply (a locked vault gives no code); a wrong PIN
//!   is not detected here (the vault holds no PIN oracle for it): it gives a wrong code,
//!   which the server refuses and counts (docs/offline-code.md).
//! - An account enrolled without an offline secret is [`WalletError::NoOfflineCode`].

use super::records::read_state;
use super::{blocking, Wallet, WalletError};
use crate::secret::Pin;
use crate::totp::{self, Step};

/// An offline code and how long it stays valid.
#[derive(Clone, PartialEq, Eq)]
pub struct OfflineCode {
    /// The 8 digits to type on the login page.
    pub code: String,
    /// Seconds until the code's time step ends (1..=30). The server also takes the code of
    /// the step before, so a code typed just after this still works for one more step.
    pub valid_for_secs: u32,
}

impl std::fmt::Debug for OfflineCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineCode")
            .field("code", &"<redacted>")
            .field("valid_for_secs", &self.valid_for_secs)
            .finish()
    }
}

impl Wallet {
    /// The offline code of `account_id` now, after the PIN, with no network (see the module
    /// docs). `NoSuchAccount`, `NoOfflineCode`, or the vault's `Locked` / `Backoff` refusals.
    pub async fn offline_code(
        &self,
        account_id: &str,
        pin: Pin,
    ) -> Result<OfflineCode, WalletError> {
        let vault = self.vault().ok_or(WalletError::NotEnrolled)?;
        let state = read_state(&vault)?;
        if state.account(account_id).is_none() {
            return Err(WalletError::NoSuchAccount);
        }
        let id = account_id.to_owned();
        let clock = self.clock.clone();
        blocking(move || {
            let secret = vault.offline_secret(&id, &pin)?;
            let now = clock.now();
            let step = Step::of(now).ok_or(WalletError::Internal("the clock is before 1970"))?;
            Ok(OfflineCode {
                code: totp::code_at(&secret, step),
                valid_for_secs: Step::secs_left(now),
            })
        })
        .await
    }
}
