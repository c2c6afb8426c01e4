// SPDX-License-Identifier: Apache-2.0
//! What a relying party cannot make the server push to a user (issue 13): requests for an
//! account held after "not me" or wrong picks, requests for insured accounts, text that is not
//! display-safe; and what the ID token says about the subject.

mod common;

use common::{expect_err, read, Harness};
use serde_json::Value;
use vistalid_core::jws;
use vistalid_core::protocol::{CodeMode, Decision, PATH_CIBA};

const RPPS: &str = "10101010101";

/// Issue 13 item 3: "not me" holds new requests for the account, wrong picks back off.
/// Five requests queued, three answered "not me" and two with a decoy: the next request is
/// refused, with the reason, until the hold is over.
#[tokio::test]
async fn not_me_and_wrong_picks_hold_new_requests_for_the_account() {
    let h = Harness::start_with(|c| c.max_pending_per_account = 5).await;
    let rp = h.client(CodeMode::Pick).await;
    let other_rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(rp.ciba(&h, RPPS).await.expect("queued").dynamic_code);
    }
    let pending = dev.fetch(&h, 0).await.expect("fetch");
    assert_eq!(pending.len(), 5);
    for (i, token) in pending.iter().enumerate() {
        let c = dev.verify(token);
        if i < 3 {
            dev.answer(&h, &c.id, Decision::NotMe, None)
                .await
                .expect("reported");
        } else {
            // Challenges come in the order the requests were queued.
            let right = &codes[i];
            let decoy = c.candidates.iter().find(|x| *x != right).expect("decoy");
            expect_err(
                dev.answer(&h, &c.id, Decision::Approve, Some(decoy)).await,
                403,
                "wrong_code",
            );
        }
    }
    // The very next request, by any client, is refused with the reason.
    for who in [&rp, &other_rp] {
        let f = expect_err(who.ciba(&h, RPPS).await, 403, "access_denied");
        let text = f.body.error_description.expect("description");
        assert!(text.contains("not theirs"), "{text}");
    }
    assert!(dev.fetch(&h, 0).await.expect("fetch").is_empty(), "no push");
    // Still held just before the end of the hold, accepted after it.
    h.clock.advance(15 * 60 - 1);
    expect_err(rp.ciba(&h, RPPS).await, 403, "access_denied");
    h.clock.advance(1);
    // Two wrong picks in a row: the wrong-pick back-off (30 s, then 60 s) is over by now.
    rp.ciba(&h, RPPS).await.expect("accepted after the hold");
}

/// Issue 13 item 3: consecutive wrong picks back off exponentially (base 30 s, doubling,
/// capped); a right pick ends the streak.
#[tokio::test]
async fn consecutive_wrong_picks_back_off_exponentially() {
    let h = Harness::start_with(|c| {
        c.wrong_pick_backoff_secs = 10;
        c.wrong_pick_backoff_max_secs = 35;
    })
    .await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let wrong_pick = |ciba: vistalid_core::protocol::CibaResponse| {
        let (h, dev) = (&h, &dev);
        async move {
            let c = dev.one_challenge(h).await;
            let decoy = c
                .candidates
                .iter()
                .find(|x| **x != ciba.dynamic_code)
                .expect("decoy")
                .clone();
            expect_err(
                dev.answer(h, &c.id, Decision::Approve, Some(&decoy)).await,
                403,
                "wrong_code",
            );
        }
    };
    for wait in [10, 20, 35, 35] {
        wrong_pick(rp.ciba(&h, RPPS).await.expect("accepted")).await;
        let r = h
            .http
            .post(h.url(PATH_CIBA))
            .basic_auth(&rp.id, Some(&rp.secret))
            .form(&[("scope", "openid"), ("login_hint", RPPS)])
            .send()
            .await
            .expect("send");
        assert_eq!(r.status().as_u16(), 429, "held for {wait} s");
        let retry: i64 = r.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert_eq!(retry, wait);
        let f = expect_err(read::<Value>(r).await, 429, "slow_down");
        assert!(f
            .body
            .error_description
            .expect("text")
            .contains("wrong code"));
        h.clock.advance(wait - 1);
        expect_err(rp.ciba(&h, RPPS).await, 429, "slow_down");
        h.clock.advance(1);
    }
    // A right pick ends the streak: the next wrong pick is back at the base delay.
    let ciba = rp.ciba(&h, RPPS).await.expect("accepted");
    let c = dev.one_challenge(&h).await;
    dev.answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await
        .expect("approved");
    wrong_pick(rp.ciba(&h, RPPS).await.expect("accepted")).await;
    h.clock.advance(10);
    rp.ciba(&h, RPPS).await.expect("base delay again");
}

/// Issue 13 item 7: insured accounts cannot be pushed a login by the pseudonymous id every
/// offline QR carries; ADR 0002: their own login identifier (never in a QR) works.
#[tokio::test]
async fn ciba_refuses_insured_accounts() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let code = h
        .admin()
        .add_insured("ps-4f2a9c", "Léa", "Bernard")
        .expect("insured");
    let ins = common::Device::enrol(&h, &code).await.expect("enrol");
    let f = expect_err(rp.ciba(&h, "ps-4f2a9c").await, 400, "unknown_user_id");
    assert!(f.body.error_description.is_some());
    assert!(ins.fetch(&h, 0).await.expect("fetch").is_empty(), "no push");
    let login_id = ins.enrolment.login_id.clone().expect("a login identifier");
    assert!(!login_id.contains("ps-4f2a9c"));
    rp.ciba(&h, &login_id.to_lowercase())
        .await
        .expect("the login id works");
    assert_eq!(ins.fetch(&h, 0).await.expect("fetch").len(), 1);
}

/// Issue 13 item 7: the ID token says which kind of account logged in.
#[tokio::test]
async fn id_token_says_the_account_kind() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    dev.answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await
        .expect("approve");
    let tok = rp.token(&h, &ciba.auth_req_id).await.expect("token");
    let claims: Value = jws::verify_json(
        tok["id_token"].as_str().expect("id"),
        &h.server_key().await,
        Some("JWT"),
    )
    .expect("verifies");
    assert_eq!(claims["vistalid_account_kind"], "practitioner");
    let d: Value = h
        .http
        .get(h.url(vistalid_core::protocol::PATH_DISCOVERY))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    assert!(d["claims_supported"]
        .as_array()
        .expect("array")
        .contains(&Value::from("vistalid_account_kind")));
}

/// Issue 13 item 8: format, bidirectional and line-separator characters are refused in every
/// text the approval card shows.
#[tokio::test]
async fn format_and_separator_characters_are_refused_in_ciba_text() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    for bad in [
        "DMP\u{2028}Service : Banque",
        "Connexion \u{202E}PMD",
        "a\u{2029}b",
        "x\u{200F}",
        "x\u{2066}y",
        "x\u{061C}",
        "x\u{FEFF}",
    ] {
        for (field, error) in [
            ("binding_message", "invalid_binding_message"),
            ("vistalid_place", "invalid_request"),
            ("vistalid_ip", "invalid_request"),
            ("vistalid_user_agent", "invalid_request"),
            ("acr_values", "invalid_request"),
        ] {
            let form = [("scope", "openid"), ("login_hint", RPPS), (field, bad)];
            let f = expect_err(rp.ciba_form(&h, &form).await, 400, error);
            assert!(
                f.body.error_description.expect("text").contains(field),
                "{field}"
            );
        }
    }
    assert!(
        dev.fetch(&h, 0).await.expect("fetch").is_empty(),
        "nothing signed"
    );
    // Accents and other scripts still pass.
    rp.ciba_form(
        &h,
        &[
            ("scope", "openid"),
            ("login_hint", RPPS),
            ("binding_message", "Connexion à l’hôpital"),
            ("vistalid_place", "Saint-Étienne, FR"),
        ],
    )
    .await
    .expect("plain text passes");
}
