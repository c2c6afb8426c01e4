// SPDX-License-Identifier: Apache-2.0
//! What operators need (issue 19, docs/operations.md), over loopback HTTP: the probes, the
//! metrics and their protection, the request id, graceful shutdown with a long-poll in
//! flight, and the retention (what it prunes, what it keeps).

mod common;

use std::time::{Duration, Instant};

use common::{expect_err, Harness};
use vistalid_core::protocol::{CodeMode, Decision, PATH_CHALLENGES, PATH_TOKEN};
use vistalid_server::MetricsToken;

const TOKEN: &str = "metrics-token-0123456789";
const RPPS: &str = "10101010101";

struct Got {
    status: u16,
    body: String,
    request_id: Option<String>,
}

async fn get(http: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Got {
    let mut req = http.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("send");
    let request_id = r
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Got {
        status: r.status().as_u16(),
        request_id,
        body: r.text().await.expect("body"),
    }
}

async fn metrics(h: &Harness) -> String {
    let auth = format!("Bearer {TOKEN}");
    let got = get(&h.http, &h.url("/metrics"), &[("authorization", &auth)]).await;
    assert_eq!(got.status, 200, "{}", got.body);
    got.body
}

fn with_token(c: &mut vistalid_server::ServerConfig) {
    c.metrics_token = Some(MetricsToken::new(TOKEN));
    c.request_id_header = Some("x-request-id".into());
}

#[tokio::test]
async fn probes_answer_and_the_metrics_need_the_token() {
    let h = Harness::start_with(with_token).await;
    let health = get(&h.http, &h.url("/health"), &[]).await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    let ready = get(&h.http, &h.url("/ready"), &[]).await;
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready\n"));
    for headers in [
        &[][..],
        &[("authorization", "Bearer wrong-token-0123456789")][..],
        &[("authorization", TOKEN)][..],
    ] {
        let got = get(&h.http, &h.url("/metrics"), headers).await;
        assert_eq!(got.status, 401, "{headers:?}");
        assert!(
            !got.body.contains("vistalid_"),
            "no figure without the token"
        );
    }
    assert!(metrics(&h).await.contains("vistalid_http_requests_total"));
}

#[tokio::test]
async fn every_answer_has_a_request_id_taken_from_the_trusted_header_when_plain() {
    let h = Harness::start_with(with_token).await;
    let a = get(&h.http, &h.url("/health"), &[]).await.request_id;
    let b = get(&h.http, &h.url("/nowhere"), &[]).await.request_id;
    assert!(a.is_some() && b.is_some() && a != b, "{a:?} {b:?}");
    let given = get(&h.http, &h.url("/health"), &[("x-request-id", "lb-7f3a.1")]).await;
    assert_eq!(given.request_id.as_deref(), Some("lb-7f3a.1"));
    let odd = get(
        &h.http,
        &h.url("/health"),
        &[("x-request-id", "a b<script>")],
    )
    .await;
    assert!(odd.request_id.is_some_and(|id| id != "a b<script>"));
    // Without a configured header, a client's id is not taken.
    let h2 = Harness::start().await;
    let ignored = get(
        &h2.http,
        &h2.url("/health"),
        &[("x-request-id", "client-1")],
    )
    .await;
    assert!(ignored.request_id.is_some_and(|id| id != "client-1"));
}

#[tokio::test]
async fn logins_refusals_enrolments_and_pending_work_are_counted() {
    let h = Harness::start_with(with_token).await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    dev.answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await
        .expect("approve");
    rp.token(&h, &ciba.auth_req_id).await.expect("tokens");
    let second = rp.ciba(&h, RPPS).await.expect("ciba");
    let c2 = dev.one_challenge(&h).await;
    expect_err(rp.token(&h, "unknown-id").await, 400, "invalid_grant");
    let text = metrics(&h).await;
    let refusal =
        format!(r#"vistalid_refusals_total{{route="{PATH_TOKEN}",error="invalid_grant"}} 1"#);
    let timed =
        format!(r#"vistalid_http_request_duration_seconds_count{{route="{PATH_TOKEN}"}} 2"#);
    // SQLite's reader connections, or PostgreSQL's pool (VL_TEST_DATABASE_URL).
    let on_postgres =
        std::env::var(vistalid_server::TEST_DATABASE_ENV).is_ok_and(|v| !v.is_empty());
    let readers = format!(
        r#"vistalid_store{{figure="readers"}} {}"#,
        if on_postgres {
            vistalid_server::ServerConfig::new("unused").database_pool_size
        } else {
            4
        }
    );
    for line in [
        r#"vistalid_logins_total{mode="ciba",outcome="approved"} 1"#,
        r#"vistalid_enrolments_total{outcome="enrolled"} 1"#,
        &refusal,
        &timed,
        r#"vistalid_login_requests{mode="ciba",state="pending"} 1"#,
        r#"vistalid_login_requests{mode="browser",state="pending"} 0"#,
        "vistalid_challenges_pending 1",
        &readers,
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    dev.answer(&h, &c2.id, Decision::Deny, None)
        .await
        .expect("deny");
    let _ = second;
    let text = metrics(&h).await;
    assert!(
        text.contains(r#"vistalid_logins_total{mode="ciba",outcome="denied"} 1"#),
        "{text}"
    );
    assert!(text.contains("vistalid_challenges_pending 0"), "{text}");
}

#[tokio::test]
async fn the_admin_listener_serves_the_metrics_and_the_public_one_does_not() {
    let h = Harness::start_with(|c| c.metrics_bind = Some(([127, 0, 0, 1], 0).into())).await;
    let admin = h.server.admin_addr().expect("admin listener");
    assert_ne!(admin, h.server.addr());
    let got = get(&h.http, &format!("http://{admin}/metrics"), &[]).await;
    assert_eq!(got.status, 200);
    assert!(
        got.body.contains("# TYPE vistalid_http_requests counter"),
        "{}",
        got.body
    );
    assert_eq!(
        get(&h.http, &format!("http://{admin}/ready"), &[])
            .await
            .status,
        200
    );
    assert_eq!(get(&h.http, &h.url("/metrics"), &[]).await.status, 404);
    // No token and no admin listener: not served at all.
    let plain = Harness::start().await;
    assert_eq!(
        get(&plain.http, &plain.url("/metrics"), &[]).await.status,
        404
    );
}

#[tokio::test]
async fn a_stop_answers_the_long_poll_then_refuses_new_connections() {
    let h = Harness::start().await;
    let dev = h.practitioner(RPPS).await;
    let url = format!("{}?wait=25", h.url(PATH_CHALLENGES));
    let http = h.http.clone();
    let token = dev.enrolment.poll_token.clone();
    let poll = tokio::spawn(async move {
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
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let addr = h.server.addr();
    let Harness { server, dir, .. } = h;
    server.shutdown().await;
    let (status, body, took) = poll.await.expect("poll task");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["challenges"], serde_json::json!([]), "nothing yet");
    assert!(
        took < Duration::from_secs(10),
        "answered at the stop, not at wait"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "new connections are refused"
    );
    drop(dir);
}

#[tokio::test]
async fn the_retention_prunes_what_expired_a_day_ago_and_keeps_the_rest() {
    let h = Harness::start_with(|c| {
        with_token(c);
        c.retention_batch_rows = 1; // many small batches
        c.retention_pause_ms = 0;
    })
    .await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let old = rp.ciba(&h, RPPS).await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    dev.answer(&h, &c.id, Decision::Approve, Some(&old.dynamic_code))
        .await
        .expect("approve");
    rp.token(&h, &old.auth_req_id).await.expect("tokens");
    let unanswered = rp.ciba(&h, RPPS).await.expect("ciba");
    // Expired (120 s), but not yet a day ago: kept.
    h.clock.advance(120 + 86_400 - 60);
    h.server.run_retention().await;
    assert!(!metrics(&h).await.contains(r#"table="auth_requests""#));
    let fresh = rp.ciba(&h, RPPS).await.expect("a new login");
    h.clock.advance(120);
    assert!(
        h.server.run_retention().await >= 4,
        "two requests and their challenges"
    );
    let text = metrics(&h).await;
    assert!(
        text.contains(r#"vistalid_retention_pruned_rows_total{table="auth_requests"} 4"#),
        "{text}"
    );
    // The pruned requests are unknown now; the fresh one is still there.
    expect_err(
        rp.token(&h, &unanswered.auth_req_id).await,
        400,
        "invalid_grant",
    );
    expect_err(rp.token(&h, &old.auth_req_id).await, 400, "invalid_grant");
    expect_err(rp.token(&h, &fresh.auth_req_id).await, 400, "expired_token");
}

#[tokio::test]
async fn a_backlog_is_worked_off_over_several_bounded_runs() {
    // At most 2 batches of 2 requests per run (each request with its challenge: 4 rows a
    // batch in the auth_requests group), on SQLite and on PostgreSQL alike.
    let h = Harness::start_with(|c| {
        with_token(c);
        c.retention_batch_rows = 2;
        c.retention_batches_per_run = 2;
        c.retention_pause_ms = 0;
        c.max_pending_per_account = 6;
    })
    .await;
    let rp = h.client(CodeMode::Pick).await;
    let _dev = h.practitioner(RPPS).await;
    let mut requests = Vec::new();
    for _ in 0..6 {
        requests.push(rp.ciba(&h, RPPS).await.expect("ciba").auth_req_id);
    }
    h.clock.advance(120 + 86_400 + 60);
    let pruned = |text: &str| -> u64 {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(r#"vistalid_retention_pruned_rows_total{table="auth_requests"} "#)
            })
            .map_or(0, |v| v.trim().parse().expect("a count"))
    };
    let mut seen = Vec::new();
    for _ in 0..3 {
        h.server.run_retention().await;
        seen.push(pruned(&metrics(&h).await));
    }
    // 4 requests and their 4 challenges in the first run, the last 2 and theirs in the
    // second, nothing left for the third.
    assert_eq!(seen, [8, 12, 12], "rows pruned after each run");
    for id in &requests {
        expect_err(rp.token(&h, id).await, 400, "invalid_grant");
    }
}
