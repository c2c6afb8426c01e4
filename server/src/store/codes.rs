// SPDX-License-Identifier: Apache-2.0
//! Activation codes (one use, limited tries, an expiry) and enrolment nonces (one use, an
//! expiry); redeeming a code enrols the device in the same transaction.

use vistalid_core::protocol::{AccountKind, Identity, KeyStorage};

use super::{postgres, sqlite, NewPinGuard, Store, StoreError};
use crate::attestation::HardwareKeyRecord;
use crate::domain::activation::CodeKey;

/// Codes to store for an account: the first candidate whose lookup is free is stored
/// (a lookup is free once its previous code is used, expired or locked); earlier unused
/// codes of the account die.
#[derive(Debug, Clone)]
pub(crate) struct CodeIssue {
    /// Freshly drawn codes, tried in order.
    pub(crate) candidates: Vec<CodeKey>,
    /// Issue time.
    pub(crate) now: i64,
    /// Expiry of the stored code.
    pub(crate) expires_at: i64,
    /// Wrong tries before it dies.
    pub(crate) tries: u32,
}

/// A device to enrol.
#[derive(Debug, Clone)]
pub(crate) struct NewDevice {
    /// Device id (random).
    pub(crate) id: String,
    /// Name the wallet gave (display-safe, checked by the caller).
    pub(crate) name: String,
    /// The device key, SEC1 uncompressed.
    pub(crate) public_key: Vec<u8>,
    /// Its hardware key, when the wallet's attestation verified (ADR 0001).
    pub(crate) hardware_key: Option<HardwareKeyRecord>,
    /// SHA-256 of the device's poll token.
    pub(crate) poll_token_hash: [u8; 32],
    /// Where its keystore keeps its key, as the wallet reported it.
    pub(crate) key_storage: KeyStorage,
    /// Its PIN guard, when the wallet asked for one.
    pub(crate) pin_guard: Option<NewPinGuard>,
    /// Its offline-code secret, sealed (issue 16), when the server offers the fallback.
    pub(crate) offline: Option<super::offline::NewOfflineSecret>,
}

/// An enrolment: a nonce to spend, a code to redeem, the device to record.
#[derive(Debug, Clone)]
pub(crate) struct Enrolment {
    /// The enrolment nonce of the proof (spent whatever happens).
    pub(crate) nonce: String,
    /// The typed activation code.
    pub(crate) code: CodeKey,
    /// Time of the request.
    pub(crate) now: i64,
    /// The device to enrol.
    pub(crate) device: NewDevice,
}

/// The account a device was enrolled to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Enrolled {
    /// Account id.
    pub(crate) account_id: String,
    /// Practitioner or insured.
    pub(crate) kind: AccountKind,
    /// Its identity claims.
    pub(crate) identity: Identity,
    /// The login identifier its user types (`None` only for rows older than it).
    pub(crate) login_id: Option<String>,
}

/// What redeeming an activation code did (every outcome is committed: the nonce is spent,
/// a wrong secret costs a try of a live code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CodeRedeem {
    /// The code was right and live: the device is enrolled, the code used.
    Enrolled(Enrolled),
    /// Nothing was enrolled, and why.
    Refused(CodeRefusal),
}

/// Why a redemption enrolled nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeRefusal {
    /// The nonce is unknown, used or expired.
    InvalidNonce,
    /// Unknown lookup, or a wrong secret (whatever the code's state): told apart by nobody.
    WrongCode,
    /// The right secret of a used code.
    Used,
    /// The right secret of an expired code.
    Expired,
    /// The right secret of a code that ran out of tries.
    Locked,
}

/// The repository of activation codes and enrolment nonces.
pub(crate) struct Codes<'a> {
    pub(super) store: &'a Store,
}

impl Codes<'_> {
    /// Stores a fresh single-use enrolment nonce.
    pub(crate) async fn add_nonce(&self, nonce: &str, expires_at: i64) -> Result<(), StoreError> {
        let nonce = nonce.to_owned();
        self.store
            .write(
                (nonce, expires_at),
                |tx, (nonce, expires_at)| sqlite::codes::add_nonce(tx, nonce, *expires_at),
                |tx, (nonce, expires_at)| {
                    Box::pin(postgres::codes::add_nonce(tx, nonce, *expires_at))
                },
            )
            .await
    }

    /// Spends the nonce, redeems the code and enrols the device, in one transaction.
    pub(crate) async fn redeem(&self, enrolment: Enrolment) -> Result<CodeRedeem, StoreError> {
        self.store
            .write(enrolment, sqlite::codes::redeem, |tx, enrolment| {
                Box::pin(postgres::codes::redeem(tx, enrolment))
            })
            .await
    }

    /// Issues a new code for `account` (id or `SubjectNameID`): the index of the candidate
    /// stored, or `None` when there is no such account (blocking).
    pub(crate) fn issue(
        &self,
        account: &str,
        code: CodeIssue,
    ) -> Result<Option<usize>, StoreError> {
        let account = account.to_owned();
        self.store.write_blocking(
            (account, code),
            |tx, (account, code)| sqlite::codes::issue(tx, account, code),
            |tx, (account, code)| Box::pin(postgres::codes::issue(tx, account, code)),
        )
    }
}
