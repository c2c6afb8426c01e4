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
//! | `PATH_AUTHORIZE` | GET/POST (query or form) | 303 to `PATH_LOGIN` (a new attempt, cookie `vl_attempt_<id>`), or to the registered `redirect_uri` with `code`, `state`, `iss` (the SSO session answers) | 400 HTML error page for an unknown `client_id` or an unregistered `redirect_uri` (never redirected); every other fault a 303 to the `redirect_uri` with `error` (`invalid_request`: PKCE S256 missing or `plain`, bad `prompt`/`max_age`, a repeated parameter; `unsupported_response_type`, `invalid_scope`, `login_required`, `unmet_authentication_requirements`, `request_not_supported`, `request_uri_not_supported`), `error_description`, `state`, `iss` |
//! | `PATH_LOGIN` | GET; POST form (`csrf`, `identifier`) | the attempt's page, `<main data-state>` (ADR 0002) | 404 page without the attempt's cookie; 403 page without its `csrf`; 429 page over `browser_login_per_ip_per_min` |
//! | `PATH_LOGIN_STATUS` | GET, `?wait=s` (≤ 25) | `{state, expires_in, continue?}` | 404 `not_found` without the attempt's cookie; 400 `invalid_request` |
//! | `PATH_LOGIN_RETRY` | POST form (`csrf`) | 303 to the page (a new phone challenge, at most 3) | as `PATH_LOGIN` |
//! | `PATH_LOGIN_CONTINUE` | GET | 303 to the client: `code` (+ cookie `vl_session`) after an approval, else `error=access_denied`; once per attempt | 404 page |
//! | `PATH_CIBA` | POST form, Basic or `client_secret_post` | `CibaResponse` | 401 `invalid_client`; 400 `invalid_request` (a text over its length or not display-safe: control, format, bidirectional or line-separator characters, see `vistalid_core::text`), `invalid_scope`, `unknown_user_id` (unknown hint, no active device, or an insured account), `invalid_binding_message` (> 128 chars or not display-safe); 403 `access_denied` (the user answered "not me" within `not_me_hold_secs`, with `Retry-After`); 429 `slow_down` (push-fatigue guard: `max_pending_per_account` pending requests; over `ciba_per_client_per_min`; or the wrong-pick back-off; with `Retry-After` for the last two) |
//! | `PATH_TOKEN` | POST form, Basic | `{access_token, token_type:"Bearer", expires_in, id_token}` | 401 `invalid_client`; 400 `authorization_pending`, `slow_down`, `access_denied`, `expired_token`, `invalid_grant` (unknown, other client's, already issued), `unsupported_grant_type`, `invalid_request` |
//! | `PATH_ENROL_NONCE` | POST | `NonceResponse` | 429 `too_many_requests` (over `enrol_per_ip_per_min`, shared with enrol) |
//! | `PATH_ENROL` | POST JSON | `EnrolResponse` | 400 `invalid_request` (body, JWK, name), `invalid_proof`, `invalid_nonce`; 403 `attestation_required`, `attestation_invalid` (see "Device attestation"; before the code is tried), `invalid_activation_code` (unknown code or wrong secret, answered alike), and only with the right secret `activation_code_expired`, `activation_code_locked`, `activation_code_used`; 429 `too_many_requests` (per-IP, shared with the nonce) |
//! | `PATH_CHALLENGES` | GET, Bearer poll token, `?wait=s` | `ChallengesResponse` | 401 `invalid_token`; 400 `invalid_request` |
//! | `PATH_ANSWER` | POST JSON | `AnswerResponse` (`approved`, `denied`, `reported`) | 400 `invalid_request`; 401 `unknown_device`, `device_revoked`, `invalid_signature`; 403 `wrong_device`, `wrong_code` (login denied, counted), `attestation_required` (no hardware co-signature from a device that has a hardware key), `attestation_invalid` (a co-signature that does not verify, or an App Attest counter not above the last); 404 `unknown_challenge`; 409 `challenge_already_answered`; 410 `challenge_expired` |
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
//! Logins (CIBA's `login_hint`, the login page's identifier) name an account by its login
//! identifier only: the national id `8` + RPPS (with or without the 8), or the insured's
//! `V…` identifier given at enrolment; never by the pseudonymous id every offline QR code
//! carries (400 `unknown_user_id`).
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
//! `acr` ([`ACR`]), `amr` (below), and Pro Santé Connect's identity claims:
//! `SubjectNameID` and `preferred_username` (practitioners: the national id, `8` + RPPS;
//! insured: the pseudonymous id), `given_name`, `family_name`,
//! `SubjectRefPro.exercices[].codeProfession` (practitioners), and `vistalid_account_kind`
//! (`practitioner` or `insured`: which kind of person the subject is).
//!
//! `acr_values` sent to the CIBA endpoint are stored with the request but do not change the
//! token: every login here is the same strength, so `acr` is always [`ACR`].
//!
//! `amr` (RFC 8176 §2) says how the approval was made, in this order:
//! - `pin`: the wallet PIN unlocked the device key (a knowledge factor); every approval needs
//!   it.
//! - `hwk`: proof of possession of a hardware-secured key: the device enrolled with a
//!   platform attestation that verified under the policy (Android Key Attestation, Apple App
//!   Attest), and its attested hardware key co-signed the approval. Nothing else earns `hwk`:
//!   a wallet's own report of a hardware keystore (`EnrolRequest::key_storage`) is kept and
//!   listed but proves nothing.
//! - `swk`: proof of possession of a software-secured key: the account key alone (a wallet
//!   without an attestation: the CLI's key file, desktops, tests, or a phone whose keystore
//!   cannot attest, where the policy lets unattested keystores in).
//! - `mfa`: both a knowledge factor (`pin`) and a possession factor (`hwk` or `swk`) were
//!   used. An approval today is always `["pin", "hwk", "mfa"]` or `["pin", "swk", "mfa"]`.
//!
//! ## Device attestation
//!
//! `ServerConfig::attestation_policy` names a JSON policy file ([`attestation::AttestationPolicy`]:
//! platforms, trust anchors, apps, StrongBox, verified boot, patch floor, revocation list,
//! software keystores, per-client requirements). At enrolment the wallet's
//! `device_attestation` is verified for SHA-256("vistalid/attestation/v1" ‖ nonce ‖ account
//! key) before the activation code is tried; without one, the device enrols only where
//! software keystores are allowed (by default only on a loopback issuer). A device enrolled
//! with an attestation must co-sign every answer with its hardware key (`hardware_signature`);
//! App Attest counters must rise, moved with a compare-and-set. A relying party named in the
//! policy's `clients` reaches only the devices that meet its requirements. Refusals are 403
//! `attestation_required` / `attestation_invalid` (the description names the check) and are
//! counted in the database ([`Admin::attestation_refusals`]); [`Admin::list_devices`] shows
//! each device's attested platform, level and app. The revocation list is re-read when its
//! file changes and on [`RunningServer::reload_revocations`] (the binary: SIGHUP).
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
mod api;
pub mod attestation;
mod browser;
mod clients;
mod config;
mod credentials;
mod device;
mod domain;
mod error;
mod id_token;
mod keyring;
mod limits;
mod login;
mod metrics;
mod offline_seal;
mod oidc;
mod openapi;
mod ops;
mod ordered;
mod pages;
mod push;
mod qr;
mod refusals;
pub mod relying_party;
mod router;
mod secrets;
mod serve;
mod state;
mod store;

#[cfg(test)]
mod layers;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use admin::{Admin, ClientOptions, DeviceInfo, KeyInfo, KeyRotation, RefusalInfo};
pub use config::{ClockSource, DatabaseUrl, MetricsToken, ServerConfig, TEST_DATABASE_ENV};
pub use error::ServerError;
pub use id_token::{ACR, OFFLINE_ACR};
pub use keyring::{Purpose as KeyPurpose, EXPIRY_MARGIN_SECS, MIN_PREPUBLISH_SECS};
pub use offline_seal::{OfflineCodeKey, OfflineKeys, SealError, MAX_KEY_ID};
pub use ops::{init_logging, LogFormat};
pub use push::apns::ApnsError;
pub use push::config::{ApnsEnvironment, ApnsSettings, FcmSettings, PushDelivery};
pub use push::fcm::FcmError;
pub use push::queue::{DeliveryError, PushCounts};
pub use push::{LongPollNotifier, PushSender};
pub use secrets::SecretsError;
/// The application name of each instance's PostgreSQL wake-up listener (issue 19; in
/// `pg_stat_activity`, for operators and tests).
pub use store::postgres::notify::LISTENER_APPLICATION_NAME;
pub use store::StoreError;

use state::Shared;

/// Opens the database of `config` for administration only (no HTTP listener), e.g. for the
/// admin commands of the binary. Safe beside a running server on the same file.
pub fn open_admin(config: ServerConfig) -> Result<Admin, ServerError> {
    let issuer = config.issuer_or(config.bind);
    let (_tx, rx) = watch::channel(false);
    Ok(Admin::new(Shared::open(config, issuer, rx)?))
}

/// A running server. Dropping it without [`RunningServer::shutdown`] leaves the server
/// running on the runtime until the runtime stops.
pub struct RunningServer {
    addr: SocketAddr,
    /// The admin listener's address (`metrics_bind`), if any.
    admin_addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    /// The admin listener's task, if any.
    admin_task: Option<tokio::task::JoinHandle<()>>,
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

    /// The bound address of the admin listener (`metrics_bind`: probes and `/metrics`), if
    /// one is configured.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Runs the retention once now (as its timer does every `retention_interval_secs`):
    /// every table in bounded batches; returns the rows removed (failures are logged and
    /// counted in the metrics).
    pub async fn run_retention(&self) -> usize {
        ops::run_retention(&self.shared).await
    }

    /// An admin handle on this server's database.
    pub fn admin(&self) -> Admin {
        Admin::new(Arc::clone(&self.shared))
    }

    /// Re-reads the attestation policy's revocation list now (the binary does it on SIGHUP;
    /// the server also re-reads it whenever the file changes): its entry count, or `None`
    /// when the policy names no list. On failure the old list stays in force.
    pub async fn reload_revocations(&self) -> Result<Option<usize>, ServerError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || shared.reload_revocations())
            .await
            .map_err(|_| ServerError::Store(StoreError::Task))?
            .map_err(|e| ServerError::Config(e.to_string()))
    }

    /// Re-reads the signing keys from the database now, as the server does by itself every
    /// reload period (a minute): a rotation made by another instance or by the admin command
    /// is then in force here. For tests that move a manual clock past a pre-publication
    /// without waiting for the timer. On failure the keys in force stay.
    pub async fn reload_keys(&self) -> Result<(), ServerError> {
        self.shared.keys.reload(&self.shared.store).await
    }

    /// The push delivery's outcome counts since start (issue 20); `None` when no provider is
    /// configured. For `/metrics` (the operations issue) and tests.
    pub fn push_counts(&self) -> Option<PushCounts> {
        self.shared.delivery.as_ref().map(|d| d.counts())
    }

    /// Stops accepting connections (new ones are refused), answers open long-polls at once
    /// with their normal "nothing yet" (clients retry, elsewhere behind a load balancer),
    /// and waits (at most `shutdown_grace_secs`, default 5 s) for in-flight requests to
    /// finish. Every committed state stays in the database.
    pub async fn shutdown(self) {
        tracing::info!("stopping: no new connections, finishing in-flight requests");
        let _ = self.stop.send(true);
        let grace = Duration::from_secs(self.shared.config.shutdown_grace_secs);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
        }
        if let Some(mut admin) = self.admin_task {
            if tokio::time::timeout(Duration::from_secs(1), &mut admin)
                .await
                .is_err()
            {
                admin.abort();
            }
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
        let issuer = config.issuer_or(config.bind);
        let (stop, rx) = watch::channel(false);
        let shared = Shared::open(config, issuer, rx)?;
        Ok(Self {
            router: router::router(Arc::clone(&shared)),
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
    let issuer = config.issuer_or(addr);
    let (stop, stop_rx) = watch::channel(false);
    let shared = {
        let config = config.clone();
        let issuer = issuer.clone();
        let rx = stop_rx.clone();
        tokio::task::spawn_blocking(move || Shared::open(config, issuer, rx))
            .await
            .map_err(|_| ServerError::Store(StoreError::Task))??
    };
    let app = router::router(Arc::clone(&shared));
    let admin = match config.metrics_bind {
        Some(at) => {
            let listener = tokio::net::TcpListener::bind(at)
                .await
                .map_err(|source| ServerError::Bind { addr: at, source })?;
            let admin_addr = listener
                .local_addr()
                .map_err(|source| ServerError::Bind { addr: at, source })?;
            let app = router::admin_router(Arc::clone(&shared));
            let mut stop = stop_rx.clone();
            let task = tokio::spawn(async move {
                let served = axum::serve(listener, app).with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                });
                if let Err(e) = served.await {
                    tracing::warn!(error = %e, "admin listener failed");
                }
            });
            tracing::info!(%admin_addr, "admin listener (probes, metrics)");
            Some((admin_addr, task))
        }
        None => None,
    };
    let cleaner = tokio::spawn(ops::retention_loop(Arc::clone(&shared)));
    let revocations = tokio::spawn(state::revocation_loop(Arc::clone(&shared)));
    let key_reload = tokio::spawn(state::keys_loop(Arc::clone(&shared)));
    // PostgreSQL: wake-ups from the other instances (none on SQLite).
    let wake_listener = shared
        .store
        .wake_listener()
        .map(|l| tokio::spawn(state::wake_loop(Arc::clone(&shared), l)));
    let push_worker = shared
        .delivery_worker
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .map(|w| tokio::spawn(w.run()));
    let limits = serve::ConnLimits {
        header_timeout: Duration::from_secs(config.header_read_timeout_secs),
        idle_timeout: Duration::from_secs(config.idle_timeout_secs),
        max_connections: config.max_connections,
        max_per_peer: config.max_connections_per_ip,
    };
    let task = tokio::spawn(async move {
        serve::serve(listener, app, limits, stop_rx).await;
        cleaner.abort();
        revocations.abort();
        key_reload.abort();
        if let Some(l) = wake_listener {
            l.abort();
        }
        if let Some(w) = push_worker {
            w.abort();
        }
    });
    let (admin_addr, admin_task) = admin.unzip();
    // The database as `Store::describe` shows it: a path, or the URL without its password.
    let database = shared.store.describe();
    tracing::info!(%addr, %issuer, %database, "vistalid-server listening");
    Ok(RunningServer {
        addr,
        admin_addr,
        shared,
        stop,
        task,
        admin_task,
    })
}
