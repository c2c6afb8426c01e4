// SPDX-License-Identifier: Apache-2.0
//! Enrolment: a new account from a server and a one-time activation code.
//!
//! Guarantees, in the order they happen:
//! - The PIN is checked before the activation code is spent: the wallet's PIN unlocks the
//!   vault (a counted try) for a later account; for the first account the PIN policy is
//!   checked, and the vault is created only once the server has accepted, so a failed first
//!   enrolment leaves nothing behind.
//! - The keystore is probed before the first enrolment spends the code (a keystore whose PRF
//!   answers the wrong length could not create the vault afterwards).
//! - The server's answer is checked before anything is stored (and before the first vault is
//!   created): the pinned server key must be a valid key, an insured account's credential
//!   must verify under the issuer key and bind this enrolment's device key, and the account
//!   id must be new to this wallet ([`WalletError::AccountAlreadyEnrolled`]; an existing
//!   account is never replaced).
//! - The PIN tier is written before the device tier: a kill in between leaves an orphan key,
//!   never an account without its key.
//! - Where the keystore can attest (ADR 0001), a new hardware key is bound to this nonce and
//!   account key and its attestation sent; it is deleted again unless the account is stored
//!   (`hardware.rs`).

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;

use super::records::{read_secrets, read_state, write_secrets, write_state};
use super::records::{AccountRecord, AccountSecrets, DeviceState};
use super::{blocking, AccountInfo, Wallet, WalletError};
use crate::challenge;
use crate::jws;
use crate::keys::{Jwk, PublicKey, SigningKey};
use crate::protocol::{EnrolProofClaims, EnrolRequest, KeyStorage, TYP_ENROL_PROOF};
use crate::qr;
use crate::secret::Pin;
use crate::vault::Vault;

impl Wallet {
    /// Enrols a new account with `server_url` using the one-time `activation_code`. The first
    /// enrolment creates the vault with `pin` (checked against the PIN policy); later ones
    /// must give the wallet's PIN, which is checked before the server is contacted.
    ///
    /// Refused with [`WalletError::AccountAlreadyEnrolled`] when the server answers with the
    /// id of an account this wallet already holds: the wallet keeps that account (its device
    /// key and credential) untouched and writes nothing. The server has spent the activation
    /// code by then; nothing local is lost.
    pub async fn enrol(
        &self,
        server_url: &str,
        activation_code: &str,
        pin: Pin,
    ) -> Result<AccountInfo, WalletError> {
        let client = self.client(server_url)?;
        // The PIN is checked before the activation code is spent: unlocked for a later
        // account, checked against the policy for the first (the vault is created only once
        // the server has accepted, so a failed first enrolment leaves nothing behind).
        let existing = match self.vault() {
            Some(vault) => {
                let unlocked = self.unlock(&vault, pin).await?;
                Ok((vault, unlocked))
            }
            None => {
                self.config.vault.pin_policy.check(&pin)?;
                // A keystore that answers the wrong length would make the new vault fail
                // after the server spent the code: probe it first.
                let keystore = Arc::clone(&self.keystore);
                blocking(move || Ok(Vault::check_keystore(&*keystore)?)).await?;
                Err(pin)
            }
        };

        let device_key = SigningKey::make().map_err(|_| WalletError::Internal("keygen"))?;
        let nonce = client.enrol_nonce().await?;
        let proof_claims = EnrolProofClaims {
            nonce: nonce.nonce,
            aud: client.base_url().to_owned(),
            iat: self.clock.now(),
        };
        // The hardware key, bound to this nonce and account key (deleted again by the guard
        // unless the account is stored).
        let (hardware_guard, hardware) = self
            .attest_hardware_key(&proof_claims.nonce, &device_key.public_key())
            .await?;
        let proof = jws::sign_json(&device_key, TYP_ENROL_PROOF, &proof_claims)
            .map_err(|_| WalletError::Internal("signing failed"))?;
        let (hardware_key, device_attestation) = match hardware {
            Some(h) => (Some(h.alias), Some(h.attestation)),
            None => (None, None),
        };
        let request = EnrolRequest {
            activation_code: activation_code.trim().to_owned(),
            public_key: device_key.public_key().to_jwk(),
            proof,
            device_name: self.config.device_name.clone(),
            device_attestation,
            key_storage: Some(if self.keystore.is_hardware_backed() {
                KeyStorage::Hardware
            } else {
                KeyStorage::Software
            }),
        };
        let resp = client
            .enrol(&request)
            .await
            .map_err(WalletError::from_refusal)?;

        // Check the answer before anything is stored (or the first vault created).
        PublicKey::from_jwk(&resp.server_key).map_err(|_| WalletError::BadServerResponse)?;
        let credential_id = match (&resp.issuer_key, &resp.credential) {
            (Some(issuer), Some(cred)) => {
                Some(self.check_credential(issuer, cred, &device_key.public_key())?)
            }
            (None, None) => None,
            _ => return Err(WalletError::BadServerResponse),
        };
        if let Ok((vault, _)) = &existing {
            refuse_known_account(&read_state(vault)?, &resp.account_id)?;
        }
        let (vault, unlocked) = match existing {
            Ok(pair) => pair,
            Err(pin) => self.create_vault(pin).await?,
        };
        let info = AccountInfo {
            account_id: resp.account_id.clone(),
            device_id: resp.device_id.clone(),
            kind: resp.kind,
            identity: resp.identity.clone(),
            server_url: client.base_url().to_owned(),
        };
        let record = AccountRecord {
            info: info.clone(),
            server_key: resp.server_key.clone(),
            issuer_key: resp.issuer_key.clone(),
            poll_token: resp.poll_token.clone(),
            credential_id,
            hardware_key,
        };
        // EXPOSE: the private key goes into the PIN tier (its entry is zeroized on drop).
        let pkcs8 = B64URL.encode(device_key.to_pkcs8().as_slice());
        let credential = resp.credential.clone();
        let account_id = resp.account_id.clone();
        let state_lock = self.state_lock.clone();
        blocking(move || {
            let _guard = state_lock
                .lock()
                .map_err(|_| WalletError::Internal("lock"))?;
            // Again under the lock: a concurrent enrolment may have added the same id.
            let mut state = read_state(&vault)?;
            refuse_known_account(&state, &account_id)?;
            // Secrets first: a crash in between leaves an orphan key (replaced by the next
            // enrolment of that id), never an account without its key.
            let mut secrets = read_secrets(&unlocked)?;
            secrets.accounts.retain(|a| a.account_id != account_id);
            secrets.accounts.push(AccountSecrets {
                account_id,
                device_key: pkcs8,
                credential,
            });
            write_secrets(&unlocked, &secrets)?;
            state.accounts.push(record);
            write_state(&vault, &state)
        })
        .await?;
        hardware_guard.disarm();
        Ok(info)
    }

    fn check_credential(
        &self,
        issuer: &Jwk,
        credential_b64: &str,
        device_key: &PublicKey,
    ) -> Result<String, WalletError> {
        let bad = |_| WalletError::BadServerResponse;
        let issuer = PublicKey::from_jwk(issuer).map_err(|_| WalletError::BadServerResponse)?;
        let bytes = B64URL
            .decode(credential_b64)
            .map_err(|_| WalletError::BadServerResponse)?;
        let skew = u32::try_from(challenge::CLOCK_SKEW_SECS).unwrap_or(30);
        let cred =
            qr::credential::verify(&bytes, &[issuer], self.clock.now(), skew).map_err(bad)?;
        if cred.device_key != *device_key {
            return Err(WalletError::BadServerResponse);
        }
        Ok(B64URL.encode(&cred.claims.credential_id))
    }
}

/// Refuses an enrolment answer that names an account the wallet already holds.
fn refuse_known_account(state: &DeviceState, account_id: &str) -> Result<(), WalletError> {
    match state.account(account_id) {
        Some(_) => Err(WalletError::AccountAlreadyEnrolled),
        None => Ok(()),
    }
}
