// SPDX-License-Identifier: Apache-2.0
//! The wallet's persisted schema: what each vault tier holds, as JSON.
//!
//! - The device tier (readable without the PIN, only with this device's keystore) holds a
//!   [`DeviceState`]: per account an [`AccountRecord`] (public data: ids, identity, server URL,
//!   pinned server key, issuer key, poll token, credential id, hardware key
//!   alias), the replay cache, and per
//!   account a [`DeviceTierKey`]: the key that signs the PIN-guard requests and the QR
//!   presentations, and the insured's credential, which the offline QR carries whole (both
//!   zeroized on drop; what this tier gives a holder of the files and the keystore is in
//!   `docs/pin-guard.md`).
//! - Each account's PIN tier holds its [`AccountSecrets`] (the account key as PKCS#8, the one
//!   that signs answers), zeroized on drop.
//!
//! Guarantees: an empty tier reads as the empty state; anything that does not parse is
//! [`WalletError::Corrupt`]; fields added later carry `#[serde(default)]`, so state written by
//! an older build still reads. Accounts are keyed by account id in both tiers.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{AccountInfo, WalletError};
use crate::keys::{Jwk, SigningKey};
use crate::vault::{Unlocked, Vault};

/// How long an answered challenge id stays in the replay cache after its expiry, in seconds.
const REPLAY_CACHE_GRACE_SECS: i64 = 3600;

/// Non-secret account data, kept in the vault's device tier.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct AccountRecord {
    /// What the wallet shows about the account.
    pub(super) info: AccountInfo,
    /// The server's challenge-signing key, pinned at enrolment.
    pub(super) server_key: Jwk,
    /// The challenge key pinned before the last rollover (issue 19), still accepted until
    /// `previous_until` for the challenges it signed before the new key took over.
    #[serde(default)]
    pub(super) previous_server_key: Option<Jwk>,
    /// Until when (seconds since the epoch) `previous_server_key` is accepted.
    #[serde(default)]
    pub(super) previous_until: i64,
    /// The QR issuer's key (insured accounts).
    #[serde(default)]
    pub(super) issuer_key: Option<Jwk>,
    /// Bearer token of the device long-poll.
    pub(super) poll_token: String,
    /// Id of the account's QR credential, base64url (insured accounts).
    #[serde(default)]
    pub(super) credential_id: Option<String>,
    /// Alias of the account's hardware key in the platform keystore (ADR 0001), when the
    /// keystore attested one at enrolment: it co-signs every answer and is deleted with the
    /// wallet. Not a secret: the key itself never leaves the hardware.
    #[serde(default)]
    pub(super) hardware_key: Option<String>,
}

/// The device tier's content.
#[derive(Default, Serialize, Deserialize)]
pub(super) struct DeviceState {
    /// The enrolled accounts, in enrolment order.
    pub(super) accounts: Vec<AccountRecord>,
    /// Answered challenge ids with their expiry (the replay cache).
    pub(super) answered: Vec<(String, i64)>,
    /// The device-tier keys, one per account.
    #[serde(default)]
    pub(super) device_keys: Vec<DeviceTierKey>,
}

/// One account's device-tier key (usable without the PIN) and its credential.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(super) struct DeviceTierKey {
    /// The account.
    pub(super) account_id: String,
    /// PKCS#8 DER of the key that signs PIN-guard requests and QR presentations, base64url.
    pub(super) unlock_key: String,
    /// Issuer credential (insured accounts), base64url: it binds `unlock_key`.
    #[serde(default)]
    pub(super) credential: Option<String>,
}

/// One account's secrets: the content of its PIN tier.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(super) struct AccountSecrets {
    /// The account these secrets belong to.
    pub(super) account_id: String,
    /// PKCS#8 DER of the account key (it signs answers), base64url.
    pub(super) device_key: String,
}

impl DeviceState {
    /// The record of account `account_id`.
    pub(super) fn account(&self, account_id: &str) -> Option<&AccountRecord> {
        self.accounts
            .iter()
            .find(|a| a.info.account_id == account_id)
    }

    /// The device-tier key of account `account_id`.
    pub(super) fn unlock_key(&self, account_id: &str) -> Result<SigningKey, WalletError> {
        let entry = self.device_tier(account_id)?;
        decode_key(&entry.unlock_key)
    }

    /// The device-tier entry of account `account_id` (`Corrupt` when missing: every account
    /// has one).
    pub(super) fn device_tier(&self, account_id: &str) -> Result<&DeviceTierKey, WalletError> {
        self.device_keys
            .iter()
            .find(|k| k.account_id == account_id)
            .ok_or(WalletError::Corrupt)
    }

    /// Whether challenge `id` was answered (it is in the replay cache).
    pub(super) fn was_answered(&self, id: &str) -> bool {
        self.answered.iter().any(|(seen, _)| seen == id)
    }

    /// Records challenge `id` (expiring at `expires_at`) as answered, and forgets the ids
    /// whose challenge expired more than [`REPLAY_CACHE_GRACE_SECS`] before `now`.
    pub(super) fn remember_answered(&mut self, id: String, expires_at: i64, now: i64) {
        self.answered
            .retain(|(_, e)| e.saturating_add(REPLAY_CACHE_GRACE_SECS) >= now);
        self.answered.push((id, expires_at));
    }
}

pub(super) fn read_state(vault: &Vault) -> Result<DeviceState, WalletError> {
    let bytes = vault.device_state()?;
    if bytes.is_empty() {
        return Ok(DeviceState::default());
    }
    serde_json::from_slice(&bytes).map_err(|_| WalletError::Corrupt)
}

pub(super) fn write_state(vault: &Vault, state: &DeviceState) -> Result<(), WalletError> {
    let bytes = serde_json::to_vec(state).map_err(|_| WalletError::Internal("encode"))?;
    Ok(vault.set_device_state(&bytes)?)
}

/// The secrets of the account `unlocked` opened.
pub(super) fn read_secrets(unlocked: &Unlocked) -> Result<AccountSecrets, WalletError> {
    let bytes = unlocked.secrets()?;
    let secrets: AccountSecrets =
        serde_json::from_slice(&bytes).map_err(|_| WalletError::Corrupt)?;
    if secrets.account_id != unlocked.account_id() {
        return Err(WalletError::Corrupt);
    }
    Ok(secrets)
}

/// The JSON of an account's secrets, as its PIN tier holds them.
pub(super) fn encode_secrets(secrets: &AccountSecrets) -> Result<Zeroizing<Vec<u8>>, WalletError> {
    Ok(Zeroizing::new(
        serde_json::to_vec(secrets).map_err(|_| WalletError::Internal("encode"))?,
    ))
}

/// The account key of the account `unlocked` opened.
pub(super) fn device_key(unlocked: &Unlocked) -> Result<SigningKey, WalletError> {
    decode_key(&read_secrets(unlocked)?.device_key)
}

/// A key from its base64url PKCS#8 text.
pub(super) fn decode_key(b64: &str) -> Result<SigningKey, WalletError> {
    let der = Zeroizing::new(B64URL.decode(b64).map_err(|_| WalletError::Corrupt)?);
    SigningKey::from_pkcs8(&der).map_err(|_| WalletError::Corrupt)
}

/// A key's base64url PKCS#8 text.
pub(super) fn encode_key(key: &SigningKey) -> String {
    // EXPOSE: the private key goes into a vault tier (its entry is zeroized on drop).
    B64URL.encode(key.to_pkcs8().as_slice())
}
