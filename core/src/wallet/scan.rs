// SPDX-License-Identifier: Apache-2.0
//! Scan mode (issue 16): reading the login page's QR code, and the MAC its answer carries.
//!
//! Guarantees:
//! - The scanned text is parsed strictly ([`crate::scan::ScanPayload::parse`]) before
//!   anything else; a text that is not a login QR code is [`WalletError::Scan`].
//! - Nothing is sent to a server that none of the wallet's accounts is enrolled with: the
//!   QR code's origin must equal the canonical origin of one account's server URL, else
//!   [`WalletError::ScanUnknownServer`] names both.
//! - The challenge is fetched from that server as any other ([`Wallet::fetch_challenges`]:
//!   signature, recipient, freshness, replay) and must name the scanned attempt; the
//!   scanned secret is kept, in memory only and wiped on drop, for the answer to that one
//!   challenge, whose MAC it keys ([`crate::scan::answer_mac`]).

use super::{Wallet, WalletError};
use crate::challenge::Challenge;
use crate::scan::{self, ScanPayload};

impl Wallet {
    /// Reads the text of a login page's scan-mode QR code, checks that it comes from the
    /// server of one of this wallet's accounts, and fetches the login request it shows: a
    /// verified challenge to show as usual, then to answer with [`Wallet::approve`],
    /// [`Wallet::deny`] or [`Wallet::report_not_me`] (the answer then carries the MAC).
    pub async fn scan_login(&self, text: &str) -> Result<Challenge, WalletError> {
        let payload = ScanPayload::parse(text)?;
        let accounts = self.accounts()?;
        if accounts.is_empty() {
            return Err(WalletError::NotEnrolled);
        }
        let mut enrolled: Vec<String> = accounts
            .iter()
            .filter_map(|a| scan::origin_of(&a.server_url))
            .collect();
        enrolled.sort();
        enrolled.dedup();
        if !enrolled.contains(&payload.origin) {
            return Err(WalletError::ScanUnknownServer {
                scanned: payload.origin,
                enrolled,
            });
        }
        let fetched = self.fetch_challenges(0).await?;
        let challenge = fetched
            .challenges
            .into_iter()
            .find(|c| {
                c.scan_attempt.as_deref() == Some(payload.attempt_id.as_str())
                    && accounts.iter().any(|a| {
                        a.account_id == c.account_id
                            && scan::origin_of(&a.server_url).as_deref()
                                == Some(payload.origin.as_str())
                    })
            })
            .ok_or(WalletError::ScanNoChallenge)?;
        self.scanned
            .lock()
            .map_err(|_| WalletError::Internal("lock"))?
            .insert(challenge.id.clone(), payload.secret);
        Ok(challenge)
    }

    /// The scan-mode MAC of `decision` on `ch`: `None` for a challenge not in scan mode,
    /// [`WalletError::ScanRequired`] for a scan-mode one whose QR code was not scanned.
    pub(super) fn scan_mac(
        &self,
        ch: &Challenge,
        decision: crate::protocol::Decision,
    ) -> Result<Option<String>, WalletError> {
        if ch.scan_attempt.is_none() {
            return Ok(None);
        }
        let scanned = self
            .scanned
            .lock()
            .map_err(|_| WalletError::Internal("lock"))?;
        let secret = scanned.get(&ch.id).ok_or(WalletError::ScanRequired)?;
        Ok(Some(scan::answer_mac(secret, &ch.id, decision)))
    }

    /// Forgets the scanned secret of challenge `id` (answered, or the wallet wiped).
    pub(super) fn forget_scan(&self, id: &str) -> Result<(), WalletError> {
        self.scanned
            .lock()
            .map_err(|_| WalletError::Internal("lock"))?
            .remove(id);
        Ok(())
    }
}
