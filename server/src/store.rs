// SPDX-License-Identifier: Apache-2.0
//! SQLite persistence: one database file, schema migrations at start, WAL journal.
//!
//! Guarantees:
//! - Everything a flow needs (accounts, devices, codes, nonces, CIBA requests, challenges,
//!   the server key) is in the file, so a restart mid-flow loses nothing.
//! - One writer thread owns the writer connection and commits queued writes in batches
//!   (group commit, a savepoint per write so one failed write does not undo the others); a
//!   result is delivered only after its batch committed. A small pool of reader connections
//!   serves reads concurrently (WAL lets readers run beside the writer).
//! - `synchronous = NORMAL` in WAL mode: a power loss may lose the last transactions but
//!   never corrupts the file; `busy_timeout` covers other processes (the admin CLI).
//! - Statements are prepared once per connection and cached.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused an operation (I/O, corruption, constraint, busy beyond the timeout).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database directory could not be created or its permissions set.
    #[error("database file: {0}")]
    Io(#[from] std::io::Error),
    /// The task or writer thread running the query panicked or is gone.
    #[error("database task failed")]
    Task,
    /// The batch transaction holding this write failed to commit (SQLite's reason).
    #[error("database commit failed: {0}")]
    Commit(String),
    /// A stored value does not have the expected shape (hand-edited or corrupt database).
    #[error("database holds an unexpected value: {0}")]
    Corrupt(&'static str),
    /// The database was written by a newer server version.
    #[error("database schema version {0} is newer than this server knows")]
    TooNew(i64),
}

/// Schema migrations; entry `i` moves `user_version` from `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;
CREATE TABLE clients (
    client_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    mode        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE TABLE accounts (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    subject_name_id  TEXT NOT NULL UNIQUE,
    given_name       TEXT NOT NULL,
    family_name      TEXT NOT NULL,
    profession       TEXT,
    wrong_codes      INTEGER NOT NULL DEFAULT 0,
    fraud_reports    INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL
) STRICT;
CREATE TABLE activation_codes (
    lookup      TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    secret_hash BLOB NOT NULL,
    expires_at  INTEGER NOT NULL,
    tries_left  INTEGER NOT NULL,
    used_at     INTEGER,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    name            TEXT NOT NULL,
    public_key      BLOB NOT NULL,
    attestation     TEXT,
    poll_token_hash BLOB NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
) STRICT;
CREATE INDEX devices_account ON devices(account_id);
CREATE TABLE enrol_nonces (
    nonce      TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE TABLE auth_requests (
    id                TEXT PRIMARY KEY,
    client_id         TEXT NOT NULL,
    account_id        TEXT NOT NULL,
    code              TEXT NOT NULL,
    scope             TEXT NOT NULL,
    acr_values        TEXT,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    interval_secs     INTEGER NOT NULL,
    status            TEXT NOT NULL,
    reason            TEXT,
    auth_time         INTEGER,
    answered_by       TEXT,
    last_poll      INTEGER,
    access_token_hash BLOB
) STRICT;
CREATE INDEX auth_requests_account ON auth_requests(account_id, status, expires_at);
CREATE TABLE challenges (
    id          TEXT PRIMARY KEY,
    auth_req_id TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    jws         TEXT NOT NULL,
    exp         INTEGER NOT NULL,
    status      TEXT NOT NULL,
    answered_at INTEGER
) STRICT;
CREATE INDEX challenges_device ON challenges(device_id, status, exp);
CREATE INDEX challenges_request ON challenges(auth_req_id);
CREATE TABLE fraud_reports (
    id          INTEGER PRIMARY KEY,
    account_id  TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    auth_req_id TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    reported_at INTEGER NOT NULL
) STRICT;
"#,
    r#"
CREATE TABLE credentials (
    id          BLOB PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    device_id   TEXT NOT NULL REFERENCES devices(id),
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE TABLE redemptions (
    nonce         BLOB PRIMARY KEY,
    credential_id BLOB NOT NULL,
    client_id     TEXT NOT NULL,
    redeemed_at   INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX redemptions_expiry ON redemptions(expires_at);
"#,
    // 3: the QR audience a client redeems for; login holds after "not me" and wrong picks.
    r#"
ALTER TABLE clients ADD COLUMN audience TEXT;
ALTER TABLE accounts ADD COLUMN not_me_until INTEGER;
ALTER TABLE accounts ADD COLUMN wrong_streak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN wrong_pick_until INTEGER;
"#,
];

/// Number of reader connections.
const READERS: usize = 4;
/// Most write jobs committed in one transaction.
const MAX_BATCH: usize = 128;

/// What a write job hands back after running: whether it succeeded (else its changes are
/// rolled back to its savepoint), and how to deliver its result once the batch commits.
type Delivery = Box<dyn FnOnce(Option<StoreError>) + Send>;
/// A write job run by the writer thread inside a batch transaction.
type Job = Box<dyn FnOnce(&rusqlite::Transaction<'_>) -> (bool, Delivery) + Send>;

/// The database: one writer thread, several reader connections.
#[derive(Clone)]
pub(crate) struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: mpsc::Sender<Job>,
    readers: Vec<Mutex<Connection>>,
    next: AtomicUsize,
    path: PathBuf,
}

impl Db {
    /// Opens (creating if needed) the database at `path`, applies migrations, starts the
    /// writer thread and opens the reader pool. The file is created with mode 0600 on Unix:
    /// it holds the server key.
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        create_private_file(path)?;
        let mut writer = connect(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| connect(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("vistalid-db-writer".into())
            .spawn(move || writer_loop(writer, rx))?;
        Ok(Self {
            inner: Arc::new(Inner {
                jobs,
                readers,
                next: AtomicUsize::new(0),
                path: path.to_owned(),
            }),
        })
    }

    /// The database file path.
    pub(crate) fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` in a write transaction on the writer thread and returns its result once
    /// committed. Concurrent writes are grouped into one transaction (group commit), each
    /// under its own savepoint: a job that returns `Err` has its changes rolled back and does
    /// not affect the others.
    pub(crate) async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E> + Send + 'static,
    {
        let (reply, rx) = tokio::sync::oneshot::channel::<Result<T, E>>();
        self.submit(f, move |r| {
            let _ = reply.send(r);
        })?;
        rx.await.map_err(|_| E::from(StoreError::Task))?
    }

    /// Like [`Db::write`], blocking the calling thread (start-up and admin paths only; never
    /// call it on an async worker).
    pub(crate) fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E> + Send + 'static,
    {
        let (reply, rx) = mpsc::sync_channel::<Result<T, E>>(1);
        self.submit(f, move |r| {
            let _ = reply.send(r);
        })?;
        rx.recv().map_err(|_| E::from(StoreError::Task))?
    }

    fn submit<T, E, F, D>(&self, f: F, deliver: D) -> Result<(), E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E> + Send + 'static,
        D: FnOnce(Result<T, E>) + Send + 'static,
    {
        let job: Job = Box::new(move |tx| {
            let result = f(tx);
            let ok = result.is_ok();
            let delivery: Delivery = Box::new(move |commit_error| {
                deliver(match commit_error {
                    Some(e) if ok => Err(E::from(e)),
                    _ => result,
                });
            });
            (ok, delivery)
        });
        self.inner
            .jobs
            .send(job)
            .map_err(|_| E::from(StoreError::Task))
    }

    /// Runs `f` on a reader connection, blocking the calling thread if all are busy (admin
    /// paths only).
    pub(crate) fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E>,
    {
        let n = self.inner.readers.len();
        let start = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let conn = self.inner.readers[start % n]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    /// Runs `f` on a reader connection. Reads are short indexed lookups, so a free
    /// connection is used in place (no thread hand-off); when all are busy the read moves to
    /// the blocking pool.
    pub(crate) async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let n = self.inner.readers.len();
        let start = self.inner.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            if let Ok(conn) = self.inner.readers[(start + i) % n].try_lock() {
                return f(&conn);
            }
        }
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let conn = inner.readers[start % n]
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            f(&conn)
        })
        .await
        .map_err(|_| E::from(StoreError::Task))?
    }
}

/// The writer thread: takes every queued job (up to [`MAX_BATCH`]), runs them in one
/// IMMEDIATE transaction with a savepoint each, commits, then delivers the results. Ends
/// when every [`Db`] handle is gone.
fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) => {
                tracing::error!(error = %e, "cannot begin a write transaction");
                drop(batch);
                continue;
            }
        };
        let mut deliveries = Vec::with_capacity(batch.len());
        for job in batch {
            if let Err(e) = tx.execute_batch("SAVEPOINT job") {
                tracing::error!(error = %e, "cannot open a savepoint");
                continue;
            }
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&tx)));
            let ok = matches!(ran, Ok((true, _)));
            let end = if ok {
                "RELEASE job"
            } else {
                "ROLLBACK TO job; RELEASE job"
            };
            if let Err(e) = tx.execute_batch(end) {
                tracing::error!(error = %e, "cannot close a savepoint");
            }
            if let Ok((_, delivery)) = ran {
                deliveries.push(delivery);
            }
        }
        let committed = tx.commit();
        for delivery in deliveries {
            delivery(
                committed
                    .as_ref()
                    .err()
                    .map(|e| StoreError::Commit(e.to_string())),
            );
        }
    }
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = i64::try_from(MIGRATIONS.len()).expect("few migrations");
    if version > known {
        return Err(StoreError::TooNew(version));
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "database migrated");
    }
    Ok(())
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(unix))]
fn create_private_file(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

/// Reads a `meta` value.
pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    use rusqlite::OptionalExtension as _;
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Writes a `meta` value if absent; returns the stored value (the existing one if any).
pub(crate) fn meta_get_or_insert(
    conn: &Connection,
    key: &str,
    value: &[u8],
) -> Result<Vec<u8>, StoreError> {
    conn.prepare_cached("INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)")?
        .execute(rusqlite::params![key, value])?;
    meta_get(conn, key)?.ok_or(StoreError::Corrupt("meta value vanished"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/db.sqlite");
        let db = Db::open(&path).expect("open");
        db.write_blocking(|tx| meta_get_or_insert(tx, "k", b"v1"))
            .expect("insert");
        drop(db);
        let db = Db::open(&path).expect("reopen");
        let v = db
            .write_blocking(|tx| meta_get_or_insert(tx, "k", b"v2"))
            .expect("get");
        assert_eq!(v, b"v1");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
