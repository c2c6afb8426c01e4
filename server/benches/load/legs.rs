// SPDX-License-Identifier: Apache-2.0
//! The bench's legs (issue 19): each leg is one deployment the same flows run against, in
//! the same run, round after round (A B A B), so a noisy machine's drift hits every leg
//! alike and the legs' ratios can be read.
//!
//! A leg is generic: what the flows see of it is an [`Endpoint`] (a base URL, the
//! `/metrics` URLs of its instances, the processes whose CPU counts to it) and its
//! [`Database`] (how to reach and fill it; the bench's clients and wallets are made there
//! once, at its first start). A leg is started before its turn and stopped after it, so a
//! leg waiting for its turn costs the measured one nothing (a retention working a backlog
//! off, say).
//!
//! Leg names (`VL_BENCH_BACKENDS`): `sqlite`, `postgres` (one instance in this process),
//! `cluster` ([`CLUSTER_INSTANCES`] instances in this process on one PostgreSQL schema,
//! behind Debian's HAProxy with the configuration of `scripts/cluster.sh haproxy-config`,
//! the one the cluster's operators page documents: the flows go through HAProxy, which
//! spreads them round-robin), and the same on a database that already holds
//! `VL_BENCH_OLD_LOGINS` old logins: `sqlite-old`, `postgres-old`, `cluster-old`, with the
//! retention as in production, or `sqlite-old-idle`, `postgres-old-idle`,
//! `cluster-old-idle` with the retention idle (one batch per table when the leg starts).
//! The `-old` legs of a backend and deployment share one database.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use vistalid_cluster_front::{free_port, repo_script, Front};
use vistalid_server::{RunningServer, ServerConfig};

use super::Pair;

/// Which store a leg's server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A schema of its own on the bench's PostgreSQL server.
    Postgres,
}

/// How a leg's instances run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Deployment {
    /// One server in this process, on the server runtime.
    InProcess,
    /// [`CLUSTER_INSTANCES`] servers in this process, on the server runtime, behind HAProxy.
    Cluster,
}

/// Instances of a `cluster` leg (as `scripts/cluster.sh` and the end-to-end cluster suite).
pub(super) const CLUSTER_INSTANCES: usize = 3;

/// One leg, as named in `VL_BENCH_BACKENDS`.
#[derive(Debug, Clone)]
pub(super) struct LegSpec {
    /// Its name in the report.
    pub(super) name: String,
    /// The store.
    pub(super) backend: Backend,
    /// How it runs.
    pub(super) deployment: Deployment,
    /// Whether its database holds the old logins.
    pub(super) old: bool,
    /// Whether the retention stays idle while it is measured.
    pub(super) idle_retention: bool,
    /// Index of its database in the run's list.
    pub(super) db: usize,
}

/// Parses `VL_BENCH_BACKENDS` (see the module doc); `idle` is `VL_BENCH_RETENTION=idle`,
/// which makes every `-old` leg idle.
pub(super) fn parse(list: &str, idle: bool) -> Vec<LegSpec> {
    let mut keys: Vec<(Backend, Deployment, bool)> = Vec::new();
    list.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|name| {
            let (backend, deployment, rest) = if let Some(r) = name.strip_prefix("sqlite") {
                (Backend::Sqlite, Deployment::InProcess, r)
            } else if let Some(r) = name.strip_prefix("postgres") {
                (Backend::Postgres, Deployment::InProcess, r)
            } else if let Some(r) = name.strip_prefix("cluster") {
                (Backend::Postgres, Deployment::Cluster, r)
            } else {
                panic!("VL_BENCH_BACKENDS: unknown leg {name}");
            };
            let (old, idle_retention) = match rest {
                "" => (false, false),
                "-old" => (true, idle),
                "-old-idle" => (true, true),
                _ => panic!("VL_BENCH_BACKENDS: unknown leg {name}"),
            };
            let key = (backend, deployment, old);
            let db = keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                keys.push(key);
                keys.len() - 1
            });
            LegSpec {
                name: name.to_owned(),
                backend,
                deployment,
                old,
                idle_retention,
                db,
            }
        })
        .collect()
}

/// The bench's clients and enrolled wallets on one database.
pub(super) struct Setup {
    /// The CIBA client's id and secret.
    pub(super) ciba: (String, String),
    /// The browser client's id and secret.
    pub(super) browser: (String, String),
    /// The enrolled phones and their accounts.
    pub(super) pairs: Vec<Arc<Pair>>,
}

/// One database of the run.
pub(super) struct Database {
    /// The store.
    pub(super) backend: Backend,
    /// The server configuration naming it (the bench's limits applied).
    pub(super) config: ServerConfig,
    /// The SQLite file.
    pub(super) path: PathBuf,
    /// The PostgreSQL URL of its schema.
    pub(super) pg_url: Option<String>,
    /// Old logins it held when the run began.
    pub(super) old_logins: u64,
    /// Made at its first start.
    pub(super) setup: Option<Setup>,
}

/// What the flows and the report see of a started leg.
pub(super) struct Endpoint {
    /// The base URL the relying parties, browsers and wallets talk to.
    pub(super) base: String,
    /// `/metrics` of every instance (the store's and retention's figures are summed).
    pub(super) metrics: Vec<String>,
    /// The database server whose processes' CPU counts to the leg.
    pub(super) db: DbProcesses,
    /// The load balancer's process (HAProxy), whose CPU counts to the leg.
    pub(super) proxy: Option<u32>,
}

/// A leg's database server processes.
pub(super) enum DbProcesses {
    /// In this process (SQLite): counted with the server's threads.
    InProcess,
    /// PostgreSQL at this URL, on this machine.
    Postgres(String),
}

impl DbProcesses {
    /// The process ids now (PostgreSQL: the postmaster and its children, so the pool's
    /// backends made since the leg started are in).
    pub(super) fn pids(&self) -> Vec<u32> {
        match self {
            Self::InProcess => Vec::new(),
            Self::Postgres(url) => postgres_pids(url),
        }
    }
}

/// A started leg.
pub(super) enum Started {
    /// An in-process server.
    InProcess(RunningServer),
    /// In-process servers behind HAProxy.
    Cluster(Vec<RunningServer>, Front),
}

/// The server configuration of `leg` on `db`: the retention as the leg says, an admin
/// listener for `/metrics`.
fn leg_config(leg: &LegSpec, db: &Database) -> ServerConfig {
    let mut config = db.config.clone();
    if leg.idle_retention {
        // The rows stay while measuring (one batch per table at start, the next run in an
        // hour): what holding them costs, apart from working them off.
        config.retention_batches_per_run = 1;
        config.retention_interval_secs = 3600;
    }
    config.metrics_bind = Some("127.0.0.1:0".parse().expect("address"));
    config
}

/// The leg's database processes, for its CPU.
fn db_processes(db: &Database) -> DbProcesses {
    match &db.pg_url {
        Some(url) => DbProcesses::Postgres(url.clone()),
        None => DbProcesses::InProcess,
    }
}

impl Started {
    /// Starts `leg` on `db` (blocks on `rt`, the server runtime).
    pub(super) fn start(
        leg: &LegSpec,
        db: &Database,
        rt: &tokio::runtime::Runtime,
    ) -> (Self, Endpoint) {
        let mut config = leg_config(leg, db);
        match leg.deployment {
            Deployment::InProcess => {
                let server = rt.block_on(vistalid_server::start(config)).expect("server");
                let endpoint = Endpoint {
                    base: server.base_url().to_owned(),
                    metrics: vec![metrics_url(&server)],
                    db: db_processes(db),
                    proxy: None,
                };
                (Self::InProcess(server), endpoint)
            }
            Deployment::Cluster => {
                // HAProxy's port first: it is every instance's issuer (tokens and discovery
                // name the front, whichever instance answers), as in scripts/cluster.sh.
                let port = free_port();
                config.issuer = Some(format!("http://127.0.0.1:{port}"));
                // HAProxy names each request; every connection comes from its address.
                config.request_id_header = Some("x-request-id".into());
                config.max_connections_per_ip = config.max_connections;
                let servers: Vec<RunningServer> = (0..CLUSTER_INSTANCES)
                    .map(|_| {
                        rt.block_on(vistalid_server::start(config.clone()))
                            .expect("instance")
                    })
                    .collect();
                let addrs: Vec<SocketAddr> = servers.iter().map(RunningServer::addr).collect();
                let front = rt.block_on(Front::start(port, &addrs, None));
                let endpoint = Endpoint {
                    base: front.url(),
                    metrics: servers.iter().map(metrics_url).collect(),
                    db: db_processes(db),
                    proxy: Some(front.pid()),
                };
                (Self::Cluster(servers, front), endpoint)
            }
        }
    }

    /// An admin handle on the leg's database.
    pub(super) fn admin(&self) -> vistalid_server::Admin {
        match self {
            Self::InProcess(s) => s.admin(),
            Self::Cluster(s, _) => s[0].admin(),
        }
    }

    /// Stops the leg (blocks on `rt`).
    pub(super) fn stop(self, rt: &tokio::runtime::Runtime) {
        match self {
            Self::InProcess(s) => rt.block_on(s.shutdown()),
            Self::Cluster(servers, front) => {
                drop(front);
                for s in servers {
                    rt.block_on(s.shutdown());
                }
            }
        }
    }
}

/// `/metrics` of `server`'s admin listener.
fn metrics_url(server: &RunningServer) -> String {
    let admin = server.admin_addr().expect("admin listener");
    format!("http://{admin}/metrics")
}

/// The bench's PostgreSQL server: `VL_BENCH_DATABASE_URL`, or one started with
/// `scripts/pg.sh` (its state in `dir`) and stopped at the end.
pub(super) struct PgServer {
    /// Its URL.
    pub(super) url: String,
    /// The state file of the server `scripts/pg.sh` started, if it did.
    started: Option<PathBuf>,
}

impl PgServer {
    /// `VL_BENCH_DATABASE_URL` if set, else a throwaway server from `scripts/pg.sh`.
    pub(super) fn from_env_or_start(dir: &std::path::Path) -> Self {
        if let Ok(url) = std::env::var("VL_BENCH_DATABASE_URL") {
            return Self { url, started: None };
        }
        let state = dir.join("pg.state");
        let out = Command::new(repo_script("pg.sh"))
            .arg("start")
            .env("VL_PG_STATE", &state)
            .output()
            .expect("scripts/pg.sh");
        assert!(
            out.status.success(),
            "scripts/pg.sh start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        eprintln!("PostgreSQL started by scripts/pg.sh: {url}");
        Self {
            url,
            started: Some(state),
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Some(state) = &self.started {
            let _ = Command::new(repo_script("pg.sh"))
                .arg("stop")
                .env("VL_PG_STATE", state)
                .status();
        }
    }
}

/// The PostgreSQL server's processes behind `url` when it runs on this machine: the
/// postmaster (the parent of this connection's backend) and its children. Empty when they
/// cannot be read.
fn postgres_pids(url: &str) -> Vec<u32> {
    let backend: Option<i32> = with_client(url, |c| async move {
        c.query_one("SELECT pg_backend_pid()", &[])
            .await
            .ok()
            .map(|r| r.get(0))
    });
    let Some(postmaster) = backend.and_then(|b| u32::try_from(b).ok()).and_then(parent) else {
        return Vec::new();
    };
    let mut pids = vec![postmaster];
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
                if parent(pid) == Some(postmaster) {
                    pids.push(pid);
                }
            }
        }
    }
    pids
}

/// The parent process id of `pid` (Linux).
fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `f` with a connection to `url` on a runtime of its own (a thread of its own, so it
/// works inside or outside another runtime).
pub(super) fn with_client<T, F, Fu>(url: &str, f: F) -> T
where
    T: Send,
    F: FnOnce(tokio_postgres::Client) -> Fu + Send,
    Fu: std::future::Future<Output = T>,
{
    let url = url.to_owned();
    std::thread::scope(|s| {
        s.spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .expect("connect to PostgreSQL");
                let task = tokio::spawn(conn);
                let out = f(client).await;
                task.abort();
                out
            })
        })
        .join()
        .expect("PostgreSQL thread")
    })
}
