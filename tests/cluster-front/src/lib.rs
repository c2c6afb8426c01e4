// SPDX-License-Identifier: Apache-2.0
//! HAProxy in front of server instances on loopback (issue 19), for the end-to-end suite's
//! cluster mode and the load bench's cluster leg: one way to start it, with the
//! configuration `scripts/cluster.sh haproxy-config` writes (the one the operators' page
//! documents), so the tests and the bench measure the layout operators run.
//!
//! Guarantees: [`Front::start`] returns only once HAProxy answers `/ready` with 200 through
//! its front (it panics, saying why, if HAProxy exits or is not ready within 20 s);
//! dropping a [`Front`] kills its HAProxy process and waits for it (no process outlives
//! the test or the bench).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long [`Front::start`] waits for HAProxy's `/ready`.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// A free loopback port (for HAProxy's front, chosen before the instances start when it is
/// their issuer).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("a free port");
    l.local_addr().expect("bound").port()
}

/// `scripts/NAME` of this checkout.
pub fn repo_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name)
}

/// A running HAProxy in front of server instances; killed when dropped.
pub struct Front {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Front {
    /// Starts HAProxy on `127.0.0.1:port` in front of the instances at `backends`, with
    /// `scripts/cluster.sh`'s configuration (its health checks every `check_ms`
    /// milliseconds, or the script's default), and waits until it answers `/ready`.
    pub async fn start(port: u16, backends: &[SocketAddr], check_ms: Option<u32>) -> Front {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Command::new(repo_script("cluster.sh"));
        config
            .arg("haproxy-config")
            .arg(dir.path())
            .arg(port.to_string())
            .args(backends.iter().map(|a| a.port().to_string()));
        if let Some(ms) = check_ms {
            config.env("VL_CLUSTER_CHECK_MS", ms.to_string());
        }
        let out = config.output().expect("scripts/cluster.sh haproxy-config");
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

    /// HAProxy's process id (the bench counts its CPU).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let ready = format!("{}/ready", self.url());
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(status) = self.child.try_wait().expect("haproxy status") {
                panic!("haproxy exited: {status}");
            }
            let answered = http
                .get(&ready)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if answered {
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
