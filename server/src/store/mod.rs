// SPDX-License-Identifier: Apache-2.0
//! The store: every record the server keeps, behind one repository per table group, with
//! methods named after what they do. All SQL lives below this folder (in `sqlite/`).
//!
//! Guarantees:
//! - Callers see the store handle ([`Store`]), its repositories and plain Rust types
//!   (`domain` states, core's protocol types, byte strings); no backend type appears in a
//!   repository's signature, so another backend (PostgreSQL, issue 19) can come in behind the
//!   same methods.
//! - Each method is one transaction. One whose wrong try must stay written (a wrong
//!   activation secret costs a try; a token poll records its time) returns an outcome enum
//!   that says what happened, and commits whatever the outcome; only an `Err` rolls back.
//! - A stored state the server does not know is [`StoreError::Corrupt`], never a default.
//! - Methods without `async` block the calling thread (start-up and admin paths only).

mod accounts;
mod attempts;
mod clients;
mod codes;
mod credentials;
mod meta;
pub(crate) mod offline;
mod pin_guards;
mod push_tokens;
mod refusals;
mod requests;
mod sessions;
// The server's signing keys (issue 19, branch keys19).
mod signing_keys;
mod sqlite;
// Used by the token endpoint, userinfo and logout (issue 15, branch tokens15).
#[allow(dead_code)]
mod tokens;
mod upkeep;

use std::path::Path;

pub(crate) use accounts::{
    Accounts, Added, Alerts, DeviceKey, DeviceRecord, LoginDevice, LoginTarget, NewAccount,
    Revocation,
};
pub(crate) use attempts::{
    Attempt, AttemptRequest, Attempts, CodeFromAttempt, Continued, NewAttempt, StopTry, Stopped,
};
pub(crate) use clients::{ClientRecord, Clients, NewClient};
pub(crate) use codes::{CodeIssue, CodeRedeem, CodeRefusal, Codes, Enrolled, Enrolment, NewDevice};
pub(crate) use credentials::{Credentials, NewCredential, NewRedemption, Presenter, Redemption};
pub(crate) use meta::Meta;
pub(crate) use pin_guards::{
    GuardKeys, GuardRefusal, GuardRequest, GuessOutcome, NewPinGuard, PinGuards,
};
pub(crate) use push_tokens::{PushRegistration, PushTokens, RegisterOutcome, StoredPushToken};
pub(crate) use refusals::{RefusalCount, RefusalTally, Refusals};
pub(crate) use requests::{
    AnswerRefusal, AnswerTry, Answered, CounterStep, Grant, NewChallenge, NewRequest, NotGranted,
    Poll, Queued, Requests, ScanKey, TokenPoll,
};
// The server's signing keys (issue 19, branch keys19).
pub(crate) use sessions::{EndSession, NewSession, SessionCode, SessionGrant, Sessions};
pub(crate) use signing_keys::{Rotated, SigningKeys, StoredKey};
// Used by the token endpoint, userinfo and logout (issue 15, branch tokens15).
#[allow(unused_imports)]
pub(crate) use tokens::{
    AccessGrant, CodeExchange, ExchangeRefusal, Exchanged, NewCode, NewToken, RefreshRefusal,
    RefreshTry, Refreshed, TokenGrant, Tokens,
};

pub(crate) use upkeep::{DbFigures, Prunable, PruneStep, Upkeep};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database refused an operation (I/O, corruption, constraint, busy beyond the
    /// timeout); the backend's own error is the source.
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database directory could not be created or its permissions set.
    #[error("database file: {0}")]
    Io(#[from] std::io::Error),
    /// The task or writer thread running the query panicked or is gone.
    #[error("database task failed")]
    Task,
    /// The batch transaction holding this write failed to commit (the backend's reason).
    #[error("database commit failed: {0}")]
    Commit(String),
    /// A stored value does not have the expected shape (hand-edited or corrupt database);
    /// names the column.
    #[error("database holds an unexpected value: {0}")]
    Corrupt(&'static str),
    /// The database was written by a newer server version.
    #[error("database schema version {0} is newer than this server knows")]
    TooNew(i64),
    /// Every freshly drawn value collided with a live one (names what; e.g. too many live
    /// activation codes share the lookup space). Nothing was written.
    #[error("no free {0} after many draws")]
    Exhausted(&'static str),
}

/// The store handle (cheap to clone; every clone uses the same database).
#[derive(Clone)]
pub(crate) struct Store {
    db: sqlite::Db,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.db.path())
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and migrates it. The file is
    /// created with mode 0600 on Unix: it holds the server keys.
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: sqlite::Db::open(path)?,
        })
    }

    /// Where the data lives.
    pub(crate) fn path(&self) -> &Path {
        self.db.path()
    }

    /// Accounts and their devices.
    pub(crate) fn accounts(&self) -> Accounts<'_> {
        Accounts { store: self }
    }

    /// Registered relying parties.
    pub(crate) fn clients(&self) -> Clients<'_> {
        Clients { store: self }
    }

    /// Activation codes and enrolment nonces.
    pub(crate) fn codes(&self) -> Codes<'_> {
        Codes { store: self }
    }

    /// QR credentials and their single-use redemptions.
    pub(crate) fn credentials(&self) -> Credentials<'_> {
        Credentials { store: self }
    }

    /// Named values (the server keys).
    pub(crate) fn meta(&self) -> Meta<'_> {
        Meta { store: self }
    }

    /// The devices' PIN guards (OPRF keys and guess counters).
    pub(crate) fn pin_guards(&self) -> PinGuards<'_> {
        PinGuards { store: self }
    }

    /// The offline code's secrets and guard (issue 16).
    pub(crate) fn offline(&self) -> offline::Offline<'_> {
        offline::Offline { store: self }
    }

    /// The devices' push tokens (issue 20).
    pub(crate) fn push_tokens(&self) -> PushTokens<'_> {
        PushTokens { store: self }
    }

    /// Counts of attestation refusals.
    pub(crate) fn refusals(&self) -> Refusals<'_> {
        Refusals { store: self }
    }

    /// Login requests and their per-device challenges.
    pub(crate) fn requests(&self) -> Requests<'_> {
        Requests { store: self }
    }

    /// Browser login attempts.
    pub(crate) fn attempts(&self) -> Attempts<'_> {
        Attempts { store: self }
    }

    /// The server's signing keys, sealed, with their timing (issue 19, branch keys19).
    pub(crate) fn signing_keys(&self) -> SigningKeys<'_> {
        SigningKeys { store: self }
    }

    /// SSO sessions.
    pub(crate) fn sessions(&self) -> Sessions<'_> {
        Sessions { store: self }
    }

    /// Authorization codes, access tokens and refresh-token families.
    #[allow(dead_code)] // The token endpoint's (branch tokens15).
    pub(crate) fn tokens(&self) -> Tokens<'_> {
        Tokens { store: self }
    }

    /// Retention, readiness and connection figures (issue 19, branch ops19).
    pub(crate) fn upkeep(&self) -> Upkeep<'_> {
        Upkeep { store: self }
    }
}
