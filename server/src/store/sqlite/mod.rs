// SPDX-License-Identifier: Apache-2.0
//! The SQLite backend of the store: one database file, schema migrations at start, WAL
//! journal, and the SQL of every repository (one submodule per table group). This folder is
//! the only place that names rusqlite.
//!
//! Guarantees:
//! - Everything a flow needs (accounts, devices, codes, nonces, login requests, challenges,
//!   the server keys) is in the file, so a restart mid-flow loses nothing.
//! - One writer thread owns the writer connection and commits queued writes in batches
//!   (group commit; when a batch holds several writes, a savepoint each, so one failed write
//!   does not undo the others; a write alone is rolled back with its transaction); a
//!   result is delivered only after its batch committed. A small pool of reader connections
//!   serves reads concurrently (WAL lets readers run beside the writer).
//! - `synchronous = NORMAL` in WAL mode: a power loss may lose the last transactions but
//!   never corrupts the file; `busy_timeout` covers other processes (the admin CLI).
//! - Statements are prepared once per connection and cached.
//! - Typed states are written and read through their one [`Stored`] table; a stored text
//!   that no variant has becomes [`StoreError::Corrupt`] naming the column.

pub(super) mod accounts;
pub(super) mod attempts;
pub(super) mod clients;
pub(super) mod codes;
pub(super) mod credentials;
pub(super) mod hardware;
pub(super) mod meta;
pub(super) mod offline;
pub(super) mod pin_guards;
pub(super) mod push_tokens;
pub(super) mod requests;
pub(super) mod scan;
mod schema;
pub(super) mod sessions;
// The server's signing keys (issue 19, branch keys19).
pub(super) mod signing_keys;
// Used by the token endpoint, userinfo and logout (issue 15, branch tokens15).
#[allow(dead_code)]
pub(super) mod tokens;
pub(super) mod upkeep;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::types::Type;
use rusqlite::{Connection, OpenFlags, Row};

use super::StoreError;
use crate::domain::Stored;
use schema::MIGRATIONS;

/// A write transaction of the backend, as the repositories' SQL receives it: the writer
/// connection inside the batch's IMMEDIATE transaction, which the writer thread begins and
/// ends (with cached statements: `BEGIN`/`COMMIT` are not parsed again for every batch).
pub(super) struct Tx<'a>(&'a Connection);

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.0
    }
}

/// A read connection of the backend, as the repositories' SQL receives it.
pub(super) type Conn = rusqlite::Connection;

/// A stored state text that no variant has (carried inside rusqlite's conversion error, then
/// turned into [`StoreError::Corrupt`]).
#[derive(Debug)]
struct UnknownState(&'static str);

impl std::fmt::Display for UnknownState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown value in {}", self.0)
    }
}

impl std::error::Error for UnknownState {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::FromSqlConversionFailure(_, _, inner) = &e {
            if let Some(UnknownState(column)) = inner.downcast_ref::<UnknownState>() {
                return Self::Corrupt(column);
            }
        }
        Self::Database(Box::new(e))
    }
}

/// Reads the typed state in column `idx` of `row`.
pub(super) fn state<T: Stored>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let text = row.get_ref(idx)?.as_str()?;
    T::from_stored(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            Type::Text,
            Box::new(UnknownState(T::COLUMN)),
        )
    })
}

/// The conversion error for a stored value of `column` (at `idx`) that does not have the
/// expected shape; the store reports it as [`StoreError::Corrupt`].
pub(super) fn corrupt(idx: usize, column: &'static str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Blob, Box::new(UnknownState(column)))
}

/// Reads the optional typed state in column `idx` of `row`.
pub(super) fn opt_state<T: Stored>(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<T>> {
    match row.get_ref(idx)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => state(row, idx).map(Some),
    }
}

/// Number of reader connections.
const READERS: usize = 4;
/// Most write jobs committed in one transaction.
const MAX_BATCH: usize = 128;
/// WAL size (pages) that triggers a checkpoint (SQLite's default is 1000).
const WAL_CHECKPOINT_PAGES: i64 = 8192;
/// Size (bytes) the WAL file is truncated to after a checkpoint.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;
/// Prepared statements kept per connection (the store has about a hundred).
const STATEMENT_CACHE: usize = 128;

/// What a write job hands back after running: whether it succeeded (else its changes are
/// rolled back to its savepoint), and how to deliver its result once the batch commits.
type Delivery = Box<dyn FnOnce(Option<StoreError>) + Send>;
/// A write job run by the writer thread inside a batch transaction.
type Job = Box<dyn FnOnce(&Tx<'_>) -> (bool, Delivery) + Send>;

/// The database: one writer thread, several reader connections.
#[derive(Clone)]
pub(super) struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: mpsc::Sender<Job>,
    readers: Vec<Mutex<Connection>>,
    next: AtomicUsize,
    path: PathBuf,
    counters: Arc<Counters>,
}

/// Figures of the connections, kept with relaxed atomics (read by the metrics).
#[derive(Default)]
struct Counters {
    reader_waits: AtomicU64,
    queued: AtomicU64,
    batches: AtomicU64,
    jobs: AtomicU64,
    busy_micros: AtomicU64,
}

impl Db {
    /// Opens (creating if needed) the database at `path`, applies migrations, starts the
    /// writer thread and opens the reader pool. The file is created with mode 0600 on Unix:
    /// it holds the server key.
    pub(super) fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        create_private_file(path)?;
        let mut writer = connect(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        // Checkpoints every WAL_CHECKPOINT_PAGES pages instead of SQLite's 1000: the hot pages
        // (the indexes of attempts, requests, codes and tokens) are written to the database
        // file once per checkpoint, whatever the number of commits that changed them, so
        // fewer checkpoints copy and fsync less per login. Durability is the same (WAL with
        // synchronous = NORMAL); the WAL file is truncated back to WAL_SIZE_LIMIT after each.
        writer.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
        writer.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| connect(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        let (jobs, rx) = mpsc::channel::<Job>();
        let counters = Arc::new(Counters::default());
        let writer_counters = Arc::clone(&counters);
        std::thread::Builder::new()
            .name("vistalid-db-writer".into())
            .spawn(move || writer_loop(writer, rx, &writer_counters))?;
        Ok(Self {
            inner: Arc::new(Inner {
                jobs,
                readers,
                next: AtomicUsize::new(0),
                path: path.to_owned(),
                counters,
            }),
        })
    }

    /// The database file path.
    pub(super) fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The connections' figures now.
    pub(super) fn figures(&self) -> super::DbFigures {
        let c = &self.inner.counters;
        super::DbFigures {
            readers: u64::try_from(self.inner.readers.len()).unwrap_or(u64::MAX),
            reader_waits: c.reader_waits.load(Ordering::Relaxed),
            writer_queue: c.queued.load(Ordering::Relaxed),
            write_batches: c.batches.load(Ordering::Relaxed),
            write_jobs: c.jobs.load(Ordering::Relaxed),
            write_busy_micros: c.busy_micros.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` in a write transaction on the writer thread and returns its result once
    /// committed. Concurrent writes are grouped into one transaction (group commit), each
    /// under its own savepoint: a job that returns `Err` has its changes rolled back and does
    /// not affect the others. A job whose wrong try must be remembered returns `Ok` with an
    /// outcome that says so.
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, rx) = tokio::sync::oneshot::channel::<Result<T, StoreError>>();
        self.submit(f, move |r| {
            let _ = reply.send(r);
        })?;
        rx.await.map_err(|_| StoreError::Task)?
    }

    /// Like [`Db::write`], blocking the calling thread (start-up and admin paths only; never
    /// call it on an async worker).
    pub(super) fn write_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, rx) = mpsc::sync_channel::<Result<T, StoreError>>(1);
        self.submit(f, move |r| {
            let _ = reply.send(r);
        })?;
        rx.recv().map_err(|_| StoreError::Task)?
    }

    fn submit<T, F, D>(&self, f: F, deliver: D) -> Result<(), StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, StoreError> + Send + 'static,
        D: FnOnce(Result<T, StoreError>) + Send + 'static,
    {
        let job: Job = Box::new(move |tx| {
            let result = f(tx);
            let ok = result.is_ok();
            let delivery: Delivery = Box::new(move |commit_error| {
                deliver(match commit_error {
                    Some(e) if ok => Err(e),
                    _ => result,
                });
            });
            (ok, delivery)
        });
        self.inner.counters.queued.fetch_add(1, Ordering::Relaxed);
        self.inner.jobs.send(job).map_err(|_| {
            self.inner.counters.queued.fetch_sub(1, Ordering::Relaxed);
            StoreError::Task
        })
    }

    /// Runs `f` on a reader connection, blocking the calling thread if all are busy (admin
    /// paths only).
    pub(super) fn read_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError>,
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
    pub(super) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let n = self.inner.readers.len();
        let start = self.inner.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            if let Ok(conn) = self.inner.readers[(start + i) % n].try_lock() {
                return f(&conn);
            }
        }
        self.inner
            .counters
            .reader_waits
            .fetch_add(1, Ordering::Relaxed);
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let conn = inner.readers[start % n]
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            f(&conn)
        })
        .await
        .map_err(|_| StoreError::Task)?
    }
}

/// The writer thread: takes every queued job (up to [`MAX_BATCH`]), runs them in one
/// IMMEDIATE transaction with a savepoint each, commits, then delivers the results. Ends
/// when every [`Db`] handle is gone.
fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>, counters: &Counters) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let taken = u64::try_from(batch.len()).unwrap_or(u64::MAX);
        counters.queued.fetch_sub(taken, Ordering::Relaxed);
        counters.jobs.fetch_add(taken, Ordering::Relaxed);
        if let Err(e) = run_cached(&conn, "BEGIN IMMEDIATE") {
            tracing::error!(error = %e, "cannot begin a write transaction");
            drop(batch);
            continue;
        }
        let tx = Tx(&conn);
        let mut deliveries = Vec::with_capacity(batch.len());
        // A job alone needs no savepoint: when it fails, the transaction is rolled back.
        let alone = batch.len() == 1;
        let mut failed_alone = false;
        for job in batch {
            if !alone {
                if let Err(e) = run_cached(&tx, "SAVEPOINT job") {
                    tracing::error!(error = %e, "cannot open a savepoint");
                    continue;
                }
            }
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&tx)));
            let ok = matches!(ran, Ok((true, _)));
            if alone {
                failed_alone = !ok;
            } else {
                let end = if ok {
                    run_cached(&tx, "RELEASE job")
                } else {
                    run_cached(&tx, "ROLLBACK TO job").and_then(|()| run_cached(&tx, "RELEASE job"))
                };
                if let Err(e) = end {
                    tracing::error!(error = %e, "cannot close a savepoint");
                }
            }
            if let Ok((_, delivery)) = ran {
                deliveries.push(delivery);
            }
        }
        // A lone failed job's changes are undone with the transaction; its delivery carries
        // its own error (a rollback is not a commit failure).
        let committed = if failed_alone {
            rollback(&conn);
            Ok(())
        } else {
            run_cached(&conn, "COMMIT").inspect_err(|_| {
                // A failed COMMIT (say SQLITE_BUSY) leaves the transaction open: undo it, so
                // the next batch begins on a clean connection.
                if !conn.is_autocommit() {
                    rollback(&conn);
                }
            })
        };
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters.busy_micros.fetch_add(
            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
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

/// Runs a statement without parameters or rows through the connection's statement cache
/// (the writer's transactions and savepoints: parsed once, not on every batch or job).
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Rolls the writer's open transaction back (logged when even that fails).
fn rollback(conn: &Connection) {
    if let Err(e) = run_cached(conn, "ROLLBACK") {
        tracing::error!(error = %e, "cannot roll back a write transaction");
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
    // The query planner stability guarantee: a statement's plan never depends on the values
    // bound to it, so a cached statement is not prepared again when they change. Without it,
    // a bound `status = ?N` on a table with a partial index (`WHERE status = 'pending'`)
    // makes SQLite re-prepare the statement at every execution, to see whether the index
    // applies to the new value. The partial indexes serve the metrics' counts, which name
    // the state as a literal.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/db.sqlite");
        let db = Db::open(&path).expect("open");
        db.write_blocking(|tx| {
            tx.execute("INSERT INTO meta (key, value) VALUES ('k', x'7631')", [])?;
            Ok(())
        })
        .expect("insert");
        drop(db);
        let db = Db::open(&path).expect("reopen");
        let v = db.read_blocking(|c| meta::get(c, "k")).expect("get");
        assert_eq!(v.as_deref(), Some(&b"v1"[..]));
        let too_new = Connection::open(&path).expect("raw open");
        too_new
            .pragma_update(None, "user_version", 99)
            .expect("version");
        drop(too_new);
        drop(db);
        assert!(matches!(Db::open(&path), Err(StoreError::TooNew(99))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    /// The value under `key`, after storing `value` there if the key had none.
    fn get_or_insert(tx: &Tx<'_>, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        tx.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
            rusqlite::params![key, value],
        )?;
        Ok(meta::get(tx, key)?.expect("just written"))
    }

    #[test]
    fn a_failed_write_leaves_nothing_alone_or_in_a_batch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("db.sqlite")).expect("open");
        let failing = |key: &'static str| {
            move |tx: &Tx<'_>| -> Result<(), StoreError> {
                get_or_insert(tx, key, b"x")?;
                Err(StoreError::Corrupt("test"))
            }
        };
        // Alone: rolled back with its transaction.
        assert!(db.write_blocking(failing("alone")).is_err());
        // In a batch (queued together with writes that succeed): only its savepoint undone.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let ok = db.write(|tx| get_or_insert(tx, "kept", b"v"));
            let bad = db.write(failing("batched"));
            let ok2 = db.write(|tx| get_or_insert(tx, "kept2", b"v"));
            let (a, b, c) = tokio::join!(ok, bad, ok2);
            assert!(a.is_ok() && b.is_err() && c.is_ok());
        });
        let expected: [(&str, &[u8]); 4] = [
            ("alone", b"new"),
            ("batched", b"new"),
            ("kept", b"v"),
            ("kept2", b"v"),
        ];
        for (key, want) in expected {
            let v = db
                .write_blocking(move |tx| get_or_insert(tx, key, b"new"))
                .expect("read back");
            assert_eq!(v, want, "{key}");
        }
    }

    #[test]
    fn cached_statements_are_not_prepared_again_for_new_values() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite");
        let db = Db::open(&path).expect("open");
        // A bound state on a table with a partial index on that state (challenges_pending).
        let sql =
            "SELECT count(*) FROM challenges WHERE device_id = ?1 AND status = ?2 AND exp > ?3";
        let reprepared = |c: &Connection| -> Result<i32, StoreError> {
            for (i, status) in ["pending", "answered", "pending"].into_iter().enumerate() {
                let n: i64 = c
                    .prepare_cached(sql)?
                    .query_row(rusqlite::params![format!("d{i}"), status, i], |r| r.get(0))?;
                assert_eq!(n, 0);
            }
            let stmt = c.prepare_cached(sql)?;
            Ok(stmt.get_status(rusqlite::StatementStatus::RePrepare))
        };
        assert_eq!(db.read_blocking(reprepared).expect("reader"), 0);
        assert_eq!(
            db.write_blocking(move |tx| reprepared(tx)).expect("writer"),
            0
        );
        // What the setting prevents: the same statement on a connection without it.
        let plain = Connection::open(&path).expect("plain");
        assert!(reprepared(&plain).expect("plain") > 0);
    }

    #[test]
    fn an_unknown_state_text_is_corrupt_and_names_its_column() {
        let conn = Connection::open_in_memory().expect("open");
        let read = |text: &str| -> Result<crate::domain::RequestStatus, StoreError> {
            Ok(conn.query_row("SELECT ?1", [text], |r| state(r, 0))?)
        };
        assert_eq!(
            read("issued").ok(),
            Some(crate::domain::RequestStatus::Issued)
        );
        assert!(matches!(
            read("half-approved"),
            Err(StoreError::Corrupt("auth_requests.status"))
        ));
        let none: Option<crate::domain::DenialReason> = conn
            .query_row("SELECT NULL", [], |r| opt_state(r, 0))
            .expect("null");
        assert_eq!(none, None);
    }
}
