// SPDX-License-Identifier: Apache-2.0
//! Enrolment: a new account from a server and a one-time activation code.
//!
//! Guarantees, in the order they happen:
//! - The PIN is checked before the activation code is spent: the wallet's PIN unlocks the
//!   first account (a counted try, checked with its server) for a later account; for the
//!   first account the PIN policy is checked, and the vault is created only once the server
//!   has accepted, so a failed first enrolment leaves nothing behind.
//! - Three keys are made per account: the account key (PIN tier; signs the enrolment proof
//!   and the answers), the device-tier key (signs the PIN guesses and the QR presentations;
//!   the credential binds it) and the confirmation key (PIN tier; proves successful unlocks).
//!   The server registers the public halves of the last two.
//! - The keystore is probed before the first enrolment spends the code (a keystore whose PRF
//!   answers the wrong length could not create the vault afterwards).
//! - The server's answer is checked before anything is stored (and before the first vault is
//!   created): the pinned server key must be a valid key, the server must answer an OPRF key
//!   of the suite this build speaks, an insured account's credential must verify under the
//!   issuer key and bind this enrolment's device-tier key, and the account id must be new to
//!   this wallet's vault ([`WalletError::AccountAlreadyEnrolled`]; an existing account is
//!   never replaced).
//! - The device tier is written before the PIN tier: a kill in between leaves a record
//!   without a PIN tier, which the wallet does not list and the next enrolment of that
//!   account replaces; never a PIN tier without its device-tier key.
//! - Where the keystore can attest (ADR 0001), a new hardware key is bound to this nonce and
//!   account key and its attestation sent; it is deleted again unless the account is stored
//!   (`hardware.rs`).

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;

use super::guard::{HttpGuard, Target};
use super::records::{encode_key, encode_secrets, read_state, write_state};
use super::records::{AccountRecord, AccountSecrets, DeviceTierKey};
use super::{blocking, AccountInfo, Wallet, WalletError};
use crate::challenge;
use crate::client::ClientError;
use crate::jws;
use crate::keys::{Jwk, PublicKey, SigningKey};
use crate::oprf::OprfPublicKey;
use crate::protocol::{
    EnrolProofClaims, EnrolRequest, EnrolResponse, KeyStorage, PinGuardKeys, OPRF_MODE, OPRF_SUITE,
    TYP_ENROL_PROOF,
};
use crate::qr;
use crate::secret::Pin;
use crate::totp::{self, TotpSecret};
use crate::vault::{NewAccount, Vault};

impl Wallet {
    /// Enrols a new account with `server_url` using the one-time `activation_code`. The first
    /// enrolment creates the vault with `pin` (checked against the PIN policy); later ones
    /// must give the wallet's PIN, which is checked (with the first account's server) before
    /// the server is contacted.
    ///
    /// The server must count PIN guesses (answer an `oprf` key, ADR 0001): the account's PIN
    /// tier is sealed under a key that needs one evaluation by it per PIN try. Enrolment costs
    /// one such guess, confirmed at once.
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
        let vault = self.vault();
        let first_account = match &vault {
            Some(v) => v.account_ids()?.into_iter().next(),
            None => None,
        };
        let existing = match (&vault, first_account) {
            (Some(vault), Some(first)) => {
                let unlocked = self.unlock(vault, &first, pin).await?;
                Ok(unlocked)
            }
            _ => {
                self.config.vault.pin_policy.check(&pin)?;
                // A keystore that answers the wrong length would make the new vault fail
                // after the server spent the code: probe it first.
                let keystore = Arc::clone(&self.keystore);
                blocking(move || Ok(Vault::check_keystore(&*keystore)?)).await?;
                Err(pin)
            }
        };

        let keygen = |_| WalletError::Internal("keygen");
        let device_key = SigningKey::make().map_err(keygen)?;
        let unlock_key = SigningKey::make().map_err(keygen)?;
        let confirm_key = SigningKey::make().map_err(keygen)?;
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
            pin_guard: Some(PinGuardKeys {
                unlock_key: unlock_key.public_key().to_jwk(),
                confirm_key: confirm_key.public_key().to_jwk(),
            }),
        };
        let resp = client
            .enrol(&request)
            .await
            .map_err(WalletError::from_refusal)?;

        // Check the answer before anything is stored (or the first vault created).
        PublicKey::from_jwk(&resp.server_key)
            .map_err(|_| WalletError::Client(ClientError::BadResponse))?;
        let (key_id, oprf_key) = check_oprf(&resp)?;
        let offline = check_offline(&resp)?;
        let credential_id = match (&resp.issuer_key, &resp.credential) {
            (Some(issuer), Some(cred)) => {
                Some(self.check_credential(issuer, cred, &unlock_key.public_key())?)
            }
            (None, None) => None,
            _ => return Err(WalletError::Client(ClientError::BadResponse)),
        };
        if let Some(vault) = &vault {
            refuse_known_account(&vault.account_ids()?, &resp.account_id)?;
        }
        let vault = match vault {
            Some(v) => v,
            None => self.create_vault().await?,
        };
        let info = AccountInfo {
            account_id: resp.account_id.clone(),
            device_id: resp.device_id.clone(),
            kind: resp.kind,
            identity: resp.identity.clone(),
            server_url: client.base_url().to_owned(),
            login_id: resp.login_id.clone(),
        };
        let record = AccountRecord {
            info: info.clone(),
            server_key: resp.server_key.clone(),
            previous_server_key: None,
            previous_until: 0,
            issuer_key: resp.issuer_key.clone(),
            poll_token: resp.poll_token.clone(),
            credential_id,
            hardware_key,
        };
        let tier_key = DeviceTierKey {
            account_id: resp.account_id.clone(),
            unlock_key: encode_key(&unlock_key),
            credential: resp.credential.clone(),
        };
        let secrets = encode_secrets(&AccountSecrets {
            account_id: resp.account_id.clone(),
            device_key: encode_key(&device_key),
        })?;
        let guard = HttpGuard::new(
            self.clock.clone(),
            vec![Target {
                account_id: resp.account_id.clone(),
                device_id: resp.device_id.clone(),
                client,
                unlock_key,
            }],
        )?;
        let account_id = resp.account_id.clone();
        let state_lock = self.state_lock.clone();
        blocking(move || {
            let _guard = state_lock
                .lock()
                .map_err(|_| WalletError::Internal("lock"))?;
            // Again under the lock: a concurrent enrolment may have added the same id.
            let mut state = read_state(&vault)?;
            refuse_known_account(&vault.account_ids()?, &account_id)?;
            // The device tier first (the keys the PIN guard needs, without the PIN), then
            // the PIN tier: a crash in between leaves an account whose PIN tier is missing
            // (`NoSuchAccount` at unlock: enrol it again), never a PIN tier without its
            // device-tier key.
            state.device_keys.retain(|k| k.account_id != account_id);
            state.device_keys.push(tier_key);
            state.accounts.retain(|a| a.info.account_id != account_id);
            state.accounts.push(record);
            write_state(&vault, &state)?;
            let new = NewAccount {
                account_id: &account_id,
                key_id: &key_id,
                server_key: &oprf_key,
                confirm_key: &confirm_key,
            };
            let added = match existing {
                Ok(unlocked) => unlocked.add_account(new, &secrets, &guard),
                Err(pin) => vault.add_first_account(&pin, new, &secrets, &guard),
            };
            let unlocked = match added {
                Ok(u) => u,
                Err(e) => {
                    // Nothing of the account was committed to the PIN tier: forget it.
                    state.accounts.retain(|a| a.info.account_id != account_id);
                    state.device_keys.retain(|k| k.account_id != account_id);
                    write_state(&vault, &state)?;
                    return Err(e.into());
                }
            };
            // The offline-code secret (issue 16), masked under the PIN just proved. The
            // account is committed already: a failure here leaves it without the fallback
            // (its logins need the network), which is what an older enrolment has.
            if let Some(secret) = offline {
                // `offline_code` then answers `NoOfflineCode`, which says what happened.
                let _stored = unlocked.set_offline_secret(&secret);
            }
            Ok(())
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
        let bad = |_| WalletError::Client(ClientError::BadResponse);
        let issuer = PublicKey::from_jwk(issuer)
            .map_err(|_| WalletError::Client(ClientError::BadResponse))?;
        let bytes = B64URL
            .decode(credential_b64)
            .map_err(|_| WalletError::Client(ClientError::BadResponse))?;
        let skew = u32::try_from(challenge::CLOCK_SKEW_SECS).unwrap_or(30);
        let cred =
            qr::credential::verify(&bytes, &[issuer], self.clock.now(), skew).map_err(bad)?;
        if cred.device_key != *device_key {
            return Err(WalletError::Client(ClientError::BadResponse));
        }
        Ok(B64URL.encode(&cred.claims.credential_id))
    }
}

/// The server's OPRF key for the device: required, of the suite and mode this build speaks.
fn check_oprf(resp: &EnrolResponse) -> Result<(String, OprfPublicKey), WalletError> {
    let oprf = resp
        .oprf
        .as_ref()
        .ok_or(WalletError::Client(ClientError::BadResponse))?;
    if oprf.suite != OPRF_SUITE || oprf.mode != OPRF_MODE || oprf.key_id.is_empty() {
        return Err(WalletError::Client(ClientError::BadResponse));
    }
    let key = OprfPublicKey::from_base64url(&oprf.public_key)
        .map_err(|_| WalletError::Client(ClientError::BadResponse))?;
    Ok((oprf.key_id.clone(), key))
}

/// The offline-code secret of the answer, if any: of the one shape this build speaks
/// (HMAC-SHA256, 8 digits, 30 s, 32 bytes), else the answer is refused.
fn check_offline(resp: &EnrolResponse) -> Result<Option<TotpSecret>, WalletError> {
    let Some(info) = &resp.offline_otp else {
        return Ok(None);
    };
    let bad = WalletError::Client(ClientError::BadResponse);
    if info.algorithm != totp::ALGORITHM
        || info.digits != totp::DIGITS
        || info.period != totp::PERIOD_SECS
    {
        return Err(bad);
    }
    let bytes = zeroize::Zeroizing::new(B64URL.decode(&info.secret).map_err(|_| bad.clone())?);
    TotpSecret::from_slice(&bytes).map(Some).ok_or(bad)
}

/// Refuses an enrolment answer that names an account the vault already holds.
fn refuse_known_account(held: &[String], account_id: &str) -> Result<(), WalletError> {
    match held.iter().any(|a| a == account_id) {
        true => Err(WalletError::AccountAlreadyEnrolled),
        false => Ok(()),
    }
}
