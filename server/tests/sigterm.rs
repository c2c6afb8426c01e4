// SPDX-License-Identifier: Apache-2.0
//! The `vistalid-server serve` binary (issue 19, docs/operations.md): JSON logs whose request
//! lines carry the request id the response names, and SIGTERM answering an in-flight device
//! long-poll with "nothing yet", refusing new connections, then exiting cleanly.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use common::guarded::enrol_guarded;
use vistalid_core::protocol::PATH_CHALLENGES;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_the_long_poll_refuses_new_connections_and_exits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db.sqlite");
    let bin = env!("CARGO_BIN_EXE_vistalid-server");
    let out = Command::new(bin)
        .args(["add-practitioner", "10101010101", "Jeanne", "Martin"])
        .env("VISTALID_DB", &db)
        .output()
        .expect("admin runs");
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).expect("utf8");
    let code = stdout
        .lines()
        .find_map(|l| l.strip_prefix("activation_code="))
        .expect("activation code")
        .to_owned();
    let mut child = Command::new(bin)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("VISTALID_DB", &db)
        .env("VISTALID_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server runs");
    let (tx, lines) = channel::<String>();
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
    let mut seen = Vec::new();
    let addr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the server says where it listens");
        if let Some(rest) = line.strip_prefix("listening on ") {
            break rest.split(' ').next().expect("address").to_owned();
        }
        seen.push(line);
    };
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let device = enrol_guarded(&http, &base, &code, now).await;
    // A refused request: its debug line carries the id the response header names.
    let r = http
        .get(format!("{base}/nowhere"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    let id = r
        .headers()
        .get("x-request-id")
        .expect("x-request-id")
        .to_str()
        .expect("text")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no JSON log line with request id {id}: {seen:?}"));
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
            if v["span"]["id"] == id.as_str() {
                assert_eq!(v["span"]["route"], "other", "{line}");
                break;
            }
        }
        seen.push(line);
    }
    // A long-poll in flight when SIGTERM comes.
    let poll = {
        let http = http.clone();
        let url = format!("{base}{PATH_CHALLENGES}?wait=25");
        let token = device.enrolled.poll_token.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let r = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("the long-poll gets an answer");
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.expect("json");
            (status, body, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let (status, body, took) = poll.await.expect("poll task");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["challenges"], serde_json::json!([]));
    assert!(
        took < Duration::from_secs(10),
        "answered at the stop: {took:?}"
    );
    let exited = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("wait task")
        .expect("exit status");
    assert!(exited.success(), "{exited:?}");
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "new connections are refused"
    );
}
