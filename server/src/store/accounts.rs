// SPDX-License-Identifier: Apache-2.0
//! Accounts (practitioners and insured citizens) and their enrolled devices, with the
//! account's login guard state.
//!
//! An account is named by its id, its `SubjectNameID` (national id or pseudonymous id) or its
//! login identifier wherever the admin names one ("account" arguments); logins find it by its
//! login identifier only (never by the pseudonymous id a QR code carries).

use vistalid_core::protocol::{AccountKind, Identity, KeyStorage};

use super::codes::CodeIssue;
use super::{postgres, sqlite, Store, StoreError};
use crate::attestation::HardwareKeyRecord;
use crate::domain::guard::Hold;

/// An account to create.
#[derive(Debug, Clone)]
pub(crate) struct NewAccount {
    /// Account id (random, opaque).
    pub(crate) id: String,
    /// Practitioner or insured.
    pub(crate) kind: AccountKind,
    /// Identity claims (the profession for practitioners only).
    pub(crate) identity: Identity,
    /// The login identifier its user types (`domain::identifier`).
    pub(crate) login_id: String,
    /// Creation time.
    pub(crate) created_at: i64,
}

/// What creating an account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Added {
    /// Created, with the activation code candidate at this index.
    Created {
        /// Index in [`CodeIssue::candidates`] of the code stored.
        code: usize,
    },
    /// An account with that `SubjectNameID` or login identifier exists; nothing was written.
    Duplicate,
}

/// The account a login request is for, as the login needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginTarget {
    /// Account id.
    pub(crate) account_id: String,
    /// The login guard's state.
    pub(crate) hold: Hold,
    /// Its devices that are not revoked, oldest first.
    pub(crate) devices: Vec<LoginDevice>,
}

impl LoginTarget {
    /// What the login page walks with for an identifier no account has: no device and no
    /// hold, so that a start ends as for an account without an active device (having read
    /// nothing of the empty account id), through the same steps and at the same cost.
    pub(crate) fn nobody() -> Self {
        Self {
            account_id: String::new(),
            hold: Hold::default(),
            devices: Vec::new(),
        }
    }
}

/// A device a login may queue a challenge for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginDevice {
    /// Device id.
    pub(crate) id: String,
    /// Its attested hardware key (`None`: enrolled without one), which a relying party's
    /// requirements are checked against.
    pub(crate) hardware_key: Option<HardwareKeyRecord>,
}

/// A device's key and standing, as an answer's check needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceKey {
    /// The device key, SEC1 uncompressed.
    pub(crate) public_key: Vec<u8>,
    /// Whether it was revoked.
    pub(crate) revoked: bool,
    /// Its account.
    pub(crate) account_id: String,
    /// Its attested hardware key, which must co-sign every answer (`None`: enrolled without
    /// one).
    pub(crate) hardware_key: Option<HardwareKeyRecord>,
}

/// A device as the admin lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceRecord {
    /// Device id.
    pub(crate) device_id: String,
    /// Account id.
    pub(crate) account_id: String,
    /// The account's `SubjectNameID`.
    pub(crate) subject_name_id: String,
    /// Name the wallet gave.
    pub(crate) name: String,
    /// The device key, SEC1 uncompressed.
    pub(crate) public_key: Vec<u8>,
    /// Enrolment time.
    pub(crate) created_at: i64,
    /// Revocation time, if revoked.
    pub(crate) revoked_at: Option<i64>,
    /// PIN guesses its guard still allows (0 once its key is erased); `None` without a guard.
    pub(crate) guesses_left: Option<u32>,
    /// Where its keystore keeps its key, as the wallet reported it.
    pub(crate) key_storage: KeyStorage,
    /// Its attested hardware key (platform, level, app), if it enrolled with one.
    pub(crate) hardware_key: Option<HardwareKeyRecord>,
}

/// What revoking a device did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Revocation {
    /// Revoked now; its pending challenges are closed.
    Revoked,
    /// It was revoked before; nothing changed.
    AlreadyRevoked,
    /// No device has that id.
    Unknown,
}

/// An account's alert counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Alerts {
    /// "This was not me" answers.
    pub(crate) fraud_reports: u32,
    /// Wrong code picks.
    pub(crate) wrong_codes: u32,
}

/// The repository of accounts and devices.
pub(crate) struct Accounts<'a> {
    pub(super) store: &'a Store,
}

impl Accounts<'_> {
    /// Creates an account with its first activation code (earlier codes cannot exist), in
    /// one transaction (blocking).
    pub(crate) fn add(&self, account: NewAccount, code: CodeIssue) -> Result<Added, StoreError> {
        self.store.write_blocking(
            (account, code),
            |tx, (account, code)| sqlite::accounts::add(tx, account, code),
            |tx, (account, code)| Box::pin(postgres::accounts::add(tx, account, code)),
        )
    }

    /// Ends the login guard's holds on `account`; `false` when there is no such account
    /// (blocking).
    pub(crate) fn clear_holds(&self, account: &str) -> Result<bool, StoreError> {
        let account = account.to_owned();
        self.store.write_blocking(
            account,
            |tx, account| sqlite::accounts::clear_holds(tx, account),
            |tx, account| Box::pin(postgres::accounts::clear_holds(tx, account)),
        )
    }

    /// The alert counters of `account`, if it exists (blocking).
    pub(crate) fn alerts(&self, account: &str) -> Result<Option<Alerts>, StoreError> {
        self.store.read_blocking(
            account,
            |tx, account| sqlite::accounts::alerts(tx, account),
            |tx, account| Box::pin(postgres::accounts::alerts(tx, account)),
        )
    }

    /// The devices of `account`, revoked ones included, oldest first (blocking).
    pub(crate) fn devices(&self, account: &str) -> Result<Vec<DeviceRecord>, StoreError> {
        self.store.read_blocking(
            account,
            |tx, account| sqlite::accounts::devices(tx, account),
            |tx, account| Box::pin(postgres::accounts::devices(tx, account)),
        )
    }

    /// Revokes a device and closes its pending challenges (blocking).
    pub(crate) fn revoke_device(
        &self,
        device_id: &str,
        now: i64,
    ) -> Result<Revocation, StoreError> {
        let id = device_id.to_owned();
        self.store.write_blocking(
            (id, now),
            |tx, (id, now)| sqlite::accounts::revoke_device(tx, id, *now),
            |tx, (id, now)| Box::pin(postgres::accounts::revoke_device(tx, id, *now)),
        )
    }

    /// The account whose login identifier is `login_id` (as `domain::identifier::read`
    /// gives it), with its active devices.
    pub(crate) async fn login_target(
        &self,
        login_id: &str,
    ) -> Result<Option<LoginTarget>, StoreError> {
        let hint = login_id.to_owned();
        self.store
            .read(
                hint,
                |tx, hint| {
                    sqlite::accounts::login_target(tx, hint, sqlite::accounts::TargetBy::LoginId)
                },
                |tx, hint| {
                    Box::pin(postgres::accounts::login_target(
                        tx,
                        hint,
                        sqlite::accounts::TargetBy::LoginId,
                    ))
                },
            )
            .await
    }

    /// The account `account_id`, with its active devices (a browser attempt's retry).
    pub(crate) async fn login_target_of(
        &self,
        account_id: &str,
    ) -> Result<Option<LoginTarget>, StoreError> {
        let id = account_id.to_owned();
        self.store
            .read(
                id,
                |tx, id| {
                    sqlite::accounts::login_target(tx, id, sqlite::accounts::TargetBy::AccountId)
                },
                |tx, id| {
                    Box::pin(postgres::accounts::login_target(
                        tx,
                        id,
                        sqlite::accounts::TargetBy::AccountId,
                    ))
                },
            )
            .await
    }

    /// The login identifier of `account` (blocking).
    pub(crate) fn login_id(&self, account: &str) -> Result<Option<String>, StoreError> {
        self.store.read_blocking(
            account,
            |tx, account| sqlite::accounts::login_id(tx, account),
            |tx, account| Box::pin(postgres::accounts::login_id(tx, account)),
        )
    }

    /// The key, standing and account of device `device_id`.
    pub(crate) async fn device_key(
        &self,
        device_id: &str,
    ) -> Result<Option<DeviceKey>, StoreError> {
        let id = device_id.to_owned();
        self.store
            .read(
                id,
                |tx, id| sqlite::accounts::device_key(tx, id),
                |tx, id| Box::pin(postgres::accounts::device_key(tx, id)),
            )
            .await
    }

    /// The device whose poll token hashes to `hash`, unless it was revoked.
    pub(crate) async fn device_by_poll_token(
        &self,
        hash: [u8; 32],
    ) -> Result<Option<String>, StoreError> {
        self.store
            .read(hash, sqlite::accounts::device_by_poll_token, |tx, hash| {
                Box::pin(postgres::accounts::device_by_poll_token(tx, hash))
            })
            .await
    }
}
