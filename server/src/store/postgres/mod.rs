// SPDX-License-Identifier: Apache-2.0
//! The PostgreSQL backend of the store (issue 19): a pool of connections shared by every
//! instance of a cluster, schema migrations at start, and the SQL of every repository (one
//! submodule per table group, mirroring `sqlite/`). This folder is the only place that names
//! tokio-postgres or deadpool-postgres.
//!
//! Why tokio-postgres with deadpool-postgres (docs/adr/0003-postgresql-client.md): they are
//! async-native on the server's Tokio runtime (no thread per query), need no database at
//! compile time (sqlx's checked macros do, or a committed query cache), and bring a small
//! dependency tree that `cargo deny` accepts.
//!
//! Guarantees:
//! - Each write is one `SERIALIZABLE` transaction: concurrent writes on any number of
//!   instances behave as if run one after the other, as SQLite's single writer does, so the
//!   repositories' read-then-write steps keep single use (activation codes, answers,
//!   authorization codes, refresh tokens, QR redemptions). A transaction that PostgreSQL
//!   aborts as a serialization failure or a deadlock is run again from the start, up to
//!   [`MAX_TRIES`] times, then reported as [`StoreError::Conflict`]; nothing of an aborted
//!   try stays written. `BEGIN` is sent without waiting for its reply, ahead of the job's
//!   first statement (one round trip fewer); the pool's sessions are read-only by default,
//!   so should `BEGIN` fail, the statements that ran outside the block wrote nothing, and
//!   the write fails with `BEGIN`'s error. A write's last statements (those after its
//!   last read) go out together with its `COMMIT` (`last`): after its reads, a write costs
//!   one round trip more, whatever the number of rows it writes.
//! - A read runs without a transaction block: each of its statements is one implicit
//!   `READ COMMITTED`, read-only transaction (the session's defaults are set so, whatever
//!   the role's) and sees what was committed when it started, as each statement on a SQLite
//!   reader connection does. No `BEGIN`/`COMMIT` round trips: most reads are one statement.
//!   A read of several statements (an account, then its devices) may see a write commit
//!   between them, on both backends; a decision that needs one state is taken inside a
//!   write transaction, which re-reads what it relies on.
//! - Nothing hangs on a slow or gone database: waiting for a pooled connection is bounded
//!   (`database_wait_timeout_ms`, then [`StoreError::Timeout`]), so is every statement
//!   (`statement_timeout` and `lock_timeout` of the session, then [`StoreError::Timeout`]);
//!   a connection that cannot be made is [`StoreError::Unavailable`]. Broken connections are
//!   dropped from the pool and new ones made on demand (a PostgreSQL restart heals itself).
//! - Statements are prepared once per connection and cached. No statement is JIT-compiled
//!   (the sessions run with `jit = off`).
//! - A stored state text that no variant has is [`StoreError::Corrupt`] naming the column.
//! - A write that queues a challenge or answers a request announces it to every instance
//!   in its own transaction (`NOTIFY`, delivered on commit), heard by each instance's
//!   listener on a connection of its own (`notify`).
//! - Migrations are applied under an advisory lock, so instances starting together migrate
//!   once; a schema newer than this server is refused ([`StoreError::TooNew`]).
//! - Every connection (the pool's, the start-up's, and any other this folder opens) is made
//!   by [`connection`]: the URL's `sslmode` and `sslrootcert` hold for all (`tls`). The
//!   start-up logs whether the connection is encrypted, as PostgreSQL reports it
//!   (`pg_stat_ssl`), and warns of plaintext or unauthenticated connections off loopback.
//! - The password of the URL (user information or `password=`) is shown in no log, no
//!   `Debug` and no error ([`redacted`]).

pub(super) mod accounts;
pub(super) mod attempts;
pub(super) mod clients;
pub(super) mod codes;
pub(super) mod credentials;
pub(super) mod hardware;
pub(super) mod last;
pub(super) mod meta;
pub(crate) mod notify;
pub(super) mod offline;
pub(super) mod pin_guards;
pub(super) mod push_tokens;
pub(super) mod requests;
mod run;
pub(super) mod scan;
mod schema;
pub(super) mod sessions;
pub(super) mod signing_keys;
#[cfg(test)]
mod testing;
pub(crate) mod tls;
#[allow(dead_code)]
pub(super) mod tokens;
pub(super) mod upkeep;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::DatabaseUrl;
use super::StoreError;
use crate::domain::Stored;
use run::{run, Mode};
pub(crate) use tls::PgConnector;

/// What the repositories' SQL runs on: a pooled connection, inside the `SERIALIZABLE`
/// transaction block of a write, or on its own for a read (see the module guarantees).
/// Only [`run`] makes one.
pub(super) struct Tx<'a> {
    client: &'a deadpool_postgres::Client,
    /// Whether this runs inside a write's transaction block.
    write: bool,
    /// Whether [`last::end_with`] sent the block's `COMMIT` behind the job's last statements.
    commit_sent: std::sync::atomic::AtomicBool,
}

/// The future a repository's SQL returns.
pub(super) type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The SQL of one repository method: its transaction and its input, borrowed.
pub(super) type Job<D, T> = for<'a> fn(&'a Tx<'a>, &'a D) -> Fut<'a, T>;

/// Tries of a write transaction that PostgreSQL aborts as a serialization failure.
pub(super) const MAX_TRIES: u32 = 12;

/// The PostgreSQL settings of the configuration.
#[derive(Debug, Clone)]
pub(crate) struct PgSettings {
    /// `postgres://…` (user, password, host, port, database, options, `sslmode`,
    /// `sslrootcert`); its `Debug` hides the password.
    pub(crate) url: DatabaseUrl,
    /// Connections in the pool.
    pub(crate) pool_size: usize,
    /// Longest wait for a pooled connection (and to make one).
    pub(crate) wait_timeout: Duration,
    /// Longest run of one statement, and longest wait for a row lock.
    pub(crate) statement_timeout: Duration,
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        if let Some(reason) = tls::failure(&e) {
            return Self::Tls(reason);
        }
        match e.code() {
            Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE => Self::Conflict,
            Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED => Self::Conflict,
            Some(c) if *c == SqlState::QUERY_CANCELED => Self::Timeout("statement"),
            Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => Self::Timeout("row lock"),
            Some(c) if c.code().starts_with("08") || c.code().starts_with("57P") => {
                Self::Unavailable(e.to_string())
            }
            Some(_) => Self::Database(Box::new(e)),
            None if e.is_closed() => Self::Unavailable(e.to_string()),
            None => Self::Database(Box::new(e)),
        }
    }
}

impl From<PoolError> for StoreError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Timeout(_) => Self::Timeout("database connection pool"),
            PoolError::Backend(e) => e.into(),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// Reads the typed state in column `idx` of `row`.
pub(super) fn state<T: Stored>(row: &Row, idx: usize) -> Result<T, StoreError> {
    let text: &str = row.try_get(idx)?;
    T::from_stored(text).ok_or(StoreError::Corrupt(T::COLUMN))
}

/// Reads the optional typed state in column `idx` of `row`.
pub(super) fn opt_state<T: Stored>(row: &Row, idx: usize) -> Result<Option<T>, StoreError> {
    let text: Option<&str> = row.try_get(idx)?;
    text.map(|t| T::from_stored(t).ok_or(StoreError::Corrupt(T::COLUMN)))
        .transpose()
}

/// Column `idx` of `row`.
pub(super) fn get<'r, T: tokio_postgres::types::FromSql<'r>>(
    row: &'r Row,
    idx: usize,
) -> Result<T, StoreError> {
    Ok(row.try_get(idx)?)
}

/// A count or limit as the `BIGINT` columns keep it.
pub(super) fn big(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// Runs `sql` (prepared once per connection) and returns the rows it changed.
pub(super) async fn exec(
    tx: &Tx<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let st = tx.client.prepare_cached(sql).await?;
    Ok(tx.client.execute(&st, params).await?)
}

/// Runs `sql` and returns its one row, if any (more than one is an error of the SQL).
pub(super) async fn opt(
    tx: &Tx<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    let st = tx.client.prepare_cached(sql).await?;
    Ok(tx.client.query_opt(&st, params).await?)
}

/// Runs `sql` and returns its one row.
pub(super) async fn one(
    tx: &Tx<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Row, StoreError> {
    let st = tx.client.prepare_cached(sql).await?;
    Ok(tx.client.query_one(&st, params).await?)
}

/// Runs `sql` and returns every row.
pub(super) async fn all(
    tx: &Tx<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let st = tx.client.prepare_cached(sql).await?;
    Ok(tx.client.query(&st, params).await?)
}

/// The database: a pool of connections.
#[derive(Clone)]
pub(super) struct Pg {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    settings: PgSettings,
    config: tokio_postgres::Config,
    tls: PgConnector,
    counters: Counters,
}

/// Figures of the pool, kept with relaxed atomics (read by the metrics).
#[derive(Default)]
struct Counters {
    transactions: AtomicU64,
    retries: AtomicU64,
    busy_micros: AtomicU64,
}

/// Whether `text` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub(crate) fn is_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// The URL with its password hidden (for logs and `Debug`): the password of the user
/// information and the value of any `password=` parameter read `redacted`; the rest (user,
/// hosts, database, other parameters) is kept as written.
pub(crate) fn redacted(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let mut out = match head.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, hosts)) => {
                    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
                    let hidden = if userinfo.contains(':') {
                        ":redacted"
                    } else {
                        ""
                    };
                    format!("{scheme}://{user}{hidden}@{hosts}{path}")
                }
                None => head.to_owned(),
            }
        }
        None => head.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<&str> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => "password=redacted",
                _ => p,
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// The connection settings and the TLS connector of `settings`: the one way this server
/// connects to PostgreSQL (the pool, the start-up, the LISTEN connection), so the URL's
/// `sslmode` and `sslrootcert` hold for every connection. `config.connect(connector)` makes
/// one. Reads the CA file; refuses what `tls` refuses.
pub(crate) fn connection(
    settings: &PgSettings,
) -> Result<(tokio_postgres::Config, PgConnector, tls::TlsSettings), StoreError> {
    let (url, mode, root) = tls::split_url(settings.url.expose())?;
    let mut config = connection_config(&url, settings)?;
    let tls = tls::settle(&mut config, mode, root)?;
    Ok((config, PgConnector::new(&tls)?, tls))
}

fn connection_config(url: &str, s: &PgSettings) -> Result<tokio_postgres::Config, StoreError> {
    // tokio-postgres's parse errors name the option, never its value.
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| StoreError::Unavailable(e.to_string()))?;
    let ms = s.statement_timeout.as_millis();
    // The URL's own options (a schema's `search_path`) are kept, the timeouts added, and
    // sequential scans discouraged: every query of the store has an index to walk, but on a
    // small table (a new database) the planner prefers reading the whole table, and a
    // sequential scan inside a SERIALIZABLE transaction takes a predicate lock on the whole
    // relation, so every concurrent write to that table becomes a serialization conflict
    // (PostgreSQL's manual, "Serializable Isolation Level"; measured on the load bench: 136
    // sequential scans of auth_requests in 100 CIBA flows, 3 retries per flow and flows
    // failing, against 4 scans and no failure with them off). A query without a usable index
    // still scans.
    let mut options = config.get_options().unwrap_or_default().to_owned();
    options.push_str(&format!(
        " -c statement_timeout={ms} -c lock_timeout={ms} -c idle_in_transaction_session_timeout={} \
         -c enable_seqscan=off",
        ms.saturating_mul(4)
    ));
    config.options(options.trim());
    config.connect_timeout(s.wait_timeout);
    config.keepalives(true);
    config.application_name("vistalid-server");
    Ok(config)
}

fn pool(
    config: &tokio_postgres::Config,
    tls: &PgConnector,
    s: &PgSettings,
    size: usize,
) -> Result<Pool, StoreError> {
    // The pool's sessions run a statement outside a block as READ COMMITTED and read-only
    // (the reads), whatever the role's defaults: a statement runs read-write only inside a
    // write's `BEGIN … READ WRITE` block (and the migrations' own). No JIT: every statement
    // here touches a few rows by index, and a statement left without an index (a disabled
    // sequential scan, costed at 10^10, far above `jit_above_cost`) was compiled on every
    // call: pg_stat_statements showed the update killing an account's earlier activation
    // codes taking 55-115 ms of the backend's CPU each time, until migration 13 gave it one.
    let mut config = config.clone();
    let options = format!(
        "{} -c default_transaction_isolation=read\\ committed -c default_transaction_read_only=on \
         -c jit=off",
        config.get_options().unwrap_or_default()
    );
    config.options(options.trim());
    let manager = Manager::from_config(
        config,
        tls.clone(),
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size.max(1))
        .wait_timeout(Some(s.wait_timeout))
        .create_timeout(Some(s.wait_timeout))
        .recycle_timeout(Some(s.wait_timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

impl Pg {
    /// Connects to the database of `settings` and migrates it (blocks: start-up). The pool's
    /// connections are made on demand, on the runtime that uses them.
    pub(super) fn open(settings: &PgSettings) -> Result<Self, StoreError> {
        let (config, tls, tls_settings) = connection(settings)?;
        let database = redacted(settings.url.expose());
        if let Some(warning) = tls::warning(&tls_settings, &config) {
            tracing::warn!(%database, sslmode = tls_settings.mode.as_str(), "{warning}");
        }
        let pg = Self {
            inner: Arc::new(Inner {
                pool: pool(&config, &tls, settings, settings.pool_size)?,
                settings: settings.clone(),
                config,
                tls,
                counters: Counters::default(),
            }),
        };
        let (encrypted, version) = pg.on_own_runtime(|pool| async move {
            let mut client = pool.get().await?;
            schema::migrate(&mut client).await?;
            let row = client
                .query_one(
                    "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .await?;
            Ok((get::<bool>(&row, 0)?, get::<Option<String>>(&row, 1)?))
        })?;
        tracing::info!(
            %database,
            sslmode = tls_settings.mode.as_str(),
            database_tls = encrypted,
            tls_version = version.as_deref().unwrap_or("none"),
            "PostgreSQL store open"
        );
        Ok(pg)
    }

    /// The wake-up listener of this instance, on a connection of its own (see `notify`).
    pub(super) fn listener(&self) -> notify::Listener {
        notify::Listener::new(&self.inner.config, &self.inner.tls)
    }

    /// What the store is, for logs (no password).
    pub(super) fn describe(&self) -> String {
        redacted(self.inner.settings.url.expose())
    }

    /// The pool's figures now.
    pub(super) fn figures(&self) -> super::DbFigures {
        let status = self.inner.pool.status();
        let c = &self.inner.counters;
        super::DbFigures {
            readers: u64::try_from(status.max_size).unwrap_or(u64::MAX),
            reader_waits: u64::try_from(status.waiting).unwrap_or(u64::MAX),
            writer_queue: 0,
            write_batches: c.transactions.load(Ordering::Relaxed),
            write_jobs: c.retries.load(Ordering::Relaxed),
            write_busy_micros: c.busy_micros.load(Ordering::Relaxed),
        }
    }

    /// Runs `job` in a serializable write transaction and returns its result once committed;
    /// a serialization failure runs it again (see the module guarantees). An `Err` of the
    /// job rolls its transaction back.
    pub(super) async fn write<D: Sync, T>(&self, d: &D, job: Job<D, T>) -> Result<T, StoreError> {
        run(&self.inner.pool, &self.inner.counters, d, job, Mode::Write).await
    }

    /// Runs `job` in a read-only transaction (one snapshot).
    pub(super) async fn read<D: Sync, T>(&self, d: &D, job: Job<D, T>) -> Result<T, StoreError> {
        run(&self.inner.pool, &self.inner.counters, d, job, Mode::Read).await
    }

    /// Like [`Pg::write`], blocking the calling thread (start-up and admin paths only): runs
    /// on a thread of its own with its own connection, so it works inside or outside a
    /// runtime.
    pub(super) fn write_blocking<D: Sync, T: Send>(
        &self,
        d: &D,
        job: Job<D, T>,
    ) -> Result<T, StoreError> {
        let counters = &self.inner.counters;
        self.on_own_runtime(|pool| async move { run(&pool, counters, d, job, Mode::Write).await })
    }

    /// Like [`Pg::read`], blocking the calling thread (start-up and admin paths only).
    pub(super) fn read_blocking<D: Sync, T: Send>(
        &self,
        d: &D,
        job: Job<D, T>,
    ) -> Result<T, StoreError> {
        let counters = &self.inner.counters;
        self.on_own_runtime(|pool| async move { run(&pool, counters, d, job, Mode::Read).await })
    }

    /// Runs `f` with a one-connection pool on a new thread and runtime of its own (the main
    /// pool's connections belong to the server's runtime).
    fn on_own_runtime<T, F, Fu>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send,
        F: FnOnce(Pool) -> Fu + Send,
        Fu: Future<Output = Result<T, StoreError>>,
    {
        let pool = pool(&self.inner.config, &self.inner.tls, &self.inner.settings, 1)?;
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(f(pool))
                })
                .join()
                .map_err(|_| StoreError::Task)?
        })
    }
}

/// **Tests only**: the schema `name` (created if absent) on the PostgreSQL server of
/// `base_url`, returned as a URL whose `search_path` names it: each test gets its own
/// tables, so tests run in parallel on one server. Blocks.
pub(crate) fn test_schema_url(base_url: &str, name: &str) -> Result<String, StoreError> {
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(StoreError::Unavailable(format!("bad schema name {name}")));
    }
    let settings = PgSettings {
        url: base_url.into(),
        pool_size: 1,
        wait_timeout: Duration::from_secs(10),
        statement_timeout: Duration::from_secs(30),
    };
    let (config, tls, _) = connection(&settings)?;
    let pool = pool(&config, &tls, &settings, 1)?;
    let sql = format!("CREATE SCHEMA IF NOT EXISTS {name}");
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async {
                    let client = pool.get().await?;
                    client
                        .batch_execute(&format!("BEGIN READ WRITE; {sql}; COMMIT"))
                        .await?;
                    Ok::<_, StoreError>(())
                })
            })
            .join()
            .map_err(|_| StoreError::Task)?
    })?;
    // Percent-encoded by hand: tokio-postgres reads `+` as a plus, not a space.
    let options = format!("options=-c%20search_path%3D{name}");
    Ok(match base_url.split_once('?') {
        Some((head, query)) => format!("{head}?{query}&{options}"),
        None => format!("{base_url}?{options}"),
    })
}
