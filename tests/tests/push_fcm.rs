// SPDX-License-Identifier: Apache-2.0
//! Push through FCM HTTP v1 (issue 20) against a stand-in of Google's OAuth token endpoint
//! and FCM send endpoint on loopback: the login wakes the device and the approval completes,
//! the access token is reused, 429/503 are retried within bounds, an unregistered token is
//! removed, a slow or dead FCM never delays the CIBA answer, and no push carries the service
//! name, the code or a name.
//!
//! One server instance even in the cluster suite (`Env::start_one_with`): each instance keeps
//! its own provider token, and these tests count its renewals.
#![allow(clippy::unwrap_used, missing_docs)]

mod push_support;

use std::time::{Duration, Instant};

use push_support::fcm::{StandIn, ACCESS_TOKEN_SECS};
use push_support::{assert_private, clocked_env, pairs, Reply};
use vistalid_core::protocol::CodeMode;
use vistalid_core::push::PushPlatform;
use vistalid_core::secret::Pin;
use vistalid_core::wallet::{AnswerOutcome, Wallet};
use vistalid_e2e::{wallet, Env};
use vistalid_server::PushDelivery;

const RPPS: &str = "10101010101";
const PIN: &str = "204862";
const TOKEN: &str = "fcm-registration-token:APA91b_test-1";
const SERVICE: &str = "Dossier Médical Partagé";
const BINDING: &str = "Connexion au DMP";
const METRICS_TOKEN: &str = "metrics-token-of-the-push-tests";

async fn setup(tweak: impl FnOnce(&mut PushDelivery)) -> (StandIn, Env, tempfile::TempDir) {
    let keys = tempfile::tempdir().unwrap();
    let stand_in = StandIn::start(keys.path()).await;
    let mut delivery = PushDelivery {
        fcm: Some(stand_in.settings()),
        backoff_base_ms: 200,
        backoff_max_ms: 2_000,
        ..PushDelivery::default()
    };
    tweak(&mut delivery);
    let env = Env::start_one_with(|c, _| {
        c.push_delivery = Some(delivery);
        c.metrics_token = Some(vistalid_server::MetricsToken::new(METRICS_TOKEN));
    })
    .await;
    (stand_in, env, keys)
}

async fn enrolled(env: &Env, register: bool) -> (Wallet, tempfile::TempDir) {
    let code = env.practitioner(RPPS);
    let (w, dir) = wallet();
    w.enrol(&env.url(), &code, Pin::new(PIN)).await.unwrap();
    if register {
        w.register_push_token(PushPlatform::Fcm, TOKEN)
            .await
            .unwrap();
    }
    (w, dir)
}

#[tokio::test]
async fn a_login_wakes_the_device_and_the_approval_completes() {
    let (fcm, env, _k) = setup(|_| {}).await;
    let rp = env.relying_party(CodeMode::Pick);
    let (w, _dir) = enrolled(&env, true).await;

    let ciba = rp.ciba(RPPS, BINDING).await;
    let got = fcm.log.wait_for(1, Duration::from_secs(10)).await;
    fcm.log.assert_no_violation();
    assert_eq!(got.len(), 1, "one push: {:?}", env.push_counts());
    assert_eq!(got[0].token, TOKEN);
    let ch = w
        .handle_push(pairs(&got[0]))
        .await
        .unwrap()
        .expect("the challenge named");
    assert_eq!(
        ch.service, SERVICE,
        "the wallet fetched the signed challenge itself"
    );
    let outcome = w
        .approve(&ch.id, Pin::new(PIN), &ciba.dynamic_code)
        .await
        .unwrap();
    assert_eq!(outcome, AnswerOutcome::Approved);
    let (status, body) = rp.token(&ciba.auth_req_id).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");

    // What Google saw: only the ids and the generic text.
    assert_private(
        &got,
        &[
            SERVICE,
            "Dossier",
            BINDING,
            &ciba.dynamic_code,
            "Camille",
            "Martin",
            RPPS,
        ],
    );
    fcm.log.assert_no_violation();
    let counts = env.push_counts().unwrap();
    assert_eq!((counts.queued, counts.delivered), (1, 1));
    // The same counts on /metrics (the operations' registry).
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", env.url()))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "vistalid_push_wakeups{outcome=\"queued\"} 1",
        "vistalid_push_wakeups{outcome=\"delivered\"} 1",
        "vistalid_push_wakeups{outcome=\"gave_up\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }

    // A push naming another device is refused without a request; an answered challenge is
    // no longer pending.
    let mut forged: Vec<(&str, &str)> = pairs(&got[0]);
    for p in &mut forged {
        if p.0 == "vl_device" {
            p.1 = "someone-else";
        }
    }
    assert!(w.handle_push(forged).await.is_err());
    assert_eq!(w.handle_push(pairs(&got[0])).await.unwrap(), None);
}

#[tokio::test]
async fn the_access_token_is_reused_and_long_poll_still_works() {
    let (fcm, env, _k) = setup(|_| {}).await;
    let rp = env.relying_party(CodeMode::Pick);
    let (w, _dir) = enrolled(&env, true).await;
    for i in 0..3 {
        rp.ciba(RPPS, &format!("{BINDING} {i}")).await;
    }
    let got = fcm.log.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 3);
    assert_eq!(
        fcm.log.credentials.lock().unwrap().len(),
        1,
        "one OAuth token for three pushes"
    );
    // The long-poll sees the same challenges beside push.
    assert_eq!(w.fetch_challenges(0).await.unwrap().challenges.len(), 3);
    fcm.log.assert_no_violation();
}

#[tokio::test]
async fn a_device_without_a_token_still_gets_its_challenges() {
    let (fcm, env, _k) = setup(|_| {}).await;
    let rp = env.relying_party(CodeMode::Pick);
    let (w, _dir) = enrolled(&env, false).await;
    rp.ciba(RPPS, BINDING).await;
    assert_eq!(w.fetch_challenges(5).await.unwrap().challenges.len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fcm.log.received().is_empty());
    assert_eq!(env.push_counts().unwrap().skipped, 1);
}

#[tokio::test]
async fn retries_after_429_and_503_honour_retry_after_within_bounds() {
    let (fcm, env, _k) = setup(|d| d.max_attempts = 4).await;
    let rp = env.relying_party(CodeMode::Pick);
    let (_w, _dir) = enrolled(&env, true).await;
    fcm.log
        .script(&[Reply::TooMany(1), Reply::Unavailable, Reply::Ok]);
    rp.ciba(RPPS, BINDING).await;
    let got = fcm.log.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 3);
    let first = got[1].at - got[0].at;
    let second = got[2].at - got[1].at;
    // Retry-After 1 s beats the 200 ms back-off; then 2 x 200 ms.
    assert!(
        first >= Duration::from_secs(1) && first < Duration::from_secs(2),
        "{first:?}"
    );
    assert!(
        second >= Duration::from_millis(400) && second < Duration::from_millis(1400),
        "{second:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let c = env.push_counts().unwrap();
    assert_eq!((c.retried, c.delivered, c.gave_up), (2, 1, 0));

    // Always 503: given up after max_attempts tries in all.
    fcm.log.script(&[Reply::Unavailable; 4]);
    rp.ciba(RPPS, "encore").await;
    let got = fcm.log.wait_for(7, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 7, "four tries");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fcm.log.received().len(), 7, "no fifth try");
    assert_eq!(env.push_counts().unwrap().gave_up, 1);
    fcm.log.assert_no_violation();
}

#[tokio::test]
async fn an_unregistered_token_is_removed_and_a_400_is_not_retried() {
    let (fcm, env, _k) = setup(|_| {}).await;
    let rp = env.relying_party(CodeMode::Pick);
    let (w, _dir) = enrolled(&env, true).await;
    fcm.log.script(&[Reply::Bad]);
    rp.ciba(RPPS, BINDING).await;
    fcm.log.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fcm.log.received().len(), 1, "a 400 is not retried");
    assert_eq!(env.push_counts().unwrap().rejected, 1);

    fcm.log.script(&[Reply::Unregistered]);
    rp.ciba(RPPS, "deux").await;
    fcm.log.wait_for(2, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.push_counts().unwrap().unregistered, 1);
    rp.ciba(RPPS, "trois").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        fcm.log.received().len(),
        2,
        "the removed token is not used again"
    );
    assert_eq!(env.push_counts().unwrap().skipped, 1);
    // The device still gets its challenges by long-poll.
    assert_eq!(w.fetch_challenges(0).await.unwrap().challenges.len(), 3);
    fcm.log.assert_no_violation();
}

/// The CIBA answer's time with push configured, against a stand-in that takes 5 s per
/// send, and against an FCM endpoint that accepts connections and never answers.
#[tokio::test]
async fn a_slow_or_dead_push_service_never_delays_the_ciba_answer() {
    let (fcm, env, _k) = setup(|_| {}).await;
    let rp = env.relying_party(CodeMode::Pick);
    let (_w, _dir) = enrolled(&env, true).await;
    fcm.log.script(&[Reply::Slow(Duration::from_secs(5)); 3]);
    let mut slow = Vec::new();
    for i in 0..3 {
        let t = Instant::now();
        rp.ciba(RPPS, &format!("lent {i}")).await;
        slow.push(t.elapsed());
    }
    slow.sort();
    assert!(
        !fcm.log.wait_for(1, Duration::from_secs(5)).await.is_empty(),
        "the pushes were in flight"
    );

    // A dead service: a listener that never answers.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = dead.accept().await {
            held.push(s);
        }
    });
    let (_fcm2, env2, _k2) = setup(|d| {
        if let Some(f) = d.fcm.as_mut() {
            f.endpoint = dead_url;
        }
    })
    .await;
    let rp2 = env2.relying_party(CodeMode::Pick);
    let (_w2, _dir2) = enrolled(&env2, true).await;
    let mut dead_times = Vec::new();
    for i in 0..3 {
        let t = Instant::now();
        rp2.ciba(RPPS, &format!("mort {i}")).await;
        dead_times.push(t.elapsed());
    }
    dead_times.sort();
    hold.abort();
    println!(
        "CIBA answer with push configured: median {:?} (FCM taking 5 s), {:?} (FCM never answering)",
        slow[1], dead_times[1]
    );
    assert!(slow[2] < Duration::from_secs(1), "{slow:?}");
    assert!(dead_times[2] < Duration::from_secs(1), "{dead_times:?}");
}

/// The OAuth access token is fetched again shortly before its expiry (60 s margin), not
/// before; the stand-in judges times on the server's own (manual) clock and refuses, and
/// records, an access token used past its `expires_in`.
#[tokio::test]
async fn the_access_token_is_fetched_again_just_before_it_expires_and_not_before() {
    let keys = tempfile::tempdir().unwrap();
    let fcm = StandIn::start(keys.path()).await;
    let delivery = PushDelivery {
        fcm: Some(fcm.settings()),
        backoff_base_ms: 200,
        backoff_max_ms: 2_000,
        ..PushDelivery::default()
    };
    let (env, clock) = clocked_env(&fcm.log, delivery).await;
    let rp = env.relying_party(CodeMode::Pick);
    let (_w, _dir) = enrolled(&env, true).await;
    let tokens = || fcm.log.credentials.lock().unwrap().len();

    rp.ciba(RPPS, "un").await;
    fcm.log.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(tokens(), 1);
    // 3599 s tokens, renewed 60 s before they expire: kept at 3538 s, renewed at 3539 s.
    clock.advance(ACCESS_TOKEN_SECS - 61);
    rp.ciba(RPPS, "deux").await;
    fcm.log.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(tokens(), 1, "kept until a minute before its expiry");
    clock.advance(1);
    rp.ciba(RPPS, "trois").await;
    fcm.log.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(tokens(), 2, "fetched again a minute before its expiry");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(env.push_counts().unwrap().delivered, 3);
    fcm.log.assert_no_violation();
}
