// SPDX-License-Identifier: Apache-2.0
//! Bounded load of hostile requests mixed with real logins, on loopback, in-process.
//!
//! Each round runs, concurrently, `GOOD_PER_ACCOUNT` complete CIBA logins for each of
//! `ACCOUNTS` accounts (request, device fetch, signed approval, token) and `BAD_PER_ROUND`
//! hostile requests (wrong credentials, garbage forms and JSON, oversized bodies, forged
//! answers, bad bearer tokens, nonce spam, unknown paths). Checks: every good login gets its
//! ID token; no request gets a 5xx; SQLite holds exactly one issued token per completed
//! login; the process RSS (`/proc/self/statm`) stays within `RSS_GROWTH_LIMIT` from the end
//! of the first round to the end of the last. The whole test stops by itself within
//! `DEADLINE`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Harness, Rp};
use vistalid_core::protocol::{
    CodeMode, Decision, PATH_CHALLENGES, PATH_CIBA, PATH_ENROL, PATH_ENROL_NONCE, PATH_TOKEN,
};

const ROUNDS: usize = 8;
const ACCOUNTS: usize = 4;
const GOOD_PER_ACCOUNT: usize = 5;
const BAD_PER_ROUND: usize = 1000;
const BAD_CONCURRENCY: usize = 32;
const RSS_GROWTH_LIMIT: u64 = 24 * 1024 * 1024;
const DEADLINE: Duration = Duration::from_secs(180);

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .expect("resident field")
        .parse()
        .expect("number");
    pages * 4096
}

/// One hostile request of kind `i % 10`; returns its status.
async fn bad_request(h: &Harness, rp: &Rp, i: usize) -> u16 {
    let http = &h.http;
    let r = match i % 10 {
        0 => http
            .post(h.url(PATH_CIBA))
            .basic_auth(&rp.id, Some("wrong secret"))
            .form(&[("scope", "openid"), ("login_hint", "20000000000")]),
        1 => http
            .post(h.url(PATH_CIBA))
            .basic_auth(&rp.id, Some(&rp.secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(vec![b'%'; 300 + i % 50]),
        2 => http
            .post(h.url(PATH_TOKEN))
            .basic_auth(&rp.id, Some(&rp.secret))
            .form(&[
                ("grant_type", vistalid_core::protocol::CIBA_GRANT_TYPE),
                ("auth_req_id", &format!("forged-{i}")),
            ]),
        3 => http
            .post(h.url(PATH_ENROL))
            .header("content-type", "application/json")
            .body(format!("{{\"activation_code\": {i}, \"public_key\": [")),
        // A client of its own, without connection reuse: the server closes the connection
        // after a 413 (see `oversized` below).
        4 => reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("client")
            .post(h.url(PATH_ENROL))
            .header("content-type", "application/json")
            .body(vec![b' '; 40 * 1024]),
        5 => http
            .post(h.url(&format!("/device/challenges/forged-{i}/answer")))
            .json(&serde_json::json!({ "answer": "eyJhbGciOiJFUzI1NiJ9.e30.AAAA" })),
        6 => http
            .get(h.url(PATH_CHALLENGES))
            .bearer_auth(format!("not-a-token-{i}")),
        7 => http.post(h.url(PATH_ENROL_NONCE)),
        8 => http.get(h.url(&format!("/nope/{i}"))),
        _ => http
            .post(h.url(PATH_CIBA))
            .basic_auth(&rp.id, Some(&rp.secret))
            .form(&[("scope", "openid"), ("login_hint", "29999999999")]),
    };
    match r.send().await {
        Ok(r) => r.status().as_u16(),
        Err(e) => {
            eprintln!("abuse: kind {} failed: {e:?}", i % 10);
            0
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_logins_survive_hostile_traffic_and_memory_stays_flat() {
    tokio::time::timeout(DEADLINE, run())
        .await
        .expect("the load test finishes within its deadline");
}

async fn run() {
    let h = Arc::new(
        Harness::start_with(|c| {
            common::sqlite_only(c);
            c.ciba_per_client_per_min = 1_000_000;
            c.enrol_per_ip_per_min = 1_000;
        })
        .await,
    );
    let good_rp = h.client(CodeMode::Pick).await;
    let bad_rp = h.client(CodeMode::Type).await;
    let mut devices = Vec::new();
    for a in 0..ACCOUNTS {
        let rpps = format!("1010101010{a}");
        devices.push(Arc::new((rpps.clone(), h.practitioner(&rpps).await)));
    }

    let completed = Arc::new(AtomicUsize::new(0));
    let server_errors = Arc::new(AtomicUsize::new(0));
    let mut rss_after_first = 0;
    let mut rss_samples = Vec::new();
    let started = Instant::now();
    for round in 0..ROUNDS {
        let mut tasks = Vec::new();
        for dev in &devices {
            let (h, rp, dev, completed) = (
                Arc::clone(&h),
                good_rp.clone(),
                Arc::clone(dev),
                Arc::clone(&completed),
            );
            tasks.push(tokio::spawn(async move {
                let (rpps, device) = &*dev;
                for _ in 0..GOOD_PER_ACCOUNT {
                    let ciba = rp.ciba(&h, rpps).await.expect("good CIBA request");
                    let c = device.one_challenge(&h).await;
                    device
                        .answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
                        .await
                        .expect("approval accepted");
                    let token = rp.token(&h, &ciba.auth_req_id).await.expect("token");
                    assert!(token["id_token"].is_string());
                    completed.fetch_add(1, Ordering::SeqCst);
                }
            }));
        }
        let sem = Arc::new(tokio::sync::Semaphore::new(BAD_CONCURRENCY));
        for i in 0..BAD_PER_ROUND {
            let permit = Arc::clone(&sem).acquire_owned().await.expect("semaphore");
            let (h, rp, errs) = (Arc::clone(&h), bad_rp.clone(), Arc::clone(&server_errors));
            tasks.push(tokio::spawn(async move {
                let status = bad_request(&h, &rp, round * BAD_PER_ROUND + i).await;
                // An oversized body may be refused (413, connection closed) before the client
                // has written it all: a broken pipe on the client side is then expected.
                let oversized = i % 10 == 4;
                if (status == 0 && !oversized) || status >= 500 {
                    errs.fetch_add(1, Ordering::SeqCst);
                }
                if i % 10 != 7 && !(oversized && status == 0) {
                    assert!(
                        (400..500).contains(&status),
                        "hostile request kind {} got {status}",
                        i % 10
                    );
                }
                drop(permit);
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        let rss = rss_bytes();
        rss_samples.push(rss);
        if round == 0 {
            rss_after_first = rss;
        }
    }
    let elapsed = started.elapsed();
    let done = completed.load(Ordering::SeqCst);
    assert_eq!(done, ROUNDS * ACCOUNTS * GOOD_PER_ACCOUNT);
    assert_eq!(
        server_errors.load(Ordering::SeqCst),
        0,
        "no 5xx or dropped request"
    );

    let db = rusqlite::Connection::open_with_flags(
        h.dir.path().join("server.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open db");
    let issued: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM auth_requests WHERE status = 'issued' AND client_id = ?1",
            [&good_rp.id],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(
        issued,
        i64::try_from(done).expect("small"),
        "one issued token per login"
    );

    let last = *rss_samples.last().expect("rounds ran");
    eprintln!(
        "abuse: {done} logins + {} hostile requests in {elapsed:?}; RSS per round (MiB): {:?}",
        ROUNDS * BAD_PER_ROUND,
        rss_samples
            .iter()
            .map(|r| r / (1024 * 1024))
            .collect::<Vec<_>>()
    );
    assert!(
        last.saturating_sub(rss_after_first) < RSS_GROWTH_LIMIT,
        "RSS grew from {rss_after_first} to {last} bytes"
    );
}
