// SPDX-License-Identifier: Apache-2.0
//! The answer protocol: approve, deny or report a fetched challenge.
//!
//! Guarantees, in the order they happen:
//! - Only a challenge fetched and verified by [`Wallet::fetch_challenges`] can be answered,
//!   and never one in the replay cache or expired.
//! - An approval's code is checked (well-formed; in pick mode one of the candidates) before
//!   the PIN: a bad code costs no PIN try and sends nothing.
//! - The PIN is checked (a counted try) before anything is signed: a wrong PIN never sends an
//!   answer, nor uses the hardware key (whose App Attest counter would advance).
//! - A scan-mode challenge is answered only after its QR code was scanned
//!   ([`Wallet::scan_login`]), with the MAC over its id and the decision; else
//!   [`WalletError::ScanRequired`], before the PIN.
//! - An account with a hardware key sends its co-signature over the answer's JWS (ADR 0001).
//! - Once the server has decided on the answer (any reply but a network failure or a 5xx),
//!   the challenge id goes into the replay cache; after a network failure or a server fault
//!   (5xx: a database timeout, an instance lost behind a load balancer) the user may try
//!   again, and the server's single use of answers refuses a second one
//!   (`challenge_already_answered`) if the first was recorded after all.

use std::sync::Arc;

use super::records::{device_key, read_state, write_state};
use super::{blocking, AnswerOutcome, Wallet, WalletError};
use crate::challenge::{self, Challenge};
use crate::client::ClientError;
use crate::protocol::{AnswerRequest, AnswerStatus, Decision, ErrorCode};
use crate::secret::Pin;
use crate::vault::Vault;

impl Wallet {
    /// Approves challenge `id` with the PIN and the chosen (pick) or typed code.
    pub async fn approve(
        &self,
        id: &str,
        pin: Pin,
        code: &str,
    ) -> Result<AnswerOutcome, WalletError> {
        self.answer(id, pin, Decision::Approve, Some(code)).await
    }

    /// Declines challenge `id` (signed with the device key, so the PIN is needed).
    pub async fn deny(&self, id: &str, pin: Pin) -> Result<AnswerOutcome, WalletError> {
        self.answer(id, pin, Decision::Deny, None).await
    }

    /// Reports challenge `id` as "this was not me": declined and flagged to the server.
    pub async fn report_not_me(&self, id: &str, pin: Pin) -> Result<AnswerOutcome, WalletError> {
        self.answer(id, pin, Decision::NotMe, None).await
    }

    async fn answer(
        &self,
        id: &str,
        pin: Pin,
        decision: Decision,
        code: Option<&str>,
    ) -> Result<AnswerOutcome, WalletError> {
        let vault = self.vault().ok_or(WalletError::NotEnrolled)?;
        let ch = self
            .pending
            .lock()
            .map_err(|_| WalletError::Internal("lock"))?
            .get(id)
            .cloned()
            .ok_or(WalletError::NoSuchChallenge)?;
        let state = read_state(&vault)?;
        if state.was_answered(id) {
            return Err(WalletError::ChallengeReplayed);
        }
        if ch.is_expired(self.clock.now()) {
            return Err(WalletError::ChallengeExpired);
        }
        // The code before the PIN: a bad code costs no try and sends nothing.
        challenge::check_answer_code(&ch, decision, code)?;
        // Scan mode: the MAC before the PIN too (an unscanned challenge costs no try).
        let scan_mac = self.scan_mac(&ch, decision)?;
        let record = state
            .account(&ch.account_id)
            .cloned()
            .ok_or(WalletError::NoSuchAccount)?;

        let unlocked = self.unlock(&vault, &ch.account_id, pin).await?;
        let key = device_key(&unlocked)?;
        let token = challenge::sign_answer(&key, &ch, decision, code, scan_mac, self.clock.now())?;
        drop(key);
        let hardware_signature = match &record.hardware_key {
            Some(alias) => self.co_sign(alias, &token).await?,
            None => None,
        };

        let client = self.client(&record.info.server_url)?;
        let request = AnswerRequest {
            answer: token,
            hardware_signature,
        };
        let result = client.answer(&ch.id, &request).await;
        let undecided = match &result {
            Err(ClientError::Network { .. }) => true,
            Err(ClientError::Server { status, .. }) => *status >= 500,
            _ => false,
        };
        if !undecided {
            self.remember_answered(&vault, &ch).await?;
            self.forget_scan(&ch.id)?;
        }
        match result {
            Ok(resp) => Ok(match resp.status {
                AnswerStatus::Approved => AnswerOutcome::Approved,
                AnswerStatus::Denied => AnswerOutcome::Denied,
                AnswerStatus::Reported => AnswerOutcome::Reported,
            }),
            Err(ClientError::Server { code, status }) => match ErrorCode::from_code(&code) {
                Some(ErrorCode::WrongCode) => Err(WalletError::WrongCode),
                Some(ErrorCode::ChallengeExpired) => Err(WalletError::ChallengeExpired),
                Some(ErrorCode::ChallengeAlreadyAnswered) => Err(WalletError::ChallengeReplayed),
                _ => Err(WalletError::from_refusal(ClientError::Server {
                    code,
                    status,
                })),
            },
            Err(e) => Err(e.into()),
        }
    }

    async fn remember_answered(
        &self,
        vault: &Arc<Vault>,
        ch: &Challenge,
    ) -> Result<(), WalletError> {
        let vault = vault.clone();
        let (id, exp) = (ch.id.clone(), ch.expires_at);
        let now = self.clock.now();
        let state_lock = self.state_lock.clone();
        self.pending
            .lock()
            .map_err(|_| WalletError::Internal("lock"))?
            .remove(&id);
        blocking(move || {
            let _guard = state_lock
                .lock()
                .map_err(|_| WalletError::Internal("lock"))?;
            let mut state = read_state(&vault)?;
            state.remember_answered(id, exp, now);
            write_state(&vault, &state)
        })
        .await
    }
}
