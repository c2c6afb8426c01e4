// SPDX-License-Identifier: Apache-2.0
//! Shared helpers for the end-to-end tests: a reference server on an ephemeral loopback port
//! with a temporary SQLite file, a relying party speaking CIBA to it, and wallets with fast
//! (test-only) Argon2 parameters and an in-memory keystore. With `VL_TEST_CLUSTER=1` (and
//! `VL_TEST_DATABASE_URL`) the server is 3 instances behind a real HAProxy ([`cluster`]).
#![allow(clippy::unwrap_used, missing_docs)]

pub mod cluster;

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use vistalid_core::keystore::MemoryKeystore;
use vistalid_core::protocol::{CibaResponse, CodeMode};
use vistalid_core::vault::{Argon2Params, VaultConfig};
use vistalid_core::wallet::{Wallet, WalletConfig};
use vistalid_server::relying_party as rp;
use vistalid_server::{RunningServer, ServerConfig};

/// A running reference server with its data directory. In cluster mode ([`cluster`]),
/// `server` is the first of the instances (its `admin()` writes the shared database),
/// `others` the rest, and `front` the HAProxy that [`Env::url`] names.
pub struct Env {
    pub server: RunningServer,
    pub data: tempfile::TempDir,
    pub others: Vec<RunningServer>,
    front: Option<Cluster>,
}

/// What a cluster needs to start again: the shared configuration and HAProxy.
struct Cluster {
    config: ServerConfig,
    front: cluster::Front,
}

impl Env {
    pub async fn start() -> Env {
        Self::start_with(|_, _| {}).await
    }

    /// Starts a server whose configuration `tweak` may change (it gets the data folder too,
    /// for files such as an attestation policy).
    pub async fn start_with(tweak: impl FnOnce(&mut ServerConfig, &std::path::Path)) -> Env {
        let data = tempfile::tempdir().unwrap();
        let mut config = test_config(data.path(), None);
        tweak(&mut config, data.path());
        if cluster::enabled() {
            return Self::start_cluster(config, data).await;
        }
        Self::one(config, data).await
    }

    /// As [`Env::start_with`], but one instance even in cluster mode: for the tests that count
    /// what one process keeps to itself (the push providers' access and provider tokens,
    /// which each instance fetches and renews on its own).
    pub async fn start_one_with(tweak: impl FnOnce(&mut ServerConfig, &std::path::Path)) -> Env {
        let data = tempfile::tempdir().unwrap();
        let mut config = test_config(data.path(), None);
        tweak(&mut config, data.path());
        Self::one(config, data).await
    }

    async fn one(config: ServerConfig, data: tempfile::TempDir) -> Env {
        let server = vistalid_server::start(config).await.unwrap();
        Env {
            server,
            data,
            others: Vec::new(),
            front: None,
        }
    }

    /// The cluster of `config`: [`cluster::INSTANCES`] instances on its database (one schema,
    /// one key-encryption key file, one clock), each on a free port, then HAProxy on a port
    /// chosen first (the instances' common issuer).
    async fn start_cluster(mut config: ServerConfig, data: tempfile::TempDir) -> Env {
        let port = cluster::free_port();
        if config.issuer.is_none() {
            config.issuer = Some(format!("http://127.0.0.1:{port}"));
        }
        // An admin change made through `server.admin()` must hold on every instance at once,
        // as it does on one: no instance keeps a client record it read before.
        config.client_cache_secs = 0;
        // Every connection comes from HAProxy's address, which names each request
        // (docs/operations.md, the cluster).
        config.max_connections_per_ip = config.max_connections;
        config.request_id_header = Some("x-request-id".into());
        let instances = start_instances(&config, None).await;
        let addrs: Vec<_> = instances.iter().map(RunningServer::addr).collect();
        Self::behind_front(config, data, instances, port, &addrs).await
    }

    /// HAProxy on `port` in front of `instances` (at `addrs`), the first of them as
    /// [`Env::server`].
    async fn behind_front(
        config: ServerConfig,
        data: tempfile::TempDir,
        mut instances: Vec<RunningServer>,
        port: u16,
        addrs: &[std::net::SocketAddr],
    ) -> Env {
        let front = cluster::front(port, addrs).await;
        let server = instances.remove(0);
        Env {
            server,
            data,
            others: instances,
            front: Some(Cluster { config, front }),
        }
    }

    /// Stops the server and starts a new one on the same SQLite file. In cluster mode: stops
    /// every instance and HAProxy, then starts them again on the same addresses and the same
    /// configuration (clock included).
    pub async fn restart(self) -> Env {
        let Env {
            server,
            data,
            others,
            front,
        } = self;
        let addrs: Vec<_> = std::iter::once(&server)
            .chain(&others)
            .map(RunningServer::addr)
            .collect();
        server.shutdown().await;
        for s in others {
            s.shutdown().await;
        }
        let Some(Cluster { config, front }) = front else {
            let server = start_server_at(data.path(), Some(addrs[0])).await;
            return Env {
                server,
                data,
                others: Vec::new(),
                front: None,
            };
        };
        let port = front.port();
        drop(front);
        let instances = start_instances(&config, Some(&addrs)).await;
        Self::behind_front(config, data, instances, port, &addrs).await
    }

    /// The server's base URL: HAProxy's in cluster mode.
    pub fn url(&self) -> String {
        match &self.front {
            Some(c) => c.front.url(),
            None => self.server.base_url().to_owned(),
        }
    }

    /// Every instance: the server, then the others (one outside cluster mode).
    pub fn instances(&self) -> impl Iterator<Item = &RunningServer> {
        std::iter::once(&self.server).chain(&self.others)
    }

    /// The push delivery's counts summed over the instances (each instance pushes the
    /// challenges it queued); `None` without a push provider.
    pub fn push_counts(&self) -> Option<vistalid_server::PushCounts> {
        let mut all = self.instances().map(RunningServer::push_counts);
        let mut sum = all.next()??;
        for c in all.flatten() {
            sum.queued += c.queued;
            sum.dropped += c.dropped;
            sum.skipped += c.skipped;
            sum.delivered += c.delivered;
            sum.retried += c.retried;
            sum.unregistered += c.unregistered;
            sum.rejected += c.rejected;
            sum.gave_up += c.gave_up;
        }
        Some(sum)
    }

    /// Rotates a signing key through the server's admin (see `Admin::rotate_key`), then has
    /// the other instances re-read the keys, as their timer would during the
    /// pre-publication (which a manual clock skips).
    pub async fn rotate_key(
        &self,
        purpose: vistalid_server::KeyPurpose,
        prepublish_secs: i64,
    ) -> vistalid_server::KeyRotation {
        let r = self
            .server
            .admin()
            .rotate_key(purpose, prepublish_secs)
            .unwrap();
        for other in &self.others {
            other.reload_keys().await.unwrap();
        }
        r
    }

    /// Adds a relying party and returns it.
    pub fn relying_party(&self, mode: CodeMode) -> RelyingParty {
        self.register(
            "Dossier Médical Partagé",
            vistalid_server::ClientOptions::new(mode),
        )
    }

    /// Adds a relying party registered with a QR `audience` (the name its users' QR codes are
    /// addressed to) and returns it.
    pub fn relying_party_for(&self, mode: CodeMode, audience: &str) -> RelyingParty {
        self.register(
            "Cabinet",
            vistalid_server::ClientOptions::new(mode).audience(audience),
        )
    }

    fn register(&self, name: &str, options: vistalid_server::ClientOptions) -> RelyingParty {
        let (id, secret) = self.server.admin().add_client_with(name, &options).unwrap();
        RelyingParty {
            base: self.url(),
            id,
            secret: secret.to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// Adds an insured citizen and returns the activation code.
    pub fn insured(&self, id: &str) -> String {
        self.server
            .admin()
            .add_insured(id, "Léa", "Bernard")
            .unwrap()
            .to_string()
    }

    /// Adds a practitioner and returns the activation code.
    pub fn practitioner(&self, rpps: &str) -> String {
        self.server
            .admin()
            .add_practitioner(rpps, "Camille", "Martin", "10")
            .unwrap()
            .to_string()
    }
}

/// The instances of a cluster on `config`, on `addrs` when given (a restart), else on free
/// ports.
async fn start_instances(
    config: &ServerConfig,
    addrs: Option<&[std::net::SocketAddr]>,
) -> Vec<RunningServer> {
    let mut out = Vec::with_capacity(cluster::INSTANCES);
    for i in 0..cluster::INSTANCES {
        let mut c = config.clone();
        if let Some(addrs) = addrs {
            c.bind = addrs[i];
        }
        out.push(vistalid_server::start(c).await.unwrap());
    }
    out
}

async fn start_server_at(
    dir: &std::path::Path,
    addr: Option<std::net::SocketAddr>,
) -> RunningServer {
    vistalid_server::start(test_config(dir, addr))
        .await
        .unwrap()
}

fn test_config(dir: &std::path::Path, addr: Option<std::net::SocketAddr>) -> ServerConfig {
    let mut config = ServerConfig::for_tests(dir);
    if let Some(addr) = addr {
        config.bind = addr;
    }
    config.poll_interval_secs = 0;
    // VL_TEST_DATABASE_URL set (scripts/test.sh's PostgreSQL suite): a schema of its own.
    config.use_test_database().expect("test database");
    config
}

/// Wallet test options: tiny Argon2, no back-off (the lockout rules are the same).
pub fn fast_config() -> WalletConfig {
    let vault = VaultConfig {
        argon2: Argon2Params::insecure_fast_for_tests(),
        backoff: false,
        ..VaultConfig::default()
    };
    WalletConfig {
        vault,
        device_name: "Pixel test".into(),
    }
}

/// A wallet in a new temporary directory with an in-memory keystore.
pub fn wallet() -> (Wallet, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let w = Wallet::open(dir.path(), Arc::new(MemoryKeystore::new()), fast_config()).unwrap();
    (w, dir)
}

/// A relying party's credentials on one server, spoken through the shared relying party
/// (`vistalid_server::relying_party`); the answers in the shapes these tests assert.
pub struct RelyingParty {
    pub base: String,
    pub id: String,
    pub secret: String,
    pub http: reqwest::Client,
}

impl RelyingParty {
    /// The shared relying party with these credentials.
    pub fn shared(&self) -> rp::RelyingParty {
        rp::RelyingParty::new(&self.base, &self.id, &self.secret).with_http(self.http.clone())
    }

    /// A CIBA request that must be accepted.
    pub async fn ciba(&self, rpps: &str, binding: &str) -> CibaResponse {
        let request = rp::CibaRequest::new(rpps).binding_message(binding);
        self.shared().ciba(&request).await.unwrap()
    }

    /// A CIBA request: the HTTP status of the answer.
    pub async fn ciba_status(&self, rpps: &str, binding: &str) -> StatusCode {
        let request = rp::CibaRequest::new(rpps).binding_message(binding);
        match self.shared().ciba(&request).await {
            Ok(_) => StatusCode::OK,
            Err(rp::RpError::Refused { status, .. }) => StatusCode::from_u16(status).unwrap(),
            Err(e) => panic!("CIBA request: {e}"),
        }
    }

    /// One token poll: the status and the JSON body.
    pub async fn token(&self, auth_req_id: &str) -> (StatusCode, Value) {
        match self.shared().token(auth_req_id).await {
            Ok(t) => (StatusCode::OK, serde_json::to_value(t).unwrap()),
            Err(rp::RpError::Refused { status, body }) => (
                StatusCode::from_u16(status).unwrap(),
                serde_json::to_value(body).unwrap(),
            ),
            Err(e) => panic!("token poll: {e}"),
        }
    }
}

/// A browser's cookies, kept by hand (the tests' browsers follow no redirects): sent with
/// every request, updated from every response's `Set-Cookie` (an empty value or `Max-Age=0`
/// deletes).
#[derive(Debug, Default)]
pub struct CookieJar(std::collections::BTreeMap<String, String>);

impl CookieJar {
    /// Sends `req` with the jar's cookies and keeps what the response sets or deletes.
    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> reqwest::Response {
        use reqwest::header::{COOKIE, SET_COOKIE};
        let jar = self
            .0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let r = req.header(COOKIE, jar).send().await.unwrap();
        for v in r.headers().get_all(SET_COOKIE) {
            let text = v.to_str().unwrap();
            let (name, value) = text.split(';').next().unwrap().split_once('=').unwrap();
            if value.is_empty() || text.to_ascii_lowercase().contains("max-age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
        r
    }

    /// Whether the jar holds cookie `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// Scan mode (issue 16): the text of the QR code in a login page's inline SVG (core's
/// renderer: one path of runs `M x y h w v1 h-w z`), drawn at 4 px per module and read by a
/// QR decoder, as a phone's camera would; `None` without a readable code.
pub fn qr_text_of_page(html: &str) -> Option<String> {
    let at = html.find("<svg")?;
    let svg = &html[at..at + html[at..].find("</svg>")?];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!("{name}=\"");
        let v = tag.find(&key)? + key.len();
        Some(tag[v..v + tag[v..].find('"')?].to_owned())
    };
    let n: usize = attr(svg, "viewBox")?.split(' ').nth(2)?.parse().ok()?;
    let d = attr(&svg[svg.find("<path")?..], "d")?;
    let scale = 4;
    let w = n.checked_mul(scale).filter(|w| *w <= 4096)?;
    let mut img = vec![255u8; w * w];
    for run in d.split('M').filter(|r| !r.is_empty()) {
        let (xy, rest) = run.split_once('h')?;
        let (x, y) = xy.split_once(' ')?;
        let (x, y): (usize, usize) = (x.parse().ok()?, y.parse().ok()?);
        let len: usize = rest.split('v').next()?.parse().ok()?;
        if (x + len) > n || y >= n {
            return None;
        }
        for yy in y * scale..(y + 1) * scale {
            img[yy * w + x * scale..yy * w + (x + len) * scale].fill(0);
        }
    }
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, w, |x, y| img[y * w + x]);
    let grids = prepared.detect_grids();
    grids.first()?.decode().ok().map(|(_, text)| text)
}
