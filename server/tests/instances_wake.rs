// SPDX-License-Identifier: Apache-2.0
//! Long-polls woken across two instances on one database (issue 19, "several instances"):
//! a device's long-poll open on one instance returns when the login starts on the other; a
//! login page's status long-poll on one returns when the phone answers on the other; after
//! the listeners' connections are killed they come back by themselves and wake-ups cross
//! again.
//!
//! On PostgreSQL (`VL_TEST_DATABASE_URL`, scripts/test.sh's second run) the re-check timer is
//! set to an hour, so only the LISTEN/NOTIFY wake-up can answer in time. On SQLite (one
//! instance by design: no listener) the first two tests check the fallback instead, the
//! re-check timer set to one second, and say so; the listener test says it did not run.

#[path = "support/browser.rs"]
mod browser;
mod common;

use std::time::{Duration, Instant};

use browser::{location, Ask, Browser};
use common::instances::{postgres_url, schema_of, second_instance_with};
use common::{Harness, Rp};
use vistalid_core::protocol::{CodeMode, Decision};
use vistalid_server::{ClientOptions, MetricsToken, ServerConfig, LISTENER_APPLICATION_NAME};

const CALLBACK: &str = "http://127.0.0.1:9/callback";
/// Seconds a long-poll is asked to wait.
const WAIT_SECS: u64 = 20;
/// How soon a woken long-poll must answer: far under [`WAIT_SECS`].
const PROMPT: Duration = Duration::from_secs(5);

/// The re-check timer of the instances: an hour on PostgreSQL (a long-poll that answers in
/// time was woken by a notification), one second on SQLite (the fallback is what answers).
fn recheck_secs() -> u64 {
    if postgres_url().is_some() {
        3600
    } else {
        1
    }
}

/// The bearer token of `/metrics` in these tests.
const METRICS_TOKEN: &str = "instances-wake-metrics-token";

fn tweak(c: &mut ServerConfig) {
    c.long_poll_recheck_secs = recheck_secs();
    c.metrics_token = Some(MetricsToken::new(METRICS_TOKEN));
}

/// The value of the counter `series` (name and labels) in `h`'s `/metrics`, 0 when absent.
async fn counter(h: &Harness, series: &str) -> u64 {
    let text = h
        .http
        .get(h.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

/// Says which path the test checks on this backend.
fn say_backend(test: &str) {
    if postgres_url().is_none() {
        eprintln!(
            "{test}: on SQLite (no VL_TEST_DATABASE_URL): no listener, checking the 1 s \
             re-check timer instead of LISTEN/NOTIFY; scripts/test.sh runs it on PostgreSQL"
        );
    }
}

/// Two instances on one database, and the listeners of both listening (on PostgreSQL), so
/// a first wake-up at their start cannot be what answers a test's long-poll.
async fn two_instances() -> (Harness, Harness) {
    let a = Harness::start_with(tweak).await;
    let b = second_instance_with(&a, tweak).await;
    if postgres_url().is_some() {
        wait_for_listeners(&a, 2, &[]).await;
    }
    (a, b)
}

/// A connection of the test's own to the suite's PostgreSQL.
async fn sql() -> tokio_postgres::Client {
    let url = postgres_url().expect("PostgreSQL");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
}

/// The backend pids of the listeners on `h`'s schema.
async fn listeners(db: &tokio_postgres::Client, h: &Harness) -> Vec<i32> {
    let schema = schema_of(h).expect("a schema");
    let listen = format!("LISTEN \"vistalid_wake_{schema}\"");
    db.query(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query = $2",
        &[&LISTENER_APPLICATION_NAME, &listen],
    )
    .await
    .expect("pg_stat_activity")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Waits until `n` listeners on `h`'s schema listen, none of them one of `gone`; their pids.
async fn wait_for_listeners(h: &Harness, n: usize, gone: &[i32]) -> Vec<i32> {
    let db = sql().await;
    let started = Instant::now();
    loop {
        let pids = listeners(&db, h).await;
        if pids.len() == n && pids.iter().all(|p| !gone.contains(p)) {
            return pids;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "listeners: {pids:?} (gone: {gone:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A device enrolled on `a`, its long-poll opened on `b`, a CIBA request started on `a`
/// while it waits: the long-poll returns the challenge within [`PROMPT`].
async fn device_wakes_across(a: &Harness, b: &Harness, rp: &Rp, rpps: &str) {
    let dev = a.practitioner(rpps).await;
    let (polled, started) = tokio::join!(
        async {
            let list = dev.fetch(b, WAIT_SECS).await.expect("long-poll");
            (list, Instant::now())
        },
        async {
            // Let the long-poll park first.
            tokio::time::sleep(Duration::from_millis(300)).await;
            rp.ciba(a, rpps).await.expect("ciba");
            Instant::now()
        }
    );
    let (list, answered) = polled;
    assert_eq!(
        list.len(),
        1,
        "the challenge, not an empty answer at the end"
    );
    let took = answered.saturating_duration_since(started);
    assert!(
        took < PROMPT,
        "the long-poll answered {took:?} after the request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_device_long_poll_wakes_when_the_login_starts_on_another_instance() {
    say_backend("a_device_long_poll_wakes_when_the_login_starts_on_another_instance");
    let (a, b) = two_instances().await;
    let rp = a.client(CodeMode::Type).await;
    device_wakes_across(&a, &b, &rp, "10000000001").await;
    // And the other way round.
    device_wakes_across(&b, &a, &rp, "10000000002").await;
    b.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_page_long_poll_wakes_when_the_phone_answers_on_another_instance() {
    say_backend("a_login_page_long_poll_wakes_when_the_phone_answers_on_another_instance");
    let (a, b) = two_instances().await;
    let options = ClientOptions::new(CodeMode::Type).redirect_uri(CALLBACK);
    let (id, secret) = a
        .admin()
        .add_client_with("Dossier patient test", &options)
        .expect("client");
    let rp = Rp {
        id,
        secret: secret.to_string(),
    };
    let dev = a.practitioner("10000000003").await;

    // The browser on instance a, up to the waiting page.
    let mut browser = Browser::new();
    let page = browser
        .authorize(&a, &rp, &Ask::new(CALLBACK))
        .await
        .expect_err("a login page");
    let html = browser.get(&page).await.html();
    let csrf = html
        .form("identifier")
        .expect("form#identifier")
        .field("csrf")
        .expect("csrf")
        .to_owned();
    let r = browser
        .post(&page, &[("identifier", "810000000003"), ("csrf", &csrf)])
        .await;
    let waiting = if r.is_redirect() {
        browser.get(&location(&r)).await
    } else {
        r
    };
    assert!(
        waiting.body.contains("data-state=\"waiting\""),
        "{}",
        waiting.body
    );
    let code: String = waiting
        .html()
        .text_of("code")
        .expect("#code")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();

    // Its status long-poll on a; the phone answers on b.
    let status = format!("{page}/status?wait={WAIT_SECS}");
    let (polled, started) = tokio::join!(
        async {
            let r = browser.get(&status).await;
            (r, Instant::now())
        },
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let challenge = dev.one_challenge(&b).await;
            let state = dev
                .answer(&b, &challenge.id, Decision::Approve, Some(&code))
                .await
                .expect("answer");
            assert_eq!(state, "approved");
            Instant::now()
        }
    );
    let (r, answered) = polled;
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("status json");
    assert_eq!(body["state"], "approved", "{body}");
    let took = answered.saturating_duration_since(started);
    assert!(
        took < PROMPT,
        "the status answered {took:?} after the answer"
    );
    b.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_listeners_reconnect_after_their_connections_are_killed() {
    if postgres_url().is_none() {
        eprintln!(
            "the_listeners_reconnect_after_their_connections_are_killed: NOT RUN on SQLite \
             (no listener); set VL_TEST_DATABASE_URL (scripts/test.sh does)"
        );
        return;
    }
    let (a, b) = two_instances().await;
    let rp = a.client(CodeMode::Type).await;
    device_wakes_across(&a, &b, &rp, "10000000004").await;

    for round in 0..2 {
        let db = sql().await;
        let before = listeners(&db, &a).await;
        assert_eq!(before.len(), 2, "round {round}: {before:?}");
        for pid in &before {
            let killed: bool = db
                .query_one("SELECT pg_terminate_backend($1)", &[pid])
                .await
                .expect("terminate")
                .get(0);
            assert!(killed, "round {round}: listener {pid} terminated");
        }
        // Both come back on new connections, by themselves.
        wait_for_listeners(&a, 2, &before).await;
        device_wakes_across(&a, &b, &rp, &format!("1000000001{round}")).await;
        device_wakes_across(&b, &a, &rp, &format!("1000000002{round}")).await;
    }
    // Each listener started listening three times (at start, after each kill), and heard
    // the challenges queued on the other instance.
    for h in [&a, &b] {
        let connected = r#"vistalid_wake_listener_events_total{event="connected"}"#;
        assert_eq!(counter(h, connected).await, 3);
        let heard = r#"vistalid_wake_listener_events_total{event="device"}"#;
        assert!(counter(h, heard).await >= 3);
    }
    b.server.shutdown().await;
}
