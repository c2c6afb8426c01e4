// SPDX-License-Identifier: Apache-2.0
//! # vistalid-server
//!
//! The Vistalid reference identity server (DESIGN.md §3–4), shaped like Pro Santé Connect:
//! OIDC discovery and JWKS, CIBA in poll mode with HTTP Basic client authentication, device
//! enrolment with one-time activation codes, a signed challenge queue per device (long-poll,
//! with a [`PushSender`] seam for FCM/APNs), and ES256 ID tokens carrying PSC-named claims.
//!
//! Start it in-process with [`start`]; administer accounts, clients and devices with
//! [`Admin`]. All state lives in one SQLite file, so a restart mid-flow loses nothing.
//!
//! ## Endpoints (paths from `vistalid_core::protocol`)
//!
//! | path | method | success | errors (status `error`) |
//! |---|---|---|---|
//! | `PATH_DISCOVERY` | GET | OIDC provider metadata | — |
//! | `PATH_JWKS` | GET | `{"keys":[server ES256 JWK]}` | — |
//! | `/protocol/openid-connect/auth` | GET/POST | never | 400 `unsupported_response_type` (CIBA only) |
//! | `PATH_CIBA` | POST form, Basic | `CibaResponse` | 401 `invalid_client`; 400 `invalid_request` (a text over its length or not display-safe: control, format, bidirectional or line-separator characters, see `vistalid_core::text`), `invalid_scope`, `unknown_user_id` (unknown hint, no active device, or an insured account), `invalid_binding_message` (> 128 chars or not display-safe); 403 `access_denied` (the user answered "not me" within `not_me_hold_secs`, with `Retry-After`); 429 `slow_down` (push-fatigue guard: `max_pending_per_account` pending requests; over `ciba_per_client_per_min`; or the wrong-pick back-off; with `Retry-After` for the last two) |
//! | `PATH_TOKEN` | POST form, Basic | `{access_token, token_type:"Bearer", expires_in, id_token}` | 401 `invalid_client`; 400 `authorization_pending`, `slow_down`, `access_denied`, `expired_token`, `invalid_grant` (unknown, other client's, already issued), `unsupported_grant_type`, `invalid_request` |
//! | `PATH_ENROL_NONCE` | POST | `NonceResponse` | 429 `too_many_requests` (over `enrol_per_ip_per_min`, shared with enrol) |
//! | `PATH_ENROL` | POST JSON | `EnrolResponse` | 400 `invalid_request` (body, JWK, name), `invalid_proof`, `invalid_nonce`; 403 `invalid_activation_code` (unknown code or wrong secret, answered alike), and only with the right secret `activation_code_expired`, `activation_code_locked`, `activation_code_used`; 429 `too_many_requests` (per-IP, shared with the nonce) |
//! | `PATH_CHALLENGES` | GET, Bearer poll token, `?wait=s` | `ChallengesResponse` | 401 `invalid_token`; 400 `invalid_request` |
//! | `PATH_ANSWER` | POST JSON | `AnswerResponse` (`approved`, `denied`, `reported`) | 400 `invalid_request`; 401 `unknown_device`, `device_revoked`, `invalid_signature`; 403 `wrong_device`, `wrong_code` (login denied, counted); 404 `unknown_challenge`; 409 `challenge_already_answered`; 410 `challenge_expired` |
//! | `PATH_ISSUER_KEYS` | GET | `{"keys":[QR issuer ES256 JWK]}` | — |
//! | `PATH_REDEEM` | POST JSON, Basic | `RedeemResponse` | 400 `invalid_request`, `invalid_qr`, `presentation_not_yet_valid`; 401 `invalid_client`, `invalid_signature`; 403 `device_revoked`, `wrong_audience` (the presentation's audience is not the client's registered one; a client without one redeems only audience-less presentations); 404 `unknown_credential`; 409 `already_redeemed`; 410 `presentation_expired`, `credential_expired` |
//! | `/openapi.json` | GET | the OpenAPI 3.1 document of this table ([`openapi_document`]) | — |
//!
//! Every endpoint may also answer 413 `request_too_large` (with `Connection: close`), 415 `invalid_request` (wrong
//! Content-Type), 404 `not_found`, 405 `method_not_allowed`, 408 (timeout, not on the
//! long-poll) and 500 `server_error` (database or random generator fault only). Errors are
//! JSON `ErrorBody`; descriptions never carry secrets, and a malformed body, query or path is
//! described by its field name and the kind of fault, never by the submitted value.
//!
//! ## Connections
//!
//! A new connection must send its request head within `header_read_timeout_secs` (default
//! 10 s) or is closed; a connection with no request in flight is closed after
//! `idle_timeout_secs` (default 30 s; HTTP/1 keep-alive and HTTP/2); at most
//! `max_connections` (default 1024) are served at once, further ones wait in the accept
//! backlog. One peer address (IPv6: one /64) holds at most `max_connections_per_ip`
//! (default 128): a new connection over it closes that peer's idlest connection, or is
//! closed at once when all of them have a request in flight. Within a sixteenth of the
//! global cap, each new connection closes an idle connection of the peer holding the most,
//! so one host cannot hold every slot. A request in flight is never cut. Per-IP limits key
//! on the TCP peer address, never on a forwarding header.
//!
//! ## Login guard
//!
//! After a "this was not me" answer, CIBA requests for that account are refused for
//! `not_me_hold_secs` (default 15 min) with 403 `access_denied`; after `n` wrong code picks
//! in a row they wait `wrong_pick_backoff_secs * 2^(n-1)` (default 30 s, doubling, at most
//! `wrong_pick_backoff_max_secs` = 15 min) with 429 `slow_down`. Both say the reason in
//! `error_description` and the wait in `Retry-After`; [`Admin::clear_login_hold`] ends them.
//! CIBA is refused for insured accounts (400 `unknown_user_id`): their pseudonymous id is in
//! every offline QR code.
//!
//! ## QR redemption and clients
//!
//! A client registered with an audience ([`ClientOptions::audience`], admin
//! `add-client --audience`) redeems only presentations addressed to exactly that audience; a
//! client without one redeems only presentations that name none. A refusal (403
//! `wrong_audience`) does not spend the presentation. [`Admin::rotate_secret`] and
//! [`Admin::remove_client`] apply at once in this server and within `client_cache_secs`
//! (default 5 s) in another server process on the same database file.
//!
//! ## ID token
//!
//! ES256 JWT (`typ` JWT, `kid` = the JWKS key's thumbprint) with `iss`, `sub` (the account
//! id: stable, opaque, not the RPPS number), `aud` (client id), `iat`, `exp`, `auth_time`,
//! `acr` ([`ACR`]), `amr` ([`AMR`]), and Pro Santé Connect's identity claims:
//! `SubjectNameID` and `preferred_username` (RPPS number), `given_name`, `family_name`,
//! `SubjectRefPro.exercices[].codeProfession` (practitioners), and `vistalid_account_kind`
//! (`practitioner` or `insured`: which kind of person the subject is; only practitioners
//! log in by CIBA today).
//!
//! `acr_values` sent to the CIBA endpoint are stored with the request but do not change the
//! token: every login here is the same strength, so `acr` is always [`ACR`].
//!
//! ## Activation codes
//!
//! `XXXX-XXXX-XXXX`, Crockford base32 (case, dashes and I/L/O look-alikes forgiven): 4
//! lookup characters (not secret) and 8 secret ones (40 bits), stored as SHA-256 and
//! compared in constant time; 15 minutes, 5 wrong tries, one use. Wrong tries are counted
//! per code, so guessing needs the lookup part; a guessed lookup can burn someone's code
//! (denial of service, not takeover): re-issue it with [`Admin::new_activation_code`]. A
//! wrong secret answers exactly like an unknown lookup (no tries left, no state), so an
//! attacker cannot tell a live lookup from a free one; only the right secret learns that a
//! code is used, expired or locked.
//!
//! ```no_run
//! # async fn demo() -> Result<(), vistalid_server::ServerError> {
//! use vistalid_server::{start, ServerConfig};
//! let server = start(ServerConfig::new("/tmp/vistalid.sqlite")).await?;
//! let admin = server.admin();
//! let (client_id, secret) =
//!     admin.add_client("Dossier patient", vistalid_core::protocol::CodeMode::Pick)?;
//! let code = admin.add_practitioner("10101010101", "Jeanne", "Martin", "10")?;
//! # let _ = (client_id, secret, code);
//! server.shutdown().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod admin;
pub mod attestation;
mod clients;
mod device;
mod guard;
mod http;
mod limits;
mod oidc;
mod openapi;
mod push;
mod qr;
mod secrets;
mod serve;
mod store;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use vistalid_core::clock::{Clock, SystemClock};
use vistalid_core::keys::{Jwk, KeyError, SigningKey};

pub use admin::{Admin, ClientOptions, DeviceInfo};
pub use push::{LongPollNotifier, PushSender};
pub use secrets::SecretsError;
pub use store::StoreError;

/// Value of the `acr` claim of every ID token: the Pro Santé Connect level its relying
/// parties ask for (`acr_values=eidas1`). A device-bound key unlocked by a PIN, with a
/// *code dynamique* matched by the user.
pub const ACR: &str = "eidas1";
/// Value of the `amr` claim of every ID token (RFC 8176): `pin` (the wallet PIN unlocks the
/// key), `hwk` (proof of possession of the device-bound key), `mfa` (both).
pub const AMR: [&str; 3] = ["pin", "hwk", "mfa"];

/// Errors of starting, running and administering the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The database could not be opened, migrated, read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The stored server key is not a valid ES256 key.
    #[error("server key: {0}")]
    Key(#[from] KeyError),
    /// The OS random generator failed.
    #[error(transparent)]
    Random(#[from] SecretsError),
    /// The configuration is invalid (the message names the setting).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An admin argument is invalid (the message names which and why).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// An account with that identifier already exists.
    #[error("an account with that identifier already exists")]
    DuplicateAccount,
    /// No such account, device or client.
    #[error("not found: {0}")]
    NotFound(&'static str),
}

/// Configuration of a server instance. [`ServerConfig::new`] gives the documented defaults.
#[derive(Clone)]
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
    /// ID and access token lifetime in seconds (default 300).
    pub token_ttl_secs: u64,
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
    /// [`Admin`] apply at once; changes by another process on the same file (the admin CLI)
    /// apply within this bound. 0 reads the record on every request.
    pub client_cache_secs: u64,
    /// Source of time (tests use a `ManualClock`).
    pub clock: Arc<dyn Clock>,
    /// Extra push channel told about each queued challenge, beside the long-poll.
    pub push: Option<Arc<dyn PushSender>>,
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
            clock: Arc::new(SystemClock),
            push: None,
        }
    }

    /// A configuration for tests: the database in `dir`, loopback on a free port, token
    /// polls allowed at any pace (`poll_interval_secs` 0); other settings as [`Self::new`].
    pub fn for_tests(dir: &std::path::Path) -> Self {
        let mut c = Self::new(dir.join("vistalid-server.sqlite"));
        c.poll_interval_secs = 0;
        c
    }

    fn validate(&self) -> Result<(), ServerError> {
        let bad = |m: &str| Err(ServerError::Config(m.to_owned()));
        if self.challenge_ttl_secs == 0 || self.challenge_ttl_secs > 600 {
            return bad("challenge_ttl_secs must be in 1..=600 (wallets refuse longer)");
        }
        if self.ciba_expires_in == 0 || self.ciba_expires_in > 3600 {
            return bad("ciba_expires_in must be in 1..=3600");
        }
        if self.max_pending_per_account == 0 {
            return bad("max_pending_per_account must be at least 1");
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
        if self.activation_tries == 0 || self.activation_ttl_secs == 0 {
            return bad("activation_tries and activation_ttl_secs must be positive");
        }
        if let Some(issuer) = &self.issuer {
            let url = url::Url::parse(issuer)
                .map_err(|_| ServerError::Config("issuer is not a URL".into()))?;
            if !matches!(url.scheme(), "http" | "https") || issuer.ends_with('/') {
                return bad("issuer must be an http(s) URL without a trailing slash");
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("db_path", &self.db_path)
            .field("bind", &self.bind)
            .field("issuer", &self.issuer)
            .field("challenge_ttl_secs", &self.challenge_ttl_secs)
            .field("ciba_expires_in", &self.ciba_expires_in)
            .field("poll_interval_secs", &self.poll_interval_secs)
            .field("max_pending_per_account", &self.max_pending_per_account)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("ciba_per_client_per_min", &self.ciba_per_client_per_min)
            .field("enrol_per_ip_per_min", &self.enrol_per_ip_per_min)
            .field("header_read_timeout_secs", &self.header_read_timeout_secs)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("max_connections", &self.max_connections)
            .field("max_connections_per_ip", &self.max_connections_per_ip)
            .field("not_me_hold_secs", &self.not_me_hold_secs)
            .field("wrong_pick_backoff_secs", &self.wrong_pick_backoff_secs)
            .field(
                "wrong_pick_backoff_max_secs",
                &self.wrong_pick_backoff_max_secs,
            )
            .field("client_cache_secs", &self.client_cache_secs)
            .field("push", &self.push.is_some())
            .finish_non_exhaustive()
    }
}

/// Shared state of a server instance (also used by [`Admin`] without HTTP).
pub(crate) struct Shared {
    pub(crate) db: store::Db,
    pub(crate) config: ServerConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) key: SigningKey,
    pub(crate) jwk: Jwk,
    /// The QR credential issuer key (separate from the OIDC/challenge key).
    pub(crate) issuer_key: SigningKey,
    pub(crate) issuer_jwk: Jwk,
    pub(crate) issuer: String,
    pub(crate) notifier: Arc<LongPollNotifier>,
    /// Client records read from the database (see `clients` for how long one is reused).
    pub(crate) clients: RwLock<std::collections::HashMap<String, Arc<clients::ClientRecord>>>,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Per-client CIBA request limit.
    pub(crate) ciba_limiter: limits::RateLimiter,
    /// Per-IP enrolment limit.
    pub(crate) enrol_limiter: limits::RateLimiter,
}

impl Shared {
    /// Tells the long-poll and the optional push channel that a challenge was queued.
    pub(crate) fn wake(&self, device_id: &str, challenge_id: &str) {
        self.notifier.notify(device_id, challenge_id);
        if let Some(push) = &self.config.push {
            push.notify(device_id, challenge_id);
        }
    }
}

/// The account kind stored in `accounts.kind` (`insured` or else practitioner).
pub(crate) fn account_kind(stored: &str) -> vistalid_core::protocol::AccountKind {
    match stored {
        "insured" => vistalid_core::protocol::AccountKind::Insured,
        _ => vistalid_core::protocol::AccountKind::Practitioner,
    }
}

/// Meta key of the server's PKCS#8 signing key.
const META_SERVER_KEY: &str = "server_signing_key_pkcs8";
/// Meta key of the QR credential issuer's PKCS#8 signing key.
const META_ISSUER_KEY: &str = "qr_issuer_signing_key_pkcs8";

/// Loads the key stored under `meta_key`, creating it on first start.
fn load_or_create_key(db: &store::Db, meta_key: &'static str) -> Result<SigningKey, ServerError> {
    let fresh = SigningKey::make()?;
    let fresh_der = fresh.to_pkcs8().clone();
    let pkcs8 =
        db.write_blocking(move |tx| store::meta_get_or_insert(tx, meta_key, fresh_der.as_slice()))?;
    let pkcs8 = zeroize::Zeroizing::new(pkcs8);
    Ok(SigningKey::from_pkcs8(&pkcs8)?)
}

fn open_shared(
    config: ServerConfig,
    issuer: String,
    shutdown: watch::Receiver<bool>,
) -> Result<Arc<Shared>, ServerError> {
    config.validate()?;
    let db = store::Db::open(&config.db_path)?;
    let key = load_or_create_key(&db, META_SERVER_KEY)?;
    let jwk = key.public_key().to_jwk();
    let ciba_limiter = limits::RateLimiter::new(config.ciba_per_client_per_min, 60);
    let enrol_limiter = limits::RateLimiter::new(config.enrol_per_ip_per_min, 60);
    let issuer_key = load_or_create_key(&db, META_ISSUER_KEY)?;
    let issuer_jwk = issuer_key.public_key().to_jwk();
    Ok(Arc::new(Shared {
        ciba_limiter,
        enrol_limiter,
        db,
        clock: Arc::clone(&config.clock),
        config,
        key,
        jwk,
        issuer_key,
        issuer_jwk,
        issuer,
        notifier: Arc::new(LongPollNotifier::default()),
        clients: RwLock::new(std::collections::HashMap::new()),
        shutdown,
    }))
}

/// Opens the database of `config` for administration only (no HTTP listener), e.g. for the
/// admin commands of the binary. Safe beside a running server on the same file.
pub fn open_admin(config: ServerConfig) -> Result<Admin, ServerError> {
    let issuer = config
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.bind));
    let (_tx, rx) = watch::channel(false);
    Ok(Admin::new(open_shared(config, issuer, rx)?))
}

/// A running server. Dropping it without [`RunningServer::shutdown`] leaves the server
/// running on the runtime until the runtime stops.
pub struct RunningServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .field("issuer", &self.shared.issuer)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The public base URL (also the OIDC issuer), without trailing slash.
    pub fn base_url(&self) -> &str {
        &self.shared.issuer
    }

    /// An admin handle on this server's database.
    pub fn admin(&self) -> Admin {
        Admin::new(Arc::clone(&self.shared))
    }

    /// Stops accepting connections, ends open long-polls at once, and waits (at most 5 s)
    /// for in-flight requests to finish. Every committed state stays in the database.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// The server's HTTP application without a listener, for in-process use: fuzzing, or tests
/// driving the router with `tower::ServiceExt::oneshot`. Same routes, limits and database
/// as [`start`], but no background cleanup and no peer addresses (so every request shares
/// one per-IP enrolment budget). Needs a Tokio runtime to serve requests.
pub struct InProcess {
    router: axum::Router,
    shared: Arc<Shared>,
    _stop: watch::Sender<bool>,
}

impl fmt::Debug for InProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcess")
            .field("issuer", &self.shared.issuer)
            .finish_non_exhaustive()
    }
}

impl InProcess {
    /// Opens the database of `config` (as [`start`] does) and builds the router. The issuer
    /// is `config.issuer`, or `http://` and the configured bind address.
    pub fn new(config: ServerConfig) -> Result<Self, ServerError> {
        let issuer = config
            .issuer
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.bind));
        let (stop, rx) = watch::channel(false);
        let shared = open_shared(config, issuer, rx)?;
        Ok(Self {
            router: http::router(Arc::clone(&shared)),
            shared,
            _stop: stop,
        })
    }

    /// The application router (cheap to clone; each clone serves the same state).
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// An admin handle on this instance's database.
    pub fn admin(&self) -> Admin {
        Admin::new(Arc::clone(&self.shared))
    }
}

/// The OpenAPI 3.1 document of the HTTP API (as served at `/openapi.json`), for a server
/// whose public base URL is `issuer`.
pub fn openapi_document(issuer: &str) -> serde_json::Value {
    openapi::document(issuer)
}

/// Opens the database (creating the server key on first start), binds the listener and
/// serves until [`RunningServer::shutdown`].
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.bind,
        source,
    })?;
    let issuer = config
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let (stop, stop_rx) = watch::channel(false);
    let shared = {
        let config = config.clone();
        let issuer = issuer.clone();
        let rx = stop_rx.clone();
        tokio::task::spawn_blocking(move || open_shared(config, issuer, rx))
            .await
            .map_err(|_| ServerError::Store(StoreError::Task))??
    };
    let app = http::router(Arc::clone(&shared));
    let cleaner = tokio::spawn(device::cleanup_loop(Arc::clone(&shared)));
    let limits = serve::ConnLimits {
        header_timeout: Duration::from_secs(config.header_read_timeout_secs),
        idle_timeout: Duration::from_secs(config.idle_timeout_secs),
        max_connections: config.max_connections,
        max_per_peer: config.max_connections_per_ip,
    };
    let task = tokio::spawn(async move {
        serve::serve(listener, app, limits, stop_rx).await;
        cleaner.abort();
    });
    tracing::info!(%addr, %issuer, "vistalid-server listening");
    Ok(RunningServer {
        addr,
        shared,
        stop,
        task,
    })
}
