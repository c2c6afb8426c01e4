// SPDX-License-Identifier: Apache-2.0
//! The account's hardware key (ADR 0001): attested at enrolment, co-signing every answer,
//! deleted with the wallet.
//!
//! Guarantees:
//! - At enrolment the wallet draws a fresh alias and asks the keystore to attest a new key
//!   for [`attestation_challenge`] of the enrolment nonce and the new account key; a keystore
//!   without the capability answers `None` and the account has no hardware key.
//! - A hardware key made for an enrolment that does not complete (the server refuses, the
//!   answer is bad, the call is cancelled) is deleted: [`HardwareKeyGuard`] deletes it unless
//!   the account was stored.
//! - An answer is co-signed over the exact bytes sent (the ASCII of the answer's JWS), after
//!   the PIN was checked. When the keystore has no hardware keys any more (`None`: a wallet
//!   copied to another keystore), the answer goes without, and the server, which knows the
//!   device enrolled with an attestation, refuses it.
//! - Every keystore call runs on the blocking pool (hardware keys can take a second).

use std::sync::Arc;

use super::{blocking, Wallet, WalletError};
use crate::attestation::{attestation_challenge, make_hardware_alias};
use crate::keys::PublicKey;
use crate::keystore::PlatformKeystore;
use crate::protocol::{DeviceAttestation, HardwareSignature};

/// A hardware key attested for one enrolment.
pub(super) struct AttestedHardwareKey {
    /// Its alias in the keystore.
    pub(super) alias: String,
    /// The platform's evidence, sent to the server.
    pub(super) attestation: DeviceAttestation,
}

/// Deletes the hardware key of an enrolment that did not complete, when dropped armed.
pub(super) struct HardwareKeyGuard {
    keystore: Arc<dyn PlatformKeystore>,
    alias: Option<String>,
}

impl HardwareKeyGuard {
    /// The account was stored: keep the key.
    pub(super) fn disarm(mut self) {
        self.alias = None;
    }
}

impl Drop for HardwareKeyGuard {
    fn drop(&mut self) {
        let Some(alias) = self.alias.take() else {
            return;
        };
        let keystore = Arc::clone(&self.keystore);
        // Best effort: an orphan key can sign nothing the server accepts without the account
        // key, which was never stored.
        let delete = move || {
            let _ = keystore.delete_attested(&alias);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(delete)),
            Err(_) => delete(),
        }
    }
}

impl Wallet {
    /// Asks the keystore for a hardware key bound to this enrolment (`nonce` as the server
    /// issued it, `account_key` the new account key). Returns the guard that deletes the key
    /// unless disarmed, and the key (`None` when the keystore cannot attest).
    pub(super) async fn attest_hardware_key(
        &self,
        nonce: &str,
        account_key: &PublicKey,
    ) -> Result<(HardwareKeyGuard, Option<AttestedHardwareKey>), WalletError> {
        let challenge = attestation_challenge(nonce, account_key);
        let alias = make_hardware_alias().map_err(|_| WalletError::Internal("random"))?;
        let mut guard = HardwareKeyGuard {
            keystore: Arc::clone(&self.keystore),
            alias: Some(alias.clone()),
        };
        let keystore = Arc::clone(&self.keystore);
        let name = alias.clone();
        let attested = blocking(move || {
            keystore
                .attest(&name, &challenge)
                .map_err(WalletError::Keystore)
        })
        .await?;
        let key = attested.map(|attestation| AttestedHardwareKey { alias, attestation });
        if key.is_none() {
            guard.alias = None;
        }
        Ok((guard, key))
    }

    /// The hardware key `alias`'s signature over `answer_jws`, or `None` when the keystore no
    /// longer has hardware keys.
    pub(super) async fn co_sign(
        &self,
        alias: &str,
        answer_jws: &str,
    ) -> Result<Option<HardwareSignature>, WalletError> {
        let keystore = Arc::clone(&self.keystore);
        let (alias, message) = (alias.to_owned(), answer_jws.to_owned());
        blocking(move || {
            keystore
                .sign_attested(&alias, message.as_bytes())
                .map_err(WalletError::Keystore)
        })
        .await
    }
}

/// Deletes the hardware keys `aliases`, best effort (the wipe goes on: an orphan key signs
/// nothing the server accepts without the account key the wipe erases).
pub(super) fn delete_hardware_keys(keystore: &dyn PlatformKeystore, aliases: &[String]) {
    for alias in aliases {
        let _ = keystore.delete_attested(alias);
    }
}
