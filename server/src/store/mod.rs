// SPDX-License-Identifier: Apache-2.0
//! The store: every record the server keeps, behind one repository per table group, with
//! methods named after what they do. All SQL lives below this folder: in `sqlite/` (the
//! embedded default) and `postgres/` (several instances on one database, issue 19), the
//! backend chosen once, when the store opens, by the configured database URL.
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
//! - Both backends keep the same guarantees and give the same outcomes; each repository
//!   method names its SQL on both (`Store::write` and friends take one of each).

mod accounts;
mod attempts;
mod clients;
mod codes;
mod credentials;
mod database_url;
mod meta;
pub(crate) mod offline;
mod pin_guards;
mod push_tokens;
mod refusals;
mod requests;
mod sessions;
// The server's signing keys (issue 19, branch keys19).
pub(crate) mod postgres;
mod signing_keys;
mod sqlite;
// Used by the token endpoint, userinfo and logout (issue 15, branch tokens15).
#[allow(dead_code)]
mod tokens;
mod upkeep;
// Wake-ups across instances (issue 19, branch pgnotify).
mod wake;

use std::path::PathBuf;

pub use database_url::DatabaseUrl;
pub(crate) use postgres::PgSettings;

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
pub(crate) use wake::{WakeListener, Wakeup};

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
    /// Concurrent transactions (on this or another instance) kept conflicting on the same
    /// rows: the write was tried again up to its limit and never committed. Retryable.
    #[error("database write conflicted with concurrent writes; nothing was written")]
    Conflict,
    /// The database did not answer in time (names what: the connection pool's wait, a
    /// statement, a row lock). Retryable.
    #[error("database timeout: {0}")]
    Timeout(&'static str),
    /// No connection to the database could be made or kept (the server's reason).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The TLS settings of the database URL are refused or cannot be used (an unsupported
    /// `sslmode`, a CA file that is missing or holds no certificate); never holds the URL.
    #[error("database TLS setting: {0}")]
    TlsConfig(String),
    /// A TLS connection to the database failed: the server has no TLS, or its certificate
    /// was refused (unknown CA, wrong name, expired); the handshake's reason. Never holds
    /// the URL.
    #[error("TLS to the database failed: {0}")]
    Tls(String),
}

/// Where the data lives, as the configuration names it.
#[derive(Debug, Clone)]
pub(crate) enum Database {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(PgSettings),
}

/// The backend of a store, chosen once when it opens.
#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::Db),
    Postgres(postgres::Pg),
}

/// The store handle (cheap to clone; every clone uses the same database).
#[derive(Clone)]
pub(crate) struct Store {
    backend: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("database", &self.describe())
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database and migrates it. A SQLite file is created
    /// with mode 0600 on Unix: it holds the server keys (sealed). Blocks (start-up).
    pub(crate) fn open(database: &Database) -> Result<Self, StoreError> {
        Ok(Self {
            backend: match database {
                Database::Sqlite(path) => Backend::Sqlite(sqlite::Db::open(path)?),
                Database::Postgres(settings) => Backend::Postgres(postgres::Pg::open(settings)?),
            },
        })
    }

    /// Where the data lives (a file path, or the PostgreSQL URL without its password).
    pub(crate) fn describe(&self) -> String {
        match &self.backend {
            Backend::Sqlite(db) => db.path().display().to_string(),
            Backend::Postgres(pg) => pg.describe(),
        }
    }

    /// The connections' figures now.
    fn figures(&self) -> DbFigures {
        match &self.backend {
            Backend::Sqlite(db) => db.figures(),
            Backend::Postgres(pg) => pg.figures(),
        }
    }

    /// Runs one write transaction on `d`: `lite` on SQLite, `pg` on PostgreSQL.
    async fn write<D, T>(
        &self,
        d: D,
        lite: impl FnOnce(&sqlite::Tx<'_>, &D) -> Result<T, StoreError> + Send + 'static,
        pg: postgres::Job<D, T>,
    ) -> Result<T, StoreError>
    where
        D: Send + Sync + 'static,
        T: Send + 'static,
    {
        match &self.backend {
            Backend::Sqlite(db) => db.write(move |tx| lite(tx, &d)).await,
            Backend::Postgres(db) => db.write(&d, pg).await,
        }
    }

    /// Runs one read on `d`: `lite` on SQLite, `pg` on PostgreSQL.
    async fn read<D, T>(
        &self,
        d: D,
        lite: impl FnOnce(&sqlite::Conn, &D) -> Result<T, StoreError> + Send + 'static,
        pg: postgres::Job<D, T>,
    ) -> Result<T, StoreError>
    where
        D: Send + Sync + 'static,
        T: Send + 'static,
    {
        match &self.backend {
            Backend::Sqlite(db) => db.read(move |c| lite(c, &d)).await,
            Backend::Postgres(db) => db.read(&d, pg).await,
        }
    }

    /// [`Store::write`], blocking the calling thread (start-up and admin paths only).
    fn write_blocking<D, T>(
        &self,
        d: D,
        lite: impl FnOnce(&sqlite::Tx<'_>, &D) -> Result<T, StoreError> + Send + 'static,
        pg: postgres::Job<D, T>,
    ) -> Result<T, StoreError>
    where
        D: Send + Sync + 'static,
        T: Send + 'static,
    {
        match &self.backend {
            Backend::Sqlite(db) => db.write_blocking(move |tx| lite(tx, &d)),
            Backend::Postgres(db) => db.write_blocking(&d, pg),
        }
    }

    /// [`Store::read`], blocking the calling thread (start-up and admin paths only).
    fn read_blocking<D: Sync, T: Send>(
        &self,
        d: D,
        lite: impl FnOnce(&sqlite::Conn, &D) -> Result<T, StoreError>,
        pg: postgres::Job<D, T>,
    ) -> Result<T, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.read_blocking(|c| lite(c, &d)),
            Backend::Postgres(db) => db.read_blocking(&d, pg),
        }
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
