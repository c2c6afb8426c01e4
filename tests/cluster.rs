// SPDX-License-Identifier: Apache-2.0
//! The end-to-end suite through a cluster (issue 19): with `VL_TEST_CLUSTER=1` and
//! `VL_TEST_DATABASE_URL` (scripts/test.sh's cluster suite), every [`crate::Env`] runs
//! [`INSTANCES`] server instances in the test's process on one PostgreSQL schema, sharing the
//! test's configuration and clock, behind a real HAProxy (Debian's `haproxy`) configured by
//! `scripts/cluster.sh haproxy-config`; [`crate::Env::url`] is HAProxy's address, so every
//! request of a test is spread round-robin over the instances.
//!
//! Guarantees: [`Front::start`] returns only once HAProxy answers `/ready` with 200 through
//! its front; dropping a [`Front`] kills its HAProxy process (no process outlives the test);
//! [`enabled`] panics when the cluster is asked for without a PostgreSQL database, rather
//! than running the suite on one instance and passing for the wrong reason.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable asking for the cluster (`1`); unset or anything else: one
/// instance, as before.
pub const CLUSTER_ENV: &str = "VL_TEST_CLUSTER";

/// Instances behind HAProxy in cluster mode.
pub const INSTANCES: usize = 3;

/// HAProxy's health-check interval in the tests, in milliseconds (the script's default is
/// 1000): a stopped instance is taken out within about two of them.
const CHECK_MS: &str = "200";

/// Whether the suite runs through the cluster. Panics when `VL_TEST_CLUSTER=1` is set without
/// `VL_TEST_DATABASE_URL` (the instances share a PostgreSQL database).
pub fn enabled() -> bool {
    if std::env::var(CLUSTER_ENV).as_deref() != Ok("1") {
        return false;
    }
    assert!(
        std::env::var(vistalid_server::TEST_DATABASE_ENV).is_ok_and(|v| !v.is_empty()),
        "{CLUSTER_ENV}=1 needs {} (the instances share a PostgreSQL database)",
        vistalid_server::TEST_DATABASE_ENV
    );
    true
}

/// A free loopback port, for HAProxy's front (chosen before the instances start: it is their
/// issuer).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("a free port");
    l.local_addr().expect("bound").port()
}

/// The repository's `scripts/cluster.sh`.
pub fn cluster_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/cluster.sh")
}

/// A running HAProxy in front of the instances; killed when dropped.
pub struct Front {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Front {
    /// Starts HAProxy on `127.0.0.1:port` in front of `backends`, with the configuration of
    /// `scripts/cluster.sh`, and waits until it answers `/ready`.
    pub async fn start(port: u16, backends: &[SocketAddr]) -> Front {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new(cluster_script())
            .arg("haproxy-config")
            .arg(dir.path())
            .arg(port.to_string())
            .args(backends.iter().map(|a| a.port().to_string()))
            .env("VL_CLUSTER_CHECK_MS", CHECK_MS)
            .output()
            .expect("scripts/cluster.sh haproxy-config");
        assert!(out.status.success(), "haproxy-config: {out:?}");
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(&cfg, &out.stdout).expect("haproxy.cfg");
        let log = std::fs::File::create(dir.path().join("haproxy.log")).expect("haproxy.log");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("haproxy (scripts/install.sh installs Debian's haproxy)");
        let mut front = Front {
            child,
            port,
            _dir: dir,
        };
        front.wait_ready().await;
        front
    }

    /// HAProxy's base URL (`http://127.0.0.1:port`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port HAProxy listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("haproxy status") {
                panic!("haproxy exited: {status}");
            }
            let ready = http
                .get(format!("{}/ready", self.url()))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "haproxy not ready in 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
