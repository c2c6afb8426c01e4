// SPDX-License-Identifier: Apache-2.0
//! The server's configuration: every setting with its documented default, and its checks.
//!
//! Guarantees: [`ServerConfig::new`] gives the defaults documented on each field; a server
//! starts only with a configuration that passes [`ServerConfig::validate`] (the error names
//! the setting); `Debug` lists every field (the metrics token, the one secret a
//! configuration may hold, is shown redacted, and so is the password of the database URL;
//! client secrets and keys live in the database, never in the configuration; the
//! key-encryption key file is named by its path).

use std::fmt;

pub use crate::store::DatabaseUrl;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use vistalid_core::clock::{Clock, SystemClock};

use crate::domain::guard::Policy;
use crate::error::ServerError;
use crate::push::PushSender;

/// The server's source of time: the system clock, or one a test moves
/// (`Arc::new(ManualClock::new(t)).into()`). Its `Debug` shows the time it reads.
#[derive(Clone)]
pub struct ClockSource(Arc<dyn Clock>);

impl ClockSource {
    /// The operating system's clock.
    pub fn system() -> Self {
        Self(Arc::new(SystemClock))
    }

    /// Seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        self.0.now()
    }

    /// The clock itself.
    pub(crate) fn shared(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.0)
    }
}

impl<C: Clock + 'static> From<Arc<C>> for ClockSource {
    fn from(clock: Arc<C>) -> Self {
        Self(clock)
    }
}

impl From<Arc<dyn Clock>> for ClockSource {
    fn from(clock: Arc<dyn Clock>) -> Self {
        Self(clock)
    }
}

impl fmt::Debug for ClockSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClockSource")
            .field("now", &self.now())
            .finish()
    }
}

/// **Tests only**: the environment variable naming the PostgreSQL server the test suites
/// run against (`postgres://user@127.0.0.1:port/postgres`, set by `scripts/test.sh`);
/// unset: SQLite.
pub const TEST_DATABASE_ENV: &str = "VL_TEST_DATABASE_URL";

/// Configuration of a server instance. [`ServerConfig::new`] gives the documented defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// SQLite database file (created with mode 0600 if absent).
    pub db_path: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Public base URL, used as OIDC `issuer` and enrolment audience. Derived from the bound
    /// address (`http://ip:port`) when `None`. No trailing slash.
    pub issuer: Option<String>,
    /// Challenge validity in seconds (default 120).
    pub challenge_ttl_secs: u64,
    /// CIBA request validity (`expires_in`) in seconds (default 120).
    pub ciba_expires_in: u64,
    /// Minimum seconds between token polls (`interval`, default 5; tests may use 0).
    pub poll_interval_secs: u64,
    /// Most pending login requests per account (push-fatigue guard, default 3).
    pub max_pending_per_account: u32,
    /// Largest request body in bytes (default 16 KiB); larger ones get 413.
    pub body_limit_bytes: usize,
    /// Timeout of every request except the device long-poll, in seconds (default 10).
    pub request_timeout_secs: u64,
    /// Cap of the device long-poll `wait` parameter in seconds (default 30).
    pub max_wait_secs: u64,
    /// Enrolment nonce validity in seconds (default 120).
    pub enrol_nonce_ttl_secs: u64,
    /// Activation code validity in seconds (default 900 = 15 min).
    pub activation_ttl_secs: u64,
    /// Wrong tries after which an activation code is dead (default 5).
    pub activation_tries: u32,
    /// CIBA's ID and access token lifetime, and the browser login's ID token lifetime, in
    /// seconds (default 300).
    pub token_ttl_secs: u64,
    /// Lifetime of the browser login's access tokens, in seconds (default 120, as Pro Santé
    /// Connect).
    pub access_token_ttl_secs: u64,
    /// Lifetime of each refresh token, in seconds (default 1800 = 30 min, as Pro Santé
    /// Connect); every use rotates it, and none outlives its SSO session.
    pub refresh_token_ttl_secs: u64,
    /// Absolute lifetime of an SSO session, in seconds (default 14 400 = 4 h, as Pro Santé
    /// Connect).
    pub session_ttl_secs: u64,
    /// Seconds an SSO session may go unused before it ends (default 1800 = 30 min).
    pub session_idle_secs: u64,
    /// Phone challenges the login page may start per peer IP address per minute (identifier
    /// forms and retries together; default 30); beyond, the page asks to wait.
    pub browser_login_per_ip_per_min: u32,
    /// Pick-mode candidates per challenge, the right one included (default 3, as e-CPS).
    pub pick_candidates: usize,
    /// CIBA requests a relying party (client id) may make per minute (default 60); beyond,
    /// 429 `slow_down`.
    pub ciba_per_client_per_min: u32,
    /// Enrolment requests (nonce and enrol together) per peer IP address per minute
    /// (default 20); beyond, 429 `too_many_requests`.
    pub enrol_per_ip_per_min: u32,
    /// Seconds a client has to send a request's headers (default 10); slower connections
    /// are closed, so slow clients cannot hold the server.
    pub header_read_timeout_secs: u64,
    /// Seconds a connection may stay open with no request in flight (default 30), HTTP/1
    /// keep-alive and HTTP/2 alike; then it is closed. Never cuts a request in flight.
    pub idle_timeout_secs: u64,
    /// Most open connections (default 1024); further ones wait in the accept backlog. When
    /// the open count nears it (within a sixteenth), idle connections of the peer holding
    /// the most are closed first, so one host cannot hold every slot.
    pub max_connections: usize,
    /// Most open connections per peer address (IPv6: per /64), default 128: an eighth of the
    /// default global cap, so filling the server takes at least eight hosts, while a site
    /// behind one NAT address with a hundred wallets long-polling at once still fits. A new
    /// connection over it closes that peer's idlest connection, or is closed at once when
    /// every one of them has a request in flight. Behind a reverse proxy every client shares
    /// the proxy's address: set it to `max_connections` there.
    pub max_connections_per_ip: usize,
    /// Seconds new CIBA requests for an account are refused after its user answered "this was
    /// not me" (default 900 = 15 min): long enough that push bombing a practitioner (whose
    /// RPPS number is public) stops paying, short enough that a user who pressed it by
    /// mistake can log in again within the quarter hour. 0 disables the hold.
    pub not_me_hold_secs: u64,
    /// Back-off after a wrong code pick, in seconds (default 30): after `n` wrong picks in a
    /// row on an account, new CIBA requests for it wait `wrong_pick_backoff_secs * 2^(n-1)`,
    /// at most `wrong_pick_backoff_max_secs`; a right pick ends the streak. Blind picks pass
    /// one time in three, so doubling waits make guessing under push fatigue slow. 0 disables.
    pub wrong_pick_backoff_secs: u64,
    /// Longest wrong-pick back-off, in seconds (default 900 = 15 min).
    pub wrong_pick_backoff_max_secs: u64,
    /// Seconds a client record (name, secret hash, mode, audience) read from the database is
    /// reused before it is read again (default 5). Changes made through this server's
    /// `Admin` apply at once; changes by another process on the same file (the admin CLI)
    /// apply within this bound. 0 reads the record on every request.
    pub client_cache_secs: u64,
    /// PIN guesses a device may make between two successful unlocks (default 10, as Signal's
    /// Secure Value Recovery and Apple's keychain escrow). At the limit the device's OPRF key
    /// is erased: its vault can never be opened again and the account must be enrolled again
    /// (docs/pin-guard.md). Applies to devices enrolled from then on.
    pub pin_guess_limit: u32,
    /// **Test only**: milliseconds the PIN-guess endpoint waits after the guess is counted
    /// (committed) and before it evaluates and answers (default 0, no wait). The kill test
    /// sets it (`VISTALID_TEST_HOLD_AFTER_GUESS_MS` in the binary) to kill the server in that
    /// window; a production server leaves it at 0.
    pub test_hold_after_guess_ms: u64,
    /// The attestation policy file (JSON, see `attestation::AttestationPolicy`): which
    /// platforms' attestations are accepted and what they must show, the trust anchors, the
    /// revocation list, whether unattested (software) keystores may enrol, and per-client
    /// requirements. `None` (the default): no attestation is accepted, and software keystores
    /// enrol only when the public URL (`issuer`) is on loopback.
    pub attestation_policy: Option<PathBuf>,
    /// The key-encryption key file (issue 19, `docs/key-rotation.md`): 32 random bytes as 43
    /// base64url characters; the signing keys are stored in the database sealed under it, so
    /// every instance sharing a database must be given the same file. `None` (the default):
    /// the file beside the database (`db_path` with `.kek` appended), created on first start.
    /// A configured file must exist (the server does not create it: two instances creating
    /// their own would not read each other's keys).
    pub key_encryption_key_file: Option<PathBuf>,
    /// The keys that seal the offline-code secrets at rest (issue 16), the current one
    /// first; empty (the default): the server offers no offline code. Rotation: put a new
    /// key first, keep the old ones after it, run `reseal-offline-secrets`, then drop them
    /// (docs/offline-code.md).
    pub offline_code_keys: crate::offline_seal::OfflineKeys,
    /// Source of time (tests use a `ManualClock`: `Arc::new(ManualClock::new(t)).into()`).
    pub clock: ClockSource,
    /// Extra push channel told about each queued challenge, beside the long-poll.
    pub push: Option<Arc<dyn PushSender>>,
    /// The FCM and APNs delivery (issue 20, docs/push.md); `None` (the default): devices are
    /// woken by long-poll only.
    pub push_delivery: Option<crate::push::config::PushDelivery>,
    // PostgreSQL (issue 19; docs/operations.md).
    /// The database URL: `sqlite:PATH` (a SQLite file) or `postgres://user:password@host:port/
    /// database` (several instances on one PostgreSQL). `None` (the default): the SQLite
    /// file [`Self::db_path`]. With PostgreSQL, [`Self::key_encryption_key_file`] must be set
    /// (every instance must read the same key).
    pub database_url: Option<DatabaseUrl>,
    /// PostgreSQL: connections in each instance's pool (default 4). Every write is a
    /// `SERIALIZABLE` transaction: more connections than the database server has cores to run
    /// them make transactions overlap longer and conflict more, so fewer connections give
    /// more logins per second (docs/operations.md: about twice the database server's cores,
    /// shared among the instances).
    pub database_pool_size: usize,
    /// PostgreSQL: longest wait in milliseconds for a pooled connection, or to make one
    /// (default 5000); past it a request fails with a retryable error instead of hanging.
    pub database_wait_timeout_ms: u64,
    /// PostgreSQL: longest run of one statement, and longest wait for a row lock, in
    /// milliseconds (default 5000).
    pub database_statement_timeout_ms: u64,
    // Operations (issue 19, branch ops19; docs/operations.md).
    /// Seconds an expired row (request, challenge, attempt, session, code, token,
    /// redemption) is kept after its expiry before the retention deletes it (default 86 400
    /// = 24 h): replays of codes and tokens are recognised as such within it.
    pub retention_secs: u64,
    /// Seconds between two retention runs (default 60).
    pub retention_interval_secs: u64,
    /// Most rows one retention batch deletes from one table (default 500): one short write
    /// job, so logins queued behind it wait for one small batch only.
    pub retention_batch_rows: usize,
    /// Most batches per table in one run (default 200, so at most 100 000 rows per table
    /// per run with the default batch); a longer backlog is worked off over later runs.
    pub retention_batches_per_run: u32,
    /// Milliseconds the retention pauses between two batches at least (default 5), leaving
    /// the writer to logins.
    pub retention_pause_ms: u64,
    /// Most share of the time, in percent, the retention spends in its batches while other
    /// writes are coming in (default 5, 1..=50): each batch is followed by a pause of
    /// `100 / percent - 1` times its own length. With no other write since its last batch, the
    /// retention takes up to half the time (a pause as long as the batch).
    pub retention_busy_percent: u8,
    /// A separate address serving `/metrics`, `/health` and `/ready` (the admin listener;
    /// default none). When set, the public listener does not serve `/metrics`.
    pub metrics_bind: Option<SocketAddr>,
    /// A bearer token `/metrics` asks for (default none). Without a token and without
    /// `metrics_bind`, `/metrics` is not served (404); with a token, on either listener, a
    /// request without `Authorization: Bearer <token>` gets 401.
    pub metrics_token: Option<MetricsToken>,
    /// A request header set by a trusted reverse proxy whose value becomes the request id
    /// (e.g. `x-request-id`; default none: the server draws every id). Only values of 1 to
    /// 64 characters of `A-Z a-z 0-9 - _ . :` are taken; others are replaced by a drawn id.
    pub request_id_header: Option<String>,
    /// Seconds a stop waits for in-flight requests to finish before it cuts them (default
    /// 5). Long-polls answer "nothing yet" at once when the stop begins.
    pub shutdown_grace_secs: u64,
    /// Seconds between two re-reads of a waiting long-poll (the device's challenges, the
    /// login page's status) when nothing woke it (default 10; at least 1). A safety net:
    /// wake-ups are immediate in one instance and, on PostgreSQL, across instances
    /// (LISTEN/NOTIFY), but a notification sent while an instance's listener reconnects is
    /// lost.
    pub long_poll_recheck_secs: u64,
}

/// The bearer token that protects `/metrics`; its `Debug` never shows it.
#[derive(Clone)]
pub struct MetricsToken(Arc<zeroize::Zeroizing<String>>);

impl MetricsToken {
    /// Wraps `token` (at least 16 characters, checked by the configuration's validation).
    pub fn new(token: impl Into<String>) -> Self {
        Self(Arc::new(zeroize::Zeroizing::new(token.into())))
    }

    /// The token's bytes (compared in constant time by the metrics endpoint).
    pub(crate) fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

impl ServerConfig {
    /// A configuration with the defaults documented on each field, storing its data in
    /// `db_path` and listening on `127.0.0.1:0`.
    pub fn new(db_path: impl Into<PathBuf>) -> Self {
        Self {
            db_path: db_path.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            issuer: None,
            challenge_ttl_secs: 120,
            ciba_expires_in: 120,
            poll_interval_secs: 5,
            max_pending_per_account: 3,
            body_limit_bytes: 16 * 1024,
            request_timeout_secs: 10,
            max_wait_secs: 30,
            enrol_nonce_ttl_secs: 120,
            activation_ttl_secs: 900,
            activation_tries: 5,
            token_ttl_secs: 300,
            access_token_ttl_secs: 120,
            refresh_token_ttl_secs: 1800,
            session_ttl_secs: 14_400,
            session_idle_secs: 1800,
            browser_login_per_ip_per_min: 30,
            pick_candidates: 3,
            ciba_per_client_per_min: 60,
            enrol_per_ip_per_min: 20,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 30,
            max_connections: 1024,
            max_connections_per_ip: 128,
            not_me_hold_secs: 900,
            wrong_pick_backoff_secs: 30,
            wrong_pick_backoff_max_secs: 900,
            client_cache_secs: 5,
            pin_guess_limit: 10,
            test_hold_after_guess_ms: 0,
            attestation_policy: None,
            key_encryption_key_file: None,
            offline_code_keys: crate::offline_seal::OfflineKeys::default(),
            clock: ClockSource::system(),
            push: None,
            retention_secs: 86_400,
            retention_interval_secs: 60,
            retention_batch_rows: 500,
            retention_batches_per_run: 200,
            retention_pause_ms: 5,
            retention_busy_percent: 5,
            metrics_bind: None,
            metrics_token: None,
            request_id_header: None,
            shutdown_grace_secs: 5,
            long_poll_recheck_secs: 10,
            push_delivery: None,
            database_url: None,
            database_pool_size: 4,
            database_wait_timeout_ms: 5000,
            database_statement_timeout_ms: 5000,
        }
    }

    /// The public base URL: [`Self::issuer`], or `http://` and `bound` (the address the
    /// server listens on, or the configured one where nothing listens).
    pub(crate) fn issuer_or(&self, bound: SocketAddr) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
    }

    /// The database the configuration names (see [`Self::database_url`]).
    pub(crate) fn database(&self) -> Result<crate::store::Database, ServerError> {
        use crate::store::{postgres, Database, PgSettings};
        // EXPOSE: read to open the database; the URL itself leaves only through `redacted`.
        match self.database_url.as_ref().map(DatabaseUrl::expose) {
            None => Ok(Database::Sqlite(self.db_path.clone())),
            Some(url) => match url.strip_prefix("sqlite:") {
                Some(path) if !path.is_empty() => Ok(Database::Sqlite(PathBuf::from(path))),
                Some(_) => Err(ServerError::Config(
                    "database_url sqlite: names no file".into(),
                )),
                None if postgres::is_url(url) => Ok(Database::Postgres(PgSettings {
                    url: url.into(),
                    pool_size: self.database_pool_size,
                    wait_timeout: std::time::Duration::from_millis(self.database_wait_timeout_ms),
                    statement_timeout: std::time::Duration::from_millis(
                        self.database_statement_timeout_ms,
                    ),
                })),
                None => Err(ServerError::Config(
                    "database_url must start with sqlite: or postgres://".into(),
                )),
            },
        }
    }

    /// The key-encryption key file, and whether the server creates it when absent (only the
    /// default one beside the database).
    pub(crate) fn kek_file(&self) -> (PathBuf, bool) {
        match &self.key_encryption_key_file {
            Some(path) => (path.clone(), false),
            None => {
                let db = match self.database() {
                    Ok(crate::store::Database::Sqlite(path)) => path,
                    _ => self.db_path.clone(),
                };
                let mut name = db.into_os_string();
                name.push(".kek");
                (PathBuf::from(name), true)
            }
        }
    }

    /// The login guard's settings.
    pub(crate) fn guard_policy(&self) -> Policy {
        Policy {
            not_me_hold_secs: self.not_me_hold_secs,
            backoff_secs: self.wrong_pick_backoff_secs,
            backoff_max_secs: self.wrong_pick_backoff_max_secs,
        }
    }

    /// A configuration for tests: the database in `dir`, loopback on a free port, token
    /// polls allowed at any pace (`poll_interval_secs` 0); other settings as [`Self::new`].
    pub fn for_tests(dir: &std::path::Path) -> Self {
        let mut c = Self::new(dir.join("vistalid-server.sqlite"));
        c.poll_interval_secs = 0;
        c
    }

    /// Checks every setting; the error names the first one out of range.
    pub(crate) fn validate(&self) -> Result<(), ServerError> {
        let bad = |m: &str| Err(ServerError::Config(m.to_owned()));
        if let Some(p) = &self.push_delivery {
            p.validate().map_err(ServerError::Config)?;
        }
        if self.challenge_ttl_secs == 0 || self.challenge_ttl_secs > 600 {
            return bad("challenge_ttl_secs must be in 1..=600 (wallets refuse longer)");
        }
        if self.ciba_expires_in == 0 || self.ciba_expires_in > 3600 {
            return bad("ciba_expires_in must be in 1..=3600");
        }
        if self.max_pending_per_account == 0 {
            return bad("max_pending_per_account must be at least 1");
        }
        if self.long_poll_recheck_secs == 0 {
            return bad("long_poll_recheck_secs must be at least 1");
        }
        if self.body_limit_bytes < 1024 {
            return bad("body_limit_bytes must be at least 1024");
        }
        if self.ciba_per_client_per_min == 0 || self.enrol_per_ip_per_min == 0 {
            return bad("ciba_per_client_per_min and enrol_per_ip_per_min must be positive");
        }
        if self.header_read_timeout_secs == 0
            || self.idle_timeout_secs == 0
            || self.max_connections == 0
            || self.max_connections_per_ip == 0
        {
            return bad(
                "header_read_timeout_secs, idle_timeout_secs, max_connections and \
                 max_connections_per_ip must be positive",
            );
        }
        if u32::try_from(self.max_connections).is_err() {
            return bad("max_connections must fit in 32 bits");
        }
        if !(2..=9).contains(&self.pick_candidates) {
            return bad("pick_candidates must be in 2..=9");
        }
        if self.access_token_ttl_secs == 0
            || self.refresh_token_ttl_secs == 0
            || self.session_ttl_secs == 0
            || self.session_idle_secs == 0
            || self.browser_login_per_ip_per_min == 0
        {
            return bad(
                "access_token_ttl_secs, refresh_token_ttl_secs, session_ttl_secs, \
                 session_idle_secs and browser_login_per_ip_per_min must be positive",
            );
        }
        if self.activation_tries == 0 || self.activation_ttl_secs == 0 {
            return bad("activation_tries and activation_ttl_secs must be positive");
        }
        if !(1..=100).contains(&self.pin_guess_limit) {
            return bad("pin_guess_limit must be in 1..=100");
        }
        if self.retention_interval_secs == 0
            || self.retention_batch_rows == 0
            || self.retention_batches_per_run == 0
        {
            return bad(
                "retention_interval_secs, retention_batch_rows and retention_batches_per_run \
                 must be positive",
            );
        }
        if !(1..=50).contains(&self.retention_busy_percent) {
            return bad("retention_busy_percent must be in 1..=50");
        }
        if i64::try_from(self.retention_secs).is_err() {
            return bad("retention_secs is too large");
        }
        if self
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.expose().len() < 16)
        {
            return bad("metrics_token must be at least 16 characters");
        }
        if let Some(name) = &self.request_id_header {
            if axum::http::HeaderName::try_from(name.as_str()).is_err() {
                return bad("request_id_header is not a header name");
            }
        }
        if let Some(issuer) = &self.issuer {
            let url = url::Url::parse(issuer)
                .map_err(|_| ServerError::Config("issuer is not a URL".into()))?;
            if !matches!(url.scheme(), "http" | "https") || issuer.ends_with('/') {
                return bad("issuer must be an http(s) URL without a trailing slash");
            }
        }
        if let crate::store::Database::Postgres(pg) = self.database()? {
            if self.key_encryption_key_file.is_none() {
                // A file created beside a database on another machine would differ per
                // instance: each would seal keys the others cannot open.
                return bad(
                    "key_encryption_key_file is required with a PostgreSQL database_url \
                     (every instance must be given the same file)",
                );
            }
            if pg.pool_size == 0 || pg.pool_size > 1000 {
                return bad("database_pool_size must be in 1..=1000");
            }
            if self.database_wait_timeout_ms == 0 || self.database_statement_timeout_ms == 0 {
                return bad(
                    "database_wait_timeout_ms and database_statement_timeout_ms must be positive",
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_lists_every_field() {
        let c = ServerConfig::new("/tmp/x.sqlite");
        let shown = format!("{c:?}");
        // Every `pub` field of the struct, read from this file, appears in the output.
        let src = include_str!("config.rs");
        let start = src.find("pub struct ServerConfig {").expect("struct") + 25;
        let end = start + src[start..].find("\n}").expect("end");
        let fields: Vec<&str> = src[start..end]
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub "))
            .filter_map(|l| l.split(':').next())
            .collect();
        assert!(fields.len() >= 25, "{fields:?}");
        for f in fields {
            assert!(
                shown.contains(&format!("{f}: ")),
                "{f} missing from {shown}"
            );
        }
        assert!(shown.contains("ClockSource { now: "), "{shown}");
    }

    #[test]
    fn debug_hides_the_database_password_in_both_spellings() {
        let mut c = ServerConfig::new("/tmp/x.sqlite");
        c.database_url = Some(
            "postgres://vistalid:pw-in-userinfo@db.example:5432/idp?sslmode=verify-full\
             &password=pw-in-query&sslrootcert=/etc/ca.pem"
                .into(),
        );
        let shown = format!("{c:?}");
        assert!(!shown.contains("pw-in-userinfo"), "{shown}");
        assert!(!shown.contains("pw-in-query"), "{shown}");
        assert!(
            shown.contains("postgres://vistalid:redacted@db.example:5432/idp?sslmode=verify-full"),
            "{shown}"
        );
        let Ok(crate::store::Database::Postgres(pg)) = c.database() else {
            panic!("postgres")
        };
        let shown = format!("{pg:?}");
        assert!(!shown.contains("pw-in-"), "{shown}");
        assert!(shown.contains("password=redacted"), "{shown}");
    }

    #[test]
    fn the_issuer_defaults_to_the_bound_address() {
        let mut c = ServerConfig::new("/tmp/x.sqlite");
        let addr = SocketAddr::from(([127, 0, 0, 1], 8080));
        assert_eq!(c.issuer_or(addr), "http://127.0.0.1:8080");
        c.issuer = Some("https://psc.example".into());
        assert_eq!(c.issuer_or(addr), "https://psc.example");
    }
}
