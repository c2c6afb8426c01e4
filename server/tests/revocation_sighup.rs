// SPDX-License-Identifier: Apache-2.0
//! The `vistalid-server serve` binary re-reads the attestation revocation list on SIGHUP
//! (issue 17: refreshed without a restart) and says so in its log; a list that no longer
//! parses is reported and the server keeps serving. The file's modification-time check is set
//! to an hour so only the signal can explain the reload. (What a reloaded list refuses is
//! checked in-process: `attestation_flows.rs`, `attestation_policy.rs`.)
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

struct Server {
    child: Child,
    log: Receiver<String>,
}

impl Server {
    fn start(config: &std::path::Path, db: &std::path::Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vistalid-server"))
            .args(["--config", config.to_str().expect("utf8"), "serve"])
            .env("VISTALID_DB", db)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary runs");
        let (tx, log) = channel();
        for pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Server { child, log }
    }

    /// The next log line containing `needle` (lines before it are dropped).
    fn wait_for(&self, needle: &str) -> String {
        loop {
            match self.log.recv_timeout(Duration::from_secs(30)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no log line with {needle:?}: {e}"),
            }
        }
    }

    fn hangup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn list(serials: &[&str]) -> String {
    let entries: Vec<String> = serials
        .iter()
        .map(|s| format!(r#""{s}": {{"status": "REVOKED", "reason": "KEY_COMPROMISE"}}"#))
        .collect();
    format!(r#"{{"entries": {{{}}}}}"#, entries.join(", "))
}

#[test]
fn sighup_reloads_the_revocation_list_and_a_broken_one_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let revocations = dir.path().join("revocations.json");
    std::fs::write(&revocations, list(&["c35747a084470c3135aeefe2b8d40cd6"])).expect("write");
    std::fs::write(
        dir.path().join("policy.json"),
        r#"{"revocation_list": "revocations.json", "revocation_check_secs": 3600}"#,
    )
    .expect("write");
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"bind": "127.0.0.1:0", "attestation_policy": "policy.json"}"#,
    )
    .expect("write");
    let server = Server::start(&config, &dir.path().join("db.sqlite"));
    server.wait_for("listening on");

    std::fs::write(&revocations, list(&["1", "2a", "ff01"])).expect("write");
    server.hangup();
    let line = server.wait_for("SIGHUP");
    assert!(
        line.contains("revocation list reloaded") && line.contains("entries=3"),
        "{line}"
    );

    std::fs::write(&revocations, "{\"entries\": ").expect("write");
    server.hangup();
    let line = server.wait_for("SIGHUP");
    assert!(line.contains("not reloaded"), "{line}");

    // Still serving, and a repaired list is read on the next signal.
    std::fs::write(&revocations, list(&["1"])).expect("write");
    server.hangup();
    let line = server.wait_for("SIGHUP");
    assert!(line.contains("entries=1"), "{line}");
}
