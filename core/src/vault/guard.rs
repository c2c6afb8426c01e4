// SPDX-License-Identifier: Apache-2.0
//! The server's half of every PIN check: the [`PinGuard`] trait through which the vault takes
//! the OPRF step (RFC 9497 VOPRF, [`crate::oprf`]), and [`MemoryPinGuard`], an in-process
//! implementation with the server's rules, for tests, benches and simulations.
//!
//! Guarantees of the trait's contract (what an implementation must do, and what the
//! reference server and [`MemoryPinGuard`] do):
//! - [`PinGuard::evaluate`] is one counted guess: the server counts it durably **before** it
//!   evaluates; at the limit it refuses ([`PinGuardError::Blocked`]) and erases the account's
//!   OPRF key for good. Concurrent calls never get more evaluations than the limit.
//! - [`PinGuard::confirm`] proves a successful unlock with the account's confirmation key, a
//!   signing key sealed inside the account's PIN tier (so only a right PIN reaches it); the
//!   server holds its public half only, so it can check the proof but not make one. A valid
//!   proof resets the count.
//! - Errors say whether the server was reached: [`ClientError::Network`] means no guess
//!   was evaluated that the wallet knows of (the vault then gives the local try back), every
//!   other error means the server answered.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::client::ClientError;
use crate::keys::{PublicKey, SigningKey};
use crate::oprf::{BlindedElement, Evaluation, OprfError, OprfPublicKey, OprfServerKey};

/// What the server answers to one counted guess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardAnswer {
    /// The evaluated element and its proof.
    pub evaluation: Evaluation,
    /// Guesses the server still allows after this one (0: the next one is refused).
    pub guesses_left: u32,
}

/// Errors of the server's half of a PIN check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinGuardError {
    /// The server reached its guess limit for this device and erased the device's OPRF key:
    /// the account's PIN tier can never be opened again; the account must be enrolled again.
    #[error("the server blocked this device after too many wrong PINs")]
    Blocked,
    /// The request to the server failed: unreachable (`Network`: no guess was evaluated as
    /// far as the wallet knows), refused for another reason (`Server`), or answered with
    /// something that does not decode (`BadResponse`).
    #[error("PIN check by the server: {0}")]
    Server(#[from] ClientError),
    /// The guard knows no such account (a bug in the caller).
    #[error("no PIN guard for this account")]
    UnknownAccount,
}

/// The server's half of a PIN check, per account. Implemented over HTTP by the wallet (the
/// requests signed by the account's device-tier key) and in-process by [`MemoryPinGuard`].
/// Calls block (the vault runs on a blocking thread).
pub trait PinGuard: Send + Sync {
    /// One counted guess: the server evaluates `blinded` with the OPRF key `key_id` of the
    /// device enrolled as `account_id`, with a proof.
    fn evaluate(
        &self,
        account_id: &str,
        key_id: &str,
        blinded: &BlindedElement,
    ) -> Result<GuardAnswer, PinGuardError>;

    /// Proves a successful unlock with the account's `confirm_key`: the server resets the
    /// count. Returns the guesses the server allows from now on.
    fn confirm(
        &self,
        account_id: &str,
        key_id: &str,
        confirm_key: &SigningKey,
    ) -> Result<u32, PinGuardError>;
}

/// What the vault needs to know about an account's guard when it adds the account: the
/// server's key id and pinned public key, and the confirmation key it registered.
pub struct NewAccount<'a> {
    /// The account id (as the server names it; at most 128 bytes).
    pub account_id: &'a str,
    /// The server's id of the device's OPRF key (at most 64 bytes).
    pub key_id: &'a str,
    /// The OPRF public key the server answered at enrolment, pinned from now on.
    pub server_key: &'a OprfPublicKey,
    /// The confirmation key whose public half the server registered at enrolment; the vault
    /// seals it in the account's PIN tier.
    pub confirm_key: &'a SigningKey,
}

struct Entry {
    key_id: String,
    key: Option<OprfServerKey>,
    used: u32,
    confirm: PublicKey,
}

/// An in-process guard with the server's rules (count first, refuse and erase at the limit,
/// reset on a verified confirmation), for tests, benches and simulations. Its counts live in
/// memory only.
pub struct MemoryPinGuard {
    limit: u32,
    accounts: Mutex<HashMap<String, Entry>>,
    unreachable: AtomicBool,
}

impl fmt::Debug for MemoryPinGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryPinGuard")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// The label a [`MemoryPinGuard`] confirmation signs, before its fresh nonce.
const MEMORY_CONFIRM_LABEL: &[u8] = b"vistalid/memory-pin-guard/confirm";

impl MemoryPinGuard {
    /// A guard allowing `limit` guesses per account between successful unlocks.
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            accounts: Mutex::new(HashMap::new()),
            unreachable: AtomicBool::new(false),
        }
    }

    /// Enrols `account_id` with a new random OPRF key and the public half of its confirmation
    /// key; returns the key id and the public key to pin. Replaces an earlier entry.
    pub fn enrol(
        &self,
        account_id: &str,
        confirm: PublicKey,
    ) -> Result<(String, OprfPublicKey), OprfError> {
        self.enrol_with_key(account_id, OprfServerKey::make()?, confirm)
    }

    /// [`MemoryPinGuard::enrol`] with a given key (a test that restarts a process re-creates
    /// the same guard from a seed).
    pub fn enrol_with_key(
        &self,
        account_id: &str,
        key: OprfServerKey,
        confirm: PublicKey,
    ) -> Result<(String, OprfPublicKey), OprfError> {
        let public = key.public_key();
        let key_id = format!("k-{}", &public.to_base64url()[..12]);
        self.lock().insert(
            account_id.to_owned(),
            Entry {
                key_id: key_id.clone(),
                key: Some(key),
                used: 0,
                confirm,
            },
        );
        Ok((key_id, public))
    }

    /// Guesses left for `account_id` (0 once blocked), `None` for an unknown account.
    pub fn guesses_left(&self, account_id: &str) -> Option<u32> {
        self.lock().get(account_id).map(|e| match e.key {
            Some(_) => self.limit.saturating_sub(e.used),
            None => 0,
        })
    }

    /// Makes every call fail with [`ClientError::Network`] (a simulated outage) or
    /// answer again.
    pub fn set_unreachable(&self, unreachable: bool) {
        self.unreachable.store(unreachable, Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn reachable(&self) -> Result<(), PinGuardError> {
        if self.unreachable.load(Ordering::SeqCst) {
            return Err(ClientError::Network { retryable: true }.into());
        }
        Ok(())
    }
}

impl PinGuard for MemoryPinGuard {
    fn evaluate(
        &self,
        account_id: &str,
        key_id: &str,
        blinded: &BlindedElement,
    ) -> Result<GuardAnswer, PinGuardError> {
        self.reachable()?;
        let mut accounts = self.lock();
        let entry = accounts
            .get_mut(account_id)
            .ok_or(PinGuardError::UnknownAccount)?;
        if entry.key_id != key_id {
            return Err(PinGuardError::Server(ClientError::Server {
                status: 409,
                code: "unknown_key".into(),
            }));
        }
        if entry.used >= self.limit {
            entry.key = None;
        }
        let Some(key) = &entry.key else {
            return Err(PinGuardError::Blocked);
        };
        entry.used += 1;
        let evaluation = key.evaluate(blinded).map_err(|_| {
            PinGuardError::Server(ClientError::Server {
                status: 500,
                code: "random".into(),
            })
        })?;
        Ok(GuardAnswer {
            evaluation,
            guesses_left: self.limit.saturating_sub(entry.used),
        })
    }

    fn confirm(
        &self,
        account_id: &str,
        key_id: &str,
        confirm_key: &SigningKey,
    ) -> Result<u32, PinGuardError> {
        self.reachable()?;
        let mut nonce = [0u8; 16];
        super::envelope::random(&mut nonce)
            .map_err(|_| PinGuardError::Server(ClientError::BadResponse))?;
        let msg = [MEMORY_CONFIRM_LABEL, key_id.as_bytes(), &nonce].concat();
        let signature = confirm_key
            .sign(&msg)
            .map_err(|_| PinGuardError::Server(ClientError::BadResponse))?;
        let mut accounts = self.lock();
        let entry = accounts
            .get_mut(account_id)
            .ok_or(PinGuardError::UnknownAccount)?;
        let refused = |code: &str| {
            PinGuardError::Server(ClientError::Server {
                status: 403,
                code: code.into(),
            })
        };
        if entry.key.is_none() {
            return Err(PinGuardError::Blocked);
        }
        if entry.key_id != key_id {
            return Err(refused("unknown_key"));
        }
        entry
            .confirm
            .verify(&msg, &signature)
            .map_err(|_| refused("bad_confirmation"))?;
        entry.used = 0;
        Ok(self.limit)
    }
}
