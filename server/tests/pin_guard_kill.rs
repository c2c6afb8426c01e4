// SPDX-License-Identifier: Apache-2.0
//! A kill -9 of the server between the guess counter's commit and the answer still counts
//! the guess (issue 18).
//!
//! The server binary runs as a child process with the test-only hold
//! (`VISTALID_TEST_HOLD_AFTER_GUESS_MS`, see `ServerConfig::test_hold_after_guess_ms`): after
//! committing a counted guess it prints `test hold: PIN guess counted` on stderr and waits.
//! The test sends a guess, waits for that line, SIGKILLs the child, then starts the server
//! again on the same database: the guess is counted, though no answer ever left the server.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::guarded::{element, enrol_guarded, jti};
use common::read;
use vistalid_core::protocol::{PinGuessResponse, PATH_PIN_GUESS};
use vistalid_server::{open_admin, ServerConfig};

const RPPS: &str = "10007654321";

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("time")
            .as_secs(),
    )
    .expect("i64")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Starts the server binary on `db` and `port`, with the hold when `hold_ms` is given.
fn spawn(db: &Path, port: u16, hold_ms: Option<u64>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vistalid-server"));
    cmd.args(["--db"])
        .arg(db)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env_remove("VISTALID_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(ms) = hold_ms {
        cmd.env("VISTALID_TEST_HOLD_AFTER_GUESS_MS", ms.to_string());
    }
    cmd.spawn().expect("start the server binary")
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(format!("{base}/openapi.json")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "the server never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn guesses_left(db: &Path) -> Option<u32> {
    let admin = open_admin(ServerConfig::new(db)).expect("admin");
    admin.list_devices(RPPS).expect("devices")[0].guesses_left
}

#[tokio::test]
async fn a_kill_between_the_count_and_the_answer_still_counts_the_guess() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("server.sqlite");
    let code = open_admin(ServerConfig::new(&db))
        .expect("admin")
        .add_practitioner(RPPS, "Jeanne", "Martin", "10")
        .expect("account")
        .to_string();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    let mut child = spawn(&db, port, Some(60_000));
    wait_ready(&http, &base).await;
    let g = enrol_guarded(&http, &base, &code, now()).await;
    assert_eq!(guesses_left(&db), Some(10));

    // The guess, in flight while the server holds after its commit.
    let (_, e) = element();
    let body = g.guess_body(&g.claims(&e, jti(1), now()));
    let sent = {
        let http = http.clone();
        let url = format!("{base}{PATH_PIN_GUESS}");
        tokio::spawn(async move { http.post(url).json(&body).send().await })
    };
    let stderr = child.stderr.take().expect("stderr");
    let saw_hold = tokio::task::spawn_blocking(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains("test hold: PIN guess counted"))
    });
    let saw_hold = tokio::time::timeout(Duration::from_secs(60), saw_hold)
        .await
        .expect("the server reached the hold")
        .expect("reader");
    assert!(saw_hold, "the server printed the hold line");
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let answer = sent.await.expect("task");
    assert!(
        answer.is_err(),
        "no answer left the killed server: {answer:?}"
    );

    // The count survived the kill.
    assert_eq!(guesses_left(&db), Some(9), "the killed guess is counted");
    let mut child = spawn(&db, port, None);
    wait_ready(&http, &base).await;
    let (_, e) = element();
    let r: PinGuessResponse = read(
        http.post(format!("{base}{PATH_PIN_GUESS}"))
            .json(&g.guess_body(&g.claims(&e, jti(2), now())))
            .send()
            .await
            .expect("guess"),
    )
    .await
    .expect("the next guess");
    assert_eq!(r.guesses_left, 8);
    child.kill().expect("stop");
    child.wait().expect("reaped");
}
