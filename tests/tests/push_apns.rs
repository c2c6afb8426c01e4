// SPDX-License-Identifier: Apache-2.0
//! Push through the APNs provider API (issue 20) against an HTTP/2 TLS stand-in (a CA the
//! test makes and trusts) that checks the provider token (ES256, kid, iss, age), the headers
//! and the payload size: the login wakes the device and the approval completes, the provider
//! token is reused, 429/503 are retried, `ExpiredProviderToken` never makes the server
//! replace its token faster than Apple allows, `Unregistered` and `BadDeviceToken` remove the
//! token, and no push carries the service name, the code or a name; on a shared manual
//! clock, the provider token is renewed at 40 minutes and never faster than Apple allows.
//!
//! One server instance even in the cluster suite (`Env::start_one_with`): each instance keeps
//! its own provider token, and these tests count its renewals.
#![allow(clippy::unwrap_used, missing_docs)]

mod push_support;

use std::time::Duration;

use push_support::apns::StandIn;
use push_support::{assert_private, clocked_env, pairs, Reply};
use vistalid_core::protocol::CodeMode;
use vistalid_core::push::PushPlatform;
use vistalid_core::secret::Pin;
use vistalid_core::wallet::{AnswerOutcome, Wallet};
use vistalid_e2e::{wallet, Env};
use vistalid_server::PushDelivery;

const RPPS: &str = "10101010101";
const PIN: &str = "204862";
const TOKEN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const SERVICE: &str = "Dossier Médical Partagé";
const BINDING: &str = "Connexion au DMP";

async fn setup() -> (StandIn, Env, tempfile::TempDir) {
    let keys = tempfile::tempdir().unwrap();
    let stand_in = StandIn::start(keys.path()).await;
    let delivery = PushDelivery {
        apns: Some(stand_in.settings()),
        backoff_base_ms: 200,
        backoff_max_ms: 2_000,
        max_attempts: 3,
        ..PushDelivery::default()
    };
    let env = Env::start_one_with(|c, _| c.push_delivery = Some(delivery)).await;
    (stand_in, env, keys)
}

async fn enrolled(env: &Env) -> (Wallet, tempfile::TempDir) {
    let code = env.practitioner(RPPS);
    let (w, dir) = wallet();
    w.enrol(&env.url(), &code, Pin::new(PIN)).await.unwrap();
    w.register_push_token(PushPlatform::Apns, TOKEN)
        .await
        .unwrap();
    (w, dir)
}

#[tokio::test]
async fn a_login_wakes_the_device_the_approval_completes_and_the_provider_token_is_reused() {
    let (apns, env, _k) = setup().await;
    let rp = env.relying_party(CodeMode::Pick);
    let (w, _dir) = enrolled(&env).await;

    let ciba = rp.ciba(RPPS, BINDING).await;
    let got = apns.log.wait_for(1, Duration::from_secs(10)).await;
    apns.log.assert_no_violation();
    assert_eq!(got.len(), 1, "{:?}", env.push_counts());
    assert_eq!(got[0].token, TOKEN);
    let ch = w
        .handle_push(pairs(&got[0]))
        .await
        .unwrap()
        .expect("the challenge named");
    let outcome = w
        .approve(&ch.id, Pin::new(PIN), &ciba.dynamic_code)
        .await
        .unwrap();
    assert_eq!(outcome, AnswerOutcome::Approved);
    let (status, body) = rp.token(&ciba.auth_req_id).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");

    for i in 0..2 {
        rp.ciba(RPPS, &format!("{BINDING} {i}")).await;
    }
    let got = apns.log.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 3);
    assert_eq!(
        apns.log.credentials.lock().unwrap().len(),
        1,
        "one provider token for three pushes"
    );
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
    apns.log.assert_no_violation();
}

#[tokio::test]
async fn throttling_and_outages_are_retried_and_a_young_token_is_not_replaced() {
    let (apns, env, _k) = setup().await;
    let rp = env.relying_party(CodeMode::Pick);
    let (_w, _dir) = enrolled(&env).await;
    apns.log
        .script(&[Reply::TooMany(1), Reply::Unavailable, Reply::Ok]);
    rp.ciba(RPPS, BINDING).await;
    let got = apns.log.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 3);
    assert!(
        got[1].at - got[0].at >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert!(
        got[2].at - got[1].at >= Duration::from_millis(400),
        "back-off doubled"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let c = env.push_counts().unwrap();
    assert_eq!((c.retried, c.delivered), (2, 1));

    // ExpiredProviderToken on a token minutes old: not replaced (Apple allows one update per
    // 20 minutes); the push is retried after the back-off with the same token.
    apns.log.script(&[Reply::ExpiredProviderToken]);
    rp.ciba(RPPS, "deux").await;
    let got = apns.log.wait_for(5, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 5);
    assert!(
        got[4].at - got[3].at >= Duration::from_millis(200),
        "backed off"
    );
    assert_eq!(
        apns.log.credentials.lock().unwrap().len(),
        1,
        "the provider token was not replaced"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(env.push_counts().unwrap().delivered, 2);
    apns.log.assert_no_violation();
}

#[tokio::test]
async fn unregistered_and_bad_device_tokens_are_removed() {
    for reply in [Reply::Unregistered, Reply::Bad] {
        let (apns, env, _k) = setup().await;
        let rp = env.relying_party(CodeMode::Pick);
        let (w, _dir) = enrolled(&env).await;
        apns.log.script(&[reply]);
        rp.ciba(RPPS, BINDING).await;
        apns.log.wait_for(1, Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(env.push_counts().unwrap().unregistered, 1, "{reply:?}");
        rp.ciba(RPPS, "deux").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            apns.log.received().len(),
            1,
            "{reply:?}: the token is not used again"
        );
        assert_eq!(w.fetch_challenges(0).await.unwrap().challenges.len(), 2);
        // Registering again brings push back.
        w.register_push_token(PushPlatform::Apns, TOKEN)
            .await
            .unwrap();
        rp.ciba(RPPS, "trois").await;
        assert_eq!(apns.log.wait_for(2, Duration::from_secs(10)).await.len(), 2);
        apns.log.assert_no_violation();
    }
}

/// The provider token is replaced once it is `token_refresh_secs` old (40 min by default),
/// not a second before; a token APNs calls expired is replaced only once 20 minutes old. The
/// stand-in judges times on the server's own (manual) clock and answers 429
/// `TooManyProviderTokenUpdates` to, and records, any update faster than Apple allows.
#[tokio::test]
async fn the_provider_token_is_renewed_at_forty_minutes_and_never_faster_than_apple_allows() {
    let keys = tempfile::tempdir().unwrap();
    let apns = StandIn::start(keys.path()).await;
    let delivery = PushDelivery {
        apns: Some(apns.settings()),
        backoff_base_ms: 200,
        backoff_max_ms: 2_000,
        max_attempts: 3,
        ..PushDelivery::default()
    };
    let (env, clock) = clocked_env(&apns.log, delivery).await;
    let rp = env.relying_party(CodeMode::Pick);
    let (_w, _dir) = enrolled(&env).await;
    let tokens = || apns.log.credentials.lock().unwrap().len();

    rp.ciba(RPPS, "un").await;
    apns.log.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(tokens(), 1);
    clock.advance(2_399);
    rp.ciba(RPPS, "deux").await;
    apns.log.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(tokens(), 1, "kept until 40 minutes old");
    clock.advance(1);
    rp.ciba(RPPS, "trois").await;
    apns.log.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(tokens(), 2, "replaced at 40 minutes");

    // Called expired at 19 minutes old: kept, the push retried after the back-off.
    clock.advance(19 * 60);
    apns.log.script(&[Reply::ExpiredProviderToken]);
    rp.ciba(RPPS, "quatre").await;
    apns.log.wait_for(5, Duration::from_secs(10)).await;
    assert_eq!(tokens(), 2, "not replaced before 20 minutes");
    // Called expired at 20 minutes old: replaced at once.
    clock.advance(60);
    apns.log.script(&[Reply::ExpiredProviderToken]);
    rp.ciba(RPPS, "cinq").await;
    let got = apns.log.wait_for(7, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 7);
    assert_eq!(tokens(), 3, "replaced once 20 minutes old");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(env.push_counts().unwrap().delivered, 5);
    apns.log.assert_no_violation();
}
