// SPDX-License-Identifier: Apache-2.0
//! No secret in the logs (issue 19): the server's JSON logs at `trace` level are captured
//! over a run of every flow (enrolment with activation codes, a PIN-guard enrolment and
//! guess, a CIBA login, a browser login with its code exchange, userinfo, a refresh, a
//! logout), then searched for every secret the run used: activation codes (whole and their
//! secret part), client secrets, device poll tokens, authorization codes, access, ID and
//! refresh tokens, the SSO session cookie, the PIN guard's blinded and evaluated elements.
//! Zero hits. The log must also be non-trivial (request spans with their ids).

#[path = "support/browser.rs"]
mod browser;
mod common;
#[path = "support/tokens.rs"]
mod tokens;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::guarded::{element, enrol_guarded, jti};
use common::{read, Device, Harness};
use serde_json::Value;
use tokens::{client, exchange, login, refresh, s, userinfo, CALLBACK};
use vistalid_core::protocol::{CodeMode, Decision, PinGuessResponse, PATH_PIN_GUESS};
use vistalid_server::{init_logging, LogFormat};

/// A writer appending to a shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_every_flow_logs_no_secret_at_trace_level() {
    let capture = Capture::default();
    // The server's own crates, the HTTP framework and the server side of hyper, at trace.
    init_logging(
        LogFormat::Json,
        Some("vistalid_server=trace,vistalid_core=trace,axum=trace,tower_http=trace,hyper=trace,info"),
        capture.clone(),
    )
    .expect("logging");
    let mut secrets: Vec<String> = Vec::new();
    let h = Harness::start().await;

    // Enrolment (activation codes), and a CIBA login with its tokens.
    let ciba_rp = h.client(CodeMode::Pick).await;
    secrets.push(ciba_rp.secret.clone());
    let code = h
        .admin()
        .add_practitioner("10101010101", "Jeanne", "Martin", "10")
        .expect("account");
    secrets.push(code.to_string());
    secrets.push(code.to_string().replace('-', "")[4..].to_owned());
    let dev = Device::enrol(&h, &code).await.expect("enrol");
    secrets.push(dev.enrolment.poll_token.clone());
    let ciba = ciba_rp.ciba(&h, "10101010101").await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    dev.answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await
        .expect("approve");
    let t = ciba_rp.token(&h, &ciba.auth_req_id).await.expect("tokens");
    secrets.push(s(&t, "access_token"));
    secrets.push(s(&t, "id_token"));

    // The browser login: code, tokens, refresh, userinfo, session cookie.
    let rp = client(&h, false);
    secrets.push(rp.secret.clone());
    let (b, ask, cb) = login(&h, &rp, &dev, "810101010101").await;
    secrets.push(cb.code().to_owned());
    secrets.push(ask.verifier.clone());
    for c in b.ua.cookies() {
        if c.name.starts_with("vl_") {
            secrets.push(c.value.clone());
        }
    }
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    secrets.push(s(&t, "access_token"));
    secrets.push(s(&t, "id_token"));
    secrets.push(s(&t, "refresh_token"));
    assert_eq!(userinfo(&h, &s(&t, "access_token")).await.status(), 200);
    let t2 = refresh(&h, &rp, &s(&t, "refresh_token"))
        .await
        .expect("refresh");
    secrets.push(s(&t2, "access_token"));
    secrets.push(s(&t2, "refresh_token"));
    // A replayed code and a replayed refresh token are refused (and logged as refusals).
    assert!(exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .is_err());

    // A PIN-guard enrolment and a guess.
    let code2 = h
        .admin()
        .add_practitioner("10003456789", "Paul", "Durand", "10")
        .expect("account");
    secrets.push(code2.to_string());
    let g = enrol_guarded(&h.http, h.server.base_url(), &code2, h.now()).await;
    secrets.push(g.enrolled.poll_token.clone());
    let (_, blinded) = element();
    secrets.push(blinded.clone());
    let r = h
        .http
        .post(h.url(PATH_PIN_GUESS))
        .json(&g.guess_body(&g.claims(&blinded, jti(1), h.now())))
        .send()
        .await
        .expect("guess");
    let answer: PinGuessResponse = read(r).await.expect("guess answer");
    secrets.push(answer.evaluated_element.clone());
    // A wrong activation code try.
    let wrong = format!("{}-ZZZZ-ZZZZ", &code2.to_string()[..4]);
    assert!(Device::enrol(&h, &wrong).await.is_err());
    secrets.push(wrong);

    let Harness { server, dir, .. } = h;
    server.shutdown().await;
    drop(dir);
    let log = String::from_utf8(capture.0.lock().expect("log").clone()).expect("utf-8");
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() > 50, "a real log: {} lines", lines.len());
    let with_id = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["span"]["id"].is_string())
        .count();
    assert!(
        with_id > 10,
        "request lines carry their request id: {with_id}"
    );
    eprintln!(
        "log: {} lines ({with_id} with a request id), {} secrets searched",
        lines.len(),
        secrets.len()
    );
    let mut hits = Vec::new();
    for secret in &secrets {
        assert!(secret.len() >= 8, "a secret worth searching: {secret:?}");
        if log.contains(secret.as_str()) {
            hits.push(secret.clone());
        }
    }
    assert!(
        hits.is_empty(),
        "{} secret(s) of {} found in the log: {hits:?}",
        hits.len(),
        secrets.len()
    );
}
