// SPDX-License-Identifier: Apache-2.0
//! The shared state of a server instance: the store, the configuration, the keys, the
//! long-poll notifier, the client record cache and the rate limiters; also used by the admin
//! without HTTP.
//!
//! Guarantees:
//! - The server's signing keys (ID token, challenge, QR issuer: `keyring`) are created once,
//!   on first start, sealed in the database, and read back on every later start and every
//!   `keyring::RELOAD_SECS`, so tokens, challenges and credentials stay verifiable across
//!   restarts, instances and rotations.
//! - A client record is reused from the cache for at most `client_cache_secs` (real time);
//!   [`ClientCache::forget`] drops it at once (after an admin change in this process).
//! - The attestation policy is read once at start (a bad file stops the start, naming the
//!   key or file); its revocation list is re-read when its file changes and on
//!   [`Shared::reload_revocations`] (the binary calls it on SIGHUP).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use vistalid_core::clock::Clock;

use crate::attestation::AttestationPolicy;
use crate::config::ServerConfig;
use crate::error::ServerError;
use crate::keyring::{Kek, Keyring};
use crate::limits::RateLimiter;
use crate::metrics::Metrics;
use crate::push::queue::{Dispatcher, Worker};
use crate::push::{LongPollNotifier, PushSender as _, Waiters};
use crate::store::{ClientRecord, Store, WakeListener, Wakeup};

/// Shared state of a server instance.
pub(crate) struct Shared {
    /// The database.
    pub(crate) store: Store,
    /// The configuration it was started with.
    pub(crate) config: ServerConfig,
    /// Source of time.
    pub(crate) clock: Arc<dyn Clock>,
    /// The signing keys (ID token, challenge, QR issuer), shared by every instance through
    /// the database and re-read every `keyring::RELOAD_SECS` (issue 19).
    pub(crate) keys: Keyring,
    /// The public base URL (OIDC `issuer`).
    pub(crate) issuer: String,
    /// Wakes parked long-polls.
    pub(crate) notifier: Arc<LongPollNotifier>,
    /// Wakes login pages waiting for a request's answer (keyed by request id).
    pub(crate) answers: Waiters,
    /// Client records read from the database.
    pub(crate) clients: ClientCache,
    /// Turns true when the server stops.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Per-client CIBA request limit.
    pub(crate) ciba_limiter: RateLimiter,
    /// Per-IP enrolment limit.
    pub(crate) enrol_limiter: RateLimiter,
    /// Per-IP limit of phone challenges started by the login page.
    pub(crate) browser_limiter: RateLimiter,
    /// The attestation policy (ADR 0001).
    pub(crate) attestation: AttestationPolicy,
    /// Whether unattested (software) keystores may enrol: the policy's choice, else whether
    /// the public URL is on loopback.
    pub(crate) software_allowed: bool,
    /// The metrics registry (issue 19, branch ops19).
    pub(crate) metrics: Metrics,
    /// The FCM and APNs delivery, if configured (issue 20).
    pub(crate) delivery: Option<Dispatcher>,
    /// Its worker, until `start` runs it.
    pub(crate) delivery_worker: Mutex<Option<Worker>>,
}

impl Shared {
    /// Checks `config`, opens its database (creating the keys on first start) and builds the
    /// state, with `issuer` as the public base URL. Blocks (start-up).
    pub(crate) fn open(
        config: ServerConfig,
        issuer: String,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Arc<Self>, ServerError> {
        config.validate()?;
        let store = Store::open(&config.database()?)?;
        let (kek_file, create) = config.kek_file();
        let keys = Keyring::open(&store, Kek::load_or_create(&kek_file, create)?)?;
        let attestation = match &config.attestation_policy {
            Some(path) => {
                AttestationPolicy::load(path).map_err(|e| ServerError::Config(e.to_string()))?
            }
            None => AttestationPolicy::default(),
        };
        let software_allowed = attestation.software_allowed(is_loopback_url(&issuer));
        let clock = config.clock.shared();
        let (delivery, delivery_worker) = match &config.push_delivery {
            Some(p) => {
                let (d, w) = Dispatcher::new(p, store.clone(), Arc::clone(&clock))
                    .map_err(|e| ServerError::Config(e.to_string()))?;
                (Some(d), Some(w))
            }
            None => (None, None),
        };
        Ok(Arc::new(Self {
            delivery,
            delivery_worker: Mutex::new(delivery_worker),
            attestation,
            software_allowed,
            ciba_limiter: RateLimiter::new(config.ciba_per_client_per_min, 60),
            enrol_limiter: RateLimiter::new(config.enrol_per_ip_per_min, 60),
            browser_limiter: RateLimiter::new(config.browser_login_per_ip_per_min, 60),
            clients: ClientCache::new(Duration::from_secs(config.client_cache_secs)),
            clock: config.clock.shared(),
            store,
            config,
            keys,
            issuer,
            notifier: Arc::new(LongPollNotifier::default()),
            answers: Waiters::default(),
            shutdown,
            metrics: Metrics::new(),
        }))
    }

    /// Re-reads the attestation revocation list now: its entry count, `None` when no list is
    /// configured. On failure the old list stays in force. Blocks (file I/O).
    pub(crate) fn reload_revocations(
        &self,
    ) -> Result<Option<usize>, crate::attestation::AttestationError> {
        self.attestation
            .revocations()
            .map(|source| source.reload())
            .transpose()
    }

    /// Tells the long-poll, the push delivery and the optional push channel that a
    /// challenge (expiring at `expires_at`) was queued. Never waits.
    pub(crate) fn wake(&self, device_id: &str, challenge_id: &str, expires_at: i64) {
        self.notifier.notify(device_id, challenge_id);
        if let Some(d) = &self.delivery {
            d.notify_until(device_id, challenge_id, expires_at);
        }
        if let Some(push) = &self.config.push {
            push.notify_until(device_id, challenge_id, expires_at);
        }
    }

    /// Tells the login pages waiting for request `request_id` that it was answered.
    pub(crate) fn answered(&self, request_id: &str) {
        self.answers.wake(request_id);
    }

    /// Wakes this instance's long-polls for a wake-up heard from the database (a write on
    /// any instance): only the long-polls, the originating instance sent the pushes.
    fn heard(&self, w: Wakeup) {
        let event = match w {
            Wakeup::Device(device_id) => {
                self.notifier.wake_device(&device_id);
                "device"
            }
            Wakeup::Request(request_id) => {
                self.answers.wake(&request_id);
                "request"
            }
            Wakeup::Resync => {
                self.notifier.wake_all();
                self.answers.wake_all();
                "connected"
            }
        };
        self.metrics
            .wake_listener
            .get_or_create(&[("event", event)])
            .inc();
    }
}

/// Hears the wake-ups of every instance on the database (PostgreSQL) and wakes this
/// instance's long-polls, until aborted; the listener reconnects by itself, and each time
/// it starts listening every long-poll re-reads its state.
pub(crate) async fn wake_loop(s: Arc<Shared>, listener: WakeListener) {
    listener.run(move |w| s.heard(w)).await;
}

impl ServerConfig {
    /// **Tests only**: when the environment variable [`crate::config::TEST_DATABASE_ENV`] names a
    /// PostgreSQL server, moves this configuration there: to a schema of its own, named after
    /// [`Self::db_path`] (so a test that reopens the same path finds its data again, and two
    /// tests never share tables), with the key-encryption key file beside `db_path` (created
    /// if absent). Without the variable, or with [`ServerConfig::database_url`] already set,
    /// nothing changes. Blocks.
    pub fn use_test_database(&mut self) -> Result<(), ServerError> {
        let Ok(base) = std::env::var(crate::config::TEST_DATABASE_ENV) else {
            return Ok(());
        };
        // A configuration that names its database keeps it (a test of the SQLite file).
        if base.is_empty() || self.database_url.is_some() {
            return Ok(());
        }
        self.use_postgres_schema(&base)
    }

    /// **Tests and benches only**: moves this configuration to a schema of its own on the
    /// PostgreSQL server of `base_url` (see [`ServerConfig::use_test_database`]). Blocks.
    pub fn use_postgres_schema(&mut self, base_url: &str) -> Result<(), ServerError> {
        let base = base_url;
        let path = std::path::absolute(&self.db_path).map_err(crate::store::StoreError::Io)?;
        let digest =
            ring::digest::digest(&ring::digest::SHA256, path.as_os_str().as_encoded_bytes());
        let name: String = std::iter::once("t_".to_owned())
            .chain(digest.as_ref()[..12].iter().map(|b| format!("{b:02x}")))
            .collect();
        self.database_url = Some(crate::store::postgres::test_schema_url(base, &name)?.into());
        if self.key_encryption_key_file.is_none() {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(crate::store::StoreError::Io)?;
            }
            let mut kek = path.into_os_string();
            kek.push(".kek");
            Kek::load_or_create(std::path::Path::new(&kek), true)?;
            self.key_encryption_key_file = Some(std::path::PathBuf::from(kek));
        }
        Ok(())
    }
}

/// Whether `url`'s host is a loopback address or `localhost` (a development or test server).
fn is_loopback_url(url: &str) -> bool {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Re-reads the attestation revocation list whenever its file changed (checked every
/// `revocation_check_secs`), until aborted; a failed read is logged, the old list stays in
/// force and the read is retried at the next tick.
pub(crate) async fn revocation_loop(s: Arc<Shared>) {
    let Some(source) = s.attestation.revocations().cloned() else {
        return;
    };
    let mut tick =
        tokio::time::interval(Duration::from_secs(s.attestation.revocation_check_secs()));
    loop {
        tick.tick().await;
        let source = Arc::clone(&source);
        match tokio::task::spawn_blocking(move || source.reload_if_changed()).await {
            Ok(Ok(Some(n))) => tracing::info!(entries = n, "attestation revocation list reloaded"),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "attestation revocation list not reloaded"),
            Err(_) => tracing::warn!("attestation revocation list reload task failed"),
        }
    }
}

/// Re-reads the signing keys every `keyring::RELOAD_SECS` (a rotation by the admin command
/// or another instance), until aborted; a failure is logged and the keys in force stay.
pub(crate) async fn keys_loop(s: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(crate::keyring::RELOAD_SECS));
    loop {
        tick.tick().await;
        if let Err(e) = s.keys.reload(&s.store).await {
            tracing::warn!(error = %e, "signing keys not reloaded");
        }
    }
}

/// Client records read from the database, each reused for a bounded time.
pub(crate) struct ClientCache {
    ttl: Duration,
    records: RwLock<HashMap<String, (Instant, Arc<ClientRecord>)>>,
}

impl ClientCache {
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            records: RwLock::new(HashMap::new()),
        }
    }

    /// The cached record of `client_id`, if it was read less than the cache time ago.
    pub(crate) fn fresh(&self, client_id: &str) -> Option<Arc<ClientRecord>> {
        let map = self.records.read().unwrap_or_else(|p| p.into_inner());
        map.get(client_id)
            .filter(|(read, _)| read.elapsed() < self.ttl)
            .map(|(_, r)| Arc::clone(r))
    }

    /// Keeps `record` (just read from the database); nothing is kept when the cache time is 0.
    pub(crate) fn keep(&self, record: Arc<ClientRecord>) {
        if self.ttl.is_zero() {
            return;
        }
        self.records
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(record.client_id.clone(), (Instant::now(), record));
    }

    /// Drops the cached record of `client_id`.
    pub(crate) fn forget(&self, client_id: &str) {
        self.records
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(client_id);
    }
}
