// SPDX-License-Identifier: Apache-2.0
//! Two server instances on one database (issue 19, "several instances"): the same activation
//! code, the same signed answer, the same CIBA grant, the same authorization code, the same
//! refresh token and the same QR presentation sent to both at once are each used exactly
//! once; a code or refresh token used twice revokes what its first use gave (RFC 6749
//! §4.1.2, §10.4). Runs on the backend of the suite: on PostgreSQL (`VL_TEST_DATABASE_URL`,
//! scripts/test.sh) the instances race through serializable transactions; on SQLite through
//! the file's write lock.

#[path = "support/browser.rs"]
mod browser;
mod common;
#[path = "support/tokens.rs"]
mod tokens;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use common::instances::second_instance;
use common::{expect_err, read, Device, Failure, Harness, Rp};
use reqwest::StatusCode;
use tokens::{client, exchange, login, refresh, s, userinfo, CALLBACK, RPPS};
use vistalid_core::protocol::{CodeMode, Decision, RedeemRequest, RedeemResponse, PATH_REDEEM};
use vistalid_core::qr::{present, PresentationSource};

/// Rounds of each race: a lost race shows up in one of them.
const ROUNDS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_use_codes_answers_and_grants_once() {
    let a = Harness::start().await;
    let b = second_instance(&a).await;
    let rp = a.client(CodeMode::Type).await;

    for round in 0..ROUNDS {
        // One activation code, redeemed on both instances at once: one device is enrolled.
        let rpps = format!("{:011}", 20_000_000_000_u64 + round as u64);
        let code = a
            .admin()
            .add_practitioner(&rpps, "Jeanne", "Martin", "10")
            .expect("account");
        let (on_a, on_b) = tokio::join!(Device::enrol(&a, &code), Device::enrol(&b, &code));
        assert!(
            on_a.is_ok() != on_b.is_ok(),
            "round {round}: the code enrolled {} devices",
            usize::from(on_a.is_ok()) + usize::from(on_b.is_ok())
        );
        let dev = on_a.or(on_b).expect("one enrolment");

        // One login, answered with the same signed answer on both instances at once: one
        // answer is recorded.
        let req = rp.ciba(&a, &rpps).await.expect("ciba");
        let claims = dev.one_challenge(&b).await;
        let answer = dev.sign(
            &claims.id,
            Decision::Approve,
            Some(&req.dynamic_code),
            a.now(),
        );
        let (on_a, on_b) = tokio::join!(
            dev.post_answer(&a, &claims.id, answer.clone()),
            dev.post_answer(&b, &claims.id, answer)
        );
        assert!(
            on_a.is_ok() != on_b.is_ok(),
            "round {round}: answers recorded: {on_a:?} {on_b:?}"
        );

        // The approved request, polled on both instances at once: one token is issued.
        let (on_a, on_b) = tokio::join!(
            rp.token(&a, &req.auth_req_id),
            rp.token(&b, &req.auth_req_id)
        );
        assert!(
            on_a.is_ok() != on_b.is_ok(),
            "round {round}: tokens issued: {on_a:?} {on_b:?}"
        );
    }
    b.server.shutdown().await;
}

/// Exactly one of `on_a` and `on_b` is `Ok`: that one, and the other's failure.
#[track_caller]
fn one_of<T>(
    round: usize,
    what: &str,
    on_a: Result<T, Failure>,
    on_b: Result<T, Failure>,
) -> (T, Failure) {
    match (on_a, on_b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        // What was granted is not printed (tokens).
        (a, b) => panic!(
            "round {round}: {what} did not succeed exactly once: {:?} {:?}",
            a.map(|_| "granted"),
            b.map(|_| "granted")
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_authorization_code_on_both_instances_gives_one_token_response() {
    let a = Harness::start().await;
    let b = second_instance(&a).await;
    let rp = client(&a, false);
    let device = a.practitioner(RPPS).await;
    let login_id = format!("8{RPPS}");
    for round in 0..ROUNDS {
        let (_browser, ask, cb) = login(&a, &rp, &device, &login_id).await;
        let (on_a, on_b) = tokio::join!(
            exchange(&a, &rp, cb.code(), CALLBACK, &ask.verifier),
            exchange(&b, &rp, cb.code(), CALLBACK, &ask.verifier)
        );
        let (won, lost) = one_of(round, "the code exchange", on_a, on_b);
        assert_eq!(
            lost.status,
            StatusCode::BAD_REQUEST,
            "round {round}: {lost:?}"
        );
        assert_eq!(lost.body.error, "invalid_grant", "round {round}: {lost:?}");
        // The second use revoked what the first gave, on every instance (RFC 6749 §4.1.2).
        for h in [&a, &b] {
            let r = userinfo(h, &s(&won, "access_token")).await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "round {round}");
        }
        expect_err(
            refresh(&b, &rp, &s(&won, "refresh_token")).await,
            400,
            "invalid_grant",
        );
    }
    b.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_refresh_token_on_both_instances_rotates_once_and_the_replay_revokes_the_family() {
    let a = Harness::start().await;
    let b = second_instance(&a).await;
    let rp = client(&a, false);
    let device = a.practitioner(RPPS).await;
    let login_id = format!("8{RPPS}");
    for round in 0..ROUNDS {
        let (_browser, ask, cb) = login(&a, &rp, &device, &login_id).await;
        let t0 = exchange(&a, &rp, cb.code(), CALLBACK, &ask.verifier)
            .await
            .expect("exchange");
        let r0 = s(&t0, "refresh_token");
        let (on_a, on_b) = tokio::join!(refresh(&a, &rp, &r0), refresh(&b, &rp, &r0));
        let (t1, lost) = one_of(round, "the rotation", on_a, on_b);
        assert_eq!(
            lost.status,
            StatusCode::BAD_REQUEST,
            "round {round}: {lost:?}"
        );
        assert_eq!(lost.body.error, "invalid_grant", "round {round}: {lost:?}");
        assert_ne!(s(&t1, "refresh_token"), r0);
        // The losing use was a replay: the whole family is gone, on every instance.
        for h in [&a, &b] {
            let r = userinfo(h, &s(&t1, "access_token")).await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "round {round}");
            expect_err(
                refresh(h, &rp, &s(&t1, "refresh_token")).await,
                400,
                "invalid_grant",
            );
        }
    }
    b.server.shutdown().await;
}

/// Redeems `qr` on `h` as `rp`.
async fn redeem(h: &Harness, rp: &Rp, qr: &str) -> Result<RedeemResponse, Failure> {
    let r = h
        .http
        .post(h.url(PATH_REDEEM))
        .basic_auth(&rp.id, Some(&rp.secret))
        .json(&RedeemRequest { qr: qr.to_owned() })
        .send()
        .await
        .expect("redeem");
    read(r).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_qr_presentation_on_both_instances_is_redeemed_once() {
    let a = Harness::start().await;
    let b = second_instance(&a).await;
    let rp = a.client(CodeMode::Type).await;
    let code = a
        .admin()
        .add_insured("INS-race", "Paul", "Durand")
        .expect("insured");
    let insured = Device::enrol(&a, &code).await.expect("enrol insured");
    let credential = B64URL
        .decode(
            insured
                .enrolment
                .credential
                .as_deref()
                .expect("a credential"),
        )
        .expect("base64url");
    for round in 0..ROUNDS {
        let qr = present(
            &insured.key,
            PresentationSource::Offline(&credential),
            a.now(),
            120,
            None,
        )
        .expect("presentation");
        let (on_a, on_b) = tokio::join!(redeem(&a, &rp, &qr), redeem(&b, &rp, &qr));
        let (won, lost) = one_of(round, "the redemption", on_a, on_b);
        assert_eq!(won.identity.subject_name_id, "INS-race");
        assert_eq!(lost.status, StatusCode::CONFLICT, "round {round}: {lost:?}");
        assert_eq!(
            lost.body.error, "already_redeemed",
            "round {round}: {lost:?}"
        );
    }
    b.server.shutdown().await;
}
