// SPDX-License-Identifier: Apache-2.0
//! CIBA login flows over real HTTP with a real SQLite file: the relying party asks, the
//! device answers, the relying party gets an ID token or the matching error.

mod common;

use std::time::{Duration, Instant};

use common::{expect_err, read, Harness};
use serde_json::Value;
use vistalid_core::jws;
use vistalid_core::keys::SigningKey;
use vistalid_core::protocol::{
    CodeMode, Decision, CIBA_GRANT_TYPE, PATH_CHALLENGES, PATH_CIBA, PATH_TOKEN,
};

const RPPS: &str = "10101010101";

#[tokio::test]
async fn pick_mode_login_gives_a_verified_id_token() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;

    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    assert_eq!(ciba.expires_in, 120);
    assert_eq!(ciba.interval, 0);
    assert_eq!(ciba.dynamic_code.len(), 2);
    assert!(ciba.dynamic_code.bytes().all(|b| b.is_ascii_digit()));
    expect_err(
        rp.token(&h, &ciba.auth_req_id).await,
        400,
        "authorization_pending",
    );

    let c = dev.one_challenge(&h).await;
    assert_eq!(c.mode, CodeMode::Pick);
    assert_eq!(c.candidates.len(), 3);
    assert!(c.candidates.contains(&ciba.dynamic_code));
    assert_eq!(c.service, "Dossier patient test");
    assert_eq!(c.binding_message, "Connexion au DMP");
    assert_eq!(c.context.ip.as_deref(), Some("192.0.2.10"));
    assert_eq!(c.context.place.as_deref(), Some("Lyon, FR"));
    assert_eq!(c.exp - c.iat, 120);

    let status = dev
        .answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await
        .expect("answer");
    assert_eq!(status, "approved");
    // Nothing pending any more.
    assert!(dev.fetch(&h, 0).await.expect("fetch").is_empty());

    let tok = rp.token(&h, &ciba.auth_req_id).await.expect("token");
    assert_eq!(tok["token_type"], "Bearer");
    assert!(tok["access_token"].as_str().expect("at").len() >= 43);
    let id_token = tok["id_token"].as_str().expect("id_token");
    let header = jws::peek_header(id_token).expect("header");
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let key = h.server_key().await;
    assert_eq!(header.kid, Some(key.thumbprint()));
    let claims: Value = jws::verify_json(id_token, &key, Some("JWT")).expect("verifies");
    assert_eq!(claims["iss"], h.server.base_url());
    assert_eq!(claims["aud"], rp.id);
    assert_eq!(claims["sub"], dev.enrolment.account_id);
    // Pro Santé Connect's national id: 8 + RPPS.
    assert_eq!(claims["SubjectNameID"], format!("8{RPPS}"));
    assert_eq!(claims["preferred_username"], format!("8{RPPS}"));
    assert_eq!(claims["given_name"], "Jeanne");
    assert_eq!(claims["family_name"], "Martin");
    assert_eq!(
        claims["SubjectRefPro"]["exercices"][0]["codeProfession"],
        "10"
    );
    assert_eq!(claims["acr"], "eidas1");
    // Unattested (the harness's device only reports a hardware keystore): `swk`; `hwk` needs
    // an attested hardware key (amr.rs).
    assert_eq!(claims["amr"], serde_json::json!(["pin", "swk", "mfa"]));
    assert_eq!(claims["auth_time"], h.now());
    assert!(claims["exp"].as_i64().expect("exp") > claims["iat"].as_i64().expect("iat"));

    // Issued once.
    expect_err(rp.token(&h, &ciba.auth_req_id).await, 400, "invalid_grant");
}

#[tokio::test]
async fn type_mode_has_no_candidates_and_checks_the_typed_code() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Type).await;
    let dev = h.practitioner(RPPS).await;
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    assert_eq!(c.mode, CodeMode::Type);
    assert!(c.candidates.is_empty());
    dev.answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await
        .expect("approved");
    rp.token(&h, &ciba.auth_req_id).await.expect("token");
}

#[tokio::test]
async fn long_poll_wakes_as_soon_as_a_challenge_is_queued() {
    let h = std::sync::Arc::new(Harness::start().await);
    let rp = h.client(CodeMode::Pick).await;
    let dev = std::sync::Arc::new(h.practitioner(RPPS).await);
    let started = Instant::now();
    let poll = {
        let (h, dev) = (h.clone(), dev.clone());
        tokio::spawn(async move { dev.fetch(&h, 20).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    rp.ciba(&h, RPPS).await.expect("ciba");
    let got = poll.await.expect("join").expect("fetch");
    assert_eq!(got.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "woken, not timed out"
    );
    // An empty long-poll returns after its wait.
    let dev2 = h.practitioner("20202020202").await;
    let t = Instant::now();
    assert!(dev2.fetch(&h, 1).await.expect("fetch").is_empty());
    assert!(t.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn every_device_of_the_account_gets_the_challenge_and_the_first_answer_wins() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let phone = h.practitioner(RPPS).await;
    let code = h.admin().new_activation_code(RPPS).expect("code");
    let tablet = common::Device::enrol(&h, &code)
        .await
        .expect("second device");
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let c1 = phone.one_challenge(&h).await;
    let c2 = tablet.one_challenge(&h).await;
    assert_ne!(c1.id, c2.id);
    assert_eq!(c1.candidates, c2.candidates);
    tablet
        .answer(&h, &c2.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await
        .expect("approved");
    assert!(phone.fetch(&h, 0).await.expect("fetch").is_empty());
    expect_err(
        phone.answer(&h, &c1.id, Decision::Deny, None).await,
        409,
        "challenge_already_answered",
    );
    rp.token(&h, &ciba.auth_req_id).await.expect("token");
}

#[tokio::test]
async fn replayed_answer_is_refused() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    let answer = dev.sign(&c.id, Decision::Approve, Some(&ciba.dynamic_code), h.now());
    dev.post_answer(&h, &c.id, answer.clone())
        .await
        .expect("first");
    expect_err(
        dev.post_answer(&h, &c.id, answer).await,
        409,
        "challenge_already_answered",
    );
    rp.token(&h, &ciba.auth_req_id)
        .await
        .expect("still one token");
}

#[tokio::test]
async fn expired_challenge_is_refused_and_the_rp_gets_expired_token() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    h.clock.advance(121);
    // No longer offered to the device.
    assert!(dev.fetch(&h, 0).await.expect("fetch").is_empty());
    expect_err(
        dev.answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
            .await,
        410,
        "challenge_expired",
    );
    expect_err(rp.token(&h, &ciba.auth_req_id).await, 400, "expired_token");
}

#[tokio::test]
async fn wrong_code_denies_the_login_and_is_counted() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    let wrong = c
        .candidates
        .iter()
        .find(|x| **x != ciba.dynamic_code)
        .expect("a decoy");
    expect_err(
        dev.answer(&h, &c.id, Decision::Approve, Some(wrong)).await,
        403,
        "wrong_code",
    );
    let f = expect_err(rp.token(&h, &ciba.auth_req_id).await, 400, "access_denied");
    assert!(f
        .body
        .error_description
        .as_deref()
        .expect("text")
        .contains("wrong code"));
    // The challenge is spent: the right code afterwards does not help.
    expect_err(
        dev.answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
            .await,
        409,
        "challenge_already_answered",
    );
    assert_eq!(h.admin().account_alerts(RPPS).expect("alerts"), (0, 1));
}

#[tokio::test]
async fn deny_and_not_me_deny_the_login_and_not_me_is_reported() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;

    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    assert_eq!(
        dev.answer(&h, &c.id, Decision::Deny, None)
            .await
            .expect("deny"),
        "denied"
    );
    expect_err(rp.token(&h, &ciba.auth_req_id).await, 400, "access_denied");

    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    assert_eq!(
        dev.answer(&h, &c.id, Decision::NotMe, None)
            .await
            .expect("not me"),
        "reported"
    );
    let f = expect_err(rp.token(&h, &ciba.auth_req_id).await, 400, "access_denied");
    assert!(f
        .body
        .error_description
        .as_deref()
        .expect("text")
        .contains("not theirs"));
    assert_eq!(h.admin().account_alerts(RPPS).expect("alerts"), (1, 0));
}

#[tokio::test]
async fn bad_or_missing_signatures_and_foreign_devices_are_refused() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let other = h.practitioner("20202020202").await;
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    let code = Some(ciba.dynamic_code.as_str());

    // Signed by a key the server does not know, claiming to be the device.
    let impostor = common::Device {
        key: SigningKey::make().expect("key"),
        enrolment: dev.enrolment.clone(),
    };
    expect_err(
        impostor.answer(&h, &c.id, Decision::Approve, code).await,
        401,
        "invalid_signature",
    );
    // Signature stripped.
    let jws = dev.sign(&c.id, Decision::Approve, code, h.now());
    let unsigned = jws.rsplit_once('.').expect("3 parts").0.to_owned() + ".";
    expect_err(
        dev.post_answer(&h, &c.id, unsigned).await,
        400,
        "invalid_request",
    );
    // Not a JWS at all.
    expect_err(
        dev.post_answer(&h, &c.id, "garbage".into()).await,
        400,
        "invalid_request",
    );
    // Unknown device id.
    let mut ghost_enrolment = dev.enrolment.clone();
    ghost_enrolment.device_id = "no-such-device".into();
    let ghost = common::Device {
        key: SigningKey::make().expect("key"),
        enrolment: ghost_enrolment,
    };
    expect_err(
        ghost.answer(&h, &c.id, Decision::Approve, code).await,
        401,
        "unknown_device",
    );
    // Another enrolled device answering this device's challenge.
    expect_err(
        other.answer(&h, &c.id, Decision::Approve, code).await,
        403,
        "wrong_device",
    );
    // Signed for another challenge id than the path.
    let jws = dev.sign("other-id", Decision::Approve, code, h.now());
    expect_err(
        dev.post_answer(&h, &c.id, jws).await,
        400,
        "invalid_request",
    );
    // Unknown challenge id.
    expect_err(
        dev.answer(&h, "nope", Decision::Deny, None).await,
        404,
        "unknown_challenge",
    );
    // Approve without a code.
    expect_err(
        dev.answer(&h, &c.id, Decision::Approve, None).await,
        400,
        "invalid_request",
    );
    // After all that, the genuine answer still works.
    dev.answer(&h, &c.id, Decision::Approve, code)
        .await
        .expect("approved");
    rp.token(&h, &ciba.auth_req_id).await.expect("token");
}

#[tokio::test]
async fn revoked_device_is_locked_out() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    assert!(h.admin().revoke_device(dev.id()).expect("revoke"));
    assert!(!h.admin().revoke_device(dev.id()).expect("again"));
    expect_err(dev.fetch(&h, 0).await, 401, "invalid_token");
    expect_err(
        dev.answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
            .await,
        401,
        "device_revoked",
    );
    let devices = h.admin().list_devices(RPPS).expect("list");
    assert!(devices[0].revoked_at.is_some());
    // The account has no active device now.
    expect_err(rp.ciba(&h, RPPS).await, 400, "unknown_user_id");
    // Bad bearer tokens.
    let r = h
        .http
        .get(h.url(PATH_CHALLENGES))
        .send()
        .await
        .expect("send");
    expect_err(read::<Value>(r).await, 401, "invalid_token");
    let r = h
        .http
        .get(h.url(PATH_CHALLENGES))
        .bearer_auth("x".repeat(43))
        .send()
        .await
        .expect("send");
    expect_err(read::<Value>(r).await, 401, "invalid_token");
    let r = h
        .http
        .get(format!("{}?wait=abc", h.url(PATH_CHALLENGES)))
        .bearer_auth(&dev.enrolment.poll_token)
        .send()
        .await
        .expect("send");
    expect_err(read::<Value>(r).await, 400, "invalid_request");
}

#[tokio::test]
async fn client_authentication_and_grant_ownership() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let rp2 = h.client(CodeMode::Pick).await;
    let _dev = h.practitioner(RPPS).await;
    let mut bad = rp.clone();
    bad.secret.push('x');
    expect_err(bad.ciba(&h, RPPS).await, 401, "invalid_client");
    let mut unknown = rp.clone();
    unknown.id = "unknown".into();
    expect_err(unknown.ciba(&h, RPPS).await, 401, "invalid_client");
    // No Authorization header at all.
    let r = h
        .http
        .post(h.url(PATH_CIBA))
        .form(&[("scope", "openid"), ("login_hint", RPPS)])
        .send()
        .await
        .expect("send");
    assert!(r.headers().contains_key("www-authenticate"));
    expect_err(read::<Value>(r).await, 401, "invalid_client");

    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    expect_err(
        bad.token(&h, &ciba.auth_req_id).await,
        401,
        "invalid_client",
    );
    // Another client cannot redeem this request.
    expect_err(rp2.token(&h, &ciba.auth_req_id).await, 400, "invalid_grant");
    expect_err(rp.token(&h, "unknown-id").await, 400, "invalid_grant");
    // Wrong grant type and missing parameters.
    let r = h
        .http
        .post(h.url(PATH_TOKEN))
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(&[("grant_type", "password"), ("code", "x")])
        .send()
        .await
        .expect("send");
    expect_err(read::<Value>(r).await, 400, "unsupported_grant_type");
    // The authorization-code grant exists (the browser login) and names what is missing.
    let r = h
        .http
        .post(h.url(PATH_TOKEN))
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .expect("send");
    let e = expect_err(read::<Value>(r).await, 400, "invalid_request");
    assert!(e
        .body
        .error_description
        .unwrap_or_default()
        .contains("redirect_uri"));
    let r = h
        .http
        .post(h.url(PATH_TOKEN))
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(&[("grant_type", CIBA_GRANT_TYPE)])
        .send()
        .await
        .expect("send");
    expect_err(read::<Value>(r).await, 400, "invalid_request");
}

#[tokio::test]
async fn ciba_accepts_client_secret_post_as_discovery_lists_it() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let _dev = h.practitioner(RPPS).await;
    let discovery: Value = h
        .http
        .get(h.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    let methods = discovery["token_endpoint_auth_methods_supported"].clone();
    assert_eq!(
        methods,
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    let post = |form: Vec<(&'static str, String)>| {
        let h = &h;
        async move {
            let r = h
                .http
                .post(h.url(PATH_CIBA))
                .form(&form)
                .send()
                .await
                .expect("send");
            (r.status().as_u16(), r.json::<Value>().await.expect("json"))
        }
    };
    let base = || {
        vec![
            ("scope", "openid".to_owned()),
            ("login_hint", RPPS.to_owned()),
            ("client_id", rp.id.clone()),
        ]
    };
    // client_secret_post: the form's id and secret.
    let mut form = base();
    form.push(("client_secret", rp.secret.clone()));
    let (status, body) = post(form).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["auth_req_id"].is_string());
    // A wrong posted secret, or none, is invalid_client.
    let mut form = base();
    form.push(("client_secret", format!("{}x", rp.secret)));
    let (status, body) = post(form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = post(base()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // Both methods at once is refused (RFC 6749 §2.3).
    let r = h
        .http
        .post(h.url(PATH_CIBA))
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(&[
            ("scope", "openid"),
            ("login_hint", RPPS),
            ("client_secret", rp.secret.as_str()),
        ])
        .send()
        .await
        .expect("send");
    expect_err(read::<Value>(r).await, 400, "invalid_request");
    // HTTP Basic still works.
    rp.ciba(&h, RPPS).await.expect("basic");
}

#[tokio::test]
async fn ciba_request_validation() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let _dev = h.practitioner(RPPS).await;
    let long = "x".repeat(200);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("login_hint", RPPS)], "invalid_scope"),
        (
            vec![("scope", "profile"), ("login_hint", RPPS)],
            "invalid_scope",
        ),
        (vec![("scope", "openid")], "invalid_request"),
        (
            vec![("scope", "openid"), ("login_hint", "99999999999")],
            "unknown_user_id",
        ),
        (
            vec![
                ("scope", "openid"),
                ("login_hint", RPPS),
                ("binding_message", &long),
            ],
            "invalid_binding_message",
        ),
        (
            vec![
                ("scope", "openid"),
                ("login_hint", RPPS),
                ("id_token_hint", "x"),
            ],
            "invalid_request",
        ),
    ];
    for (form, error) in cases {
        expect_err(rp.ciba_form(&h, &form).await, 400, error);
    }
    // Duplicate parameters and a non-form body.
    let r = h
        .http
        .post(h.url(PATH_CIBA))
        .basic_auth(&rp.id, Some(&rp.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("scope=openid&scope=openid&login_hint=1")
        .send()
        .await
        .expect("send");
    expect_err(read::<Value>(r).await, 400, "invalid_request");
    let r = h
        .http
        .post(h.url(PATH_CIBA))
        .basic_auth(&rp.id, Some(&rp.secret))
        .json(&serde_json::json!({"scope": "openid"}))
        .send()
        .await
        .expect("send");
    expect_err(read::<Value>(r).await, 415, "invalid_request");
    let r = h
        .http
        .post(h.url(PATH_CIBA))
        .basic_auth(&rp.id, Some(&rp.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("scope=openid&login_hint={}", "1".repeat(40_000)))
        .send()
        .await
        .expect("send");
    expect_err(read::<Value>(r).await, 413, "request_too_large");
}

#[tokio::test]
async fn polling_faster_than_the_interval_gets_slow_down() {
    let h = Harness::start_with(|c| c.poll_interval_secs = 5).await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    assert_eq!(ciba.interval, 5);
    expect_err(
        rp.token(&h, &ciba.auth_req_id).await,
        400,
        "authorization_pending",
    );
    h.clock.advance(2);
    expect_err(rp.token(&h, &ciba.auth_req_id).await, 400, "slow_down");
    h.clock.advance(5);
    expect_err(
        rp.token(&h, &ciba.auth_req_id).await,
        400,
        "authorization_pending",
    );
    let c = dev.one_challenge(&h).await;
    dev.answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await
        .expect("approve");
    // Once approved, the token comes even if the poll is early.
    rp.token(&h, &ciba.auth_req_id).await.expect("token");
}

#[tokio::test]
async fn push_fatigue_guard_limits_pending_requests() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(rp.ciba(&h, RPPS).await.expect("ciba").auth_req_id);
    }
    let f = expect_err(rp.ciba(&h, RPPS).await, 429, "slow_down");
    assert!(f
        .body
        .error_description
        .as_deref()
        .expect("text")
        .contains("pending"));
    assert_eq!(dev.fetch(&h, 0).await.expect("fetch").len(), 3);
    // Answering one frees a slot.
    let first = dev.fetch(&h, 0).await.expect("fetch");
    let c = dev.verify(&first[0]);
    dev.answer(&h, &c.id, Decision::Deny, None)
        .await
        .expect("deny");
    rp.ciba(&h, RPPS).await.expect("slot freed");
    // Expiry frees them all.
    h.clock.advance(121);
    rp.ciba(&h, RPPS).await.expect("after expiry");
}

#[tokio::test]
async fn restart_mid_flow_loses_nothing() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let h = h.restart().await;
    let c = dev.one_challenge(&h).await;
    dev.answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await
        .expect("approve after restart");
    let h = h.restart().await;
    let tok = rp
        .token(&h, &ciba.auth_req_id)
        .await
        .expect("token after restart");
    let claims: Value = jws::verify_json(
        tok["id_token"].as_str().expect("id"),
        &h.server_key().await,
        None,
    )
    .expect("verifies");
    assert_eq!(claims["SubjectNameID"], format!("8{RPPS}"));
}

#[tokio::test]
async fn discovery_and_id_token_pass_the_openidconnect_crate() {
    use openidconnect::core::{
        CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
        CoreProviderMetadata,
    };
    use openidconnect::{ClientId, IssuerUrl, Nonce};

    let h = Harness::start().await;
    // The library checks expiry against the real clock.
    h.clock.set(vistalid_core::clock::Clock::now(
        &vistalid_core::clock::SystemClock,
    ));
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    dev.answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await
        .expect("approve");
    let tok = rp.token(&h, &ciba.auth_req_id).await.expect("token");

    let discovery: Value = h
        .http
        .get(h.url(vistalid_core::protocol::PATH_DISCOVERY))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    let metadata: CoreProviderMetadata =
        serde_json::from_value(discovery).expect("openidconnect parses the discovery document");
    assert_eq!(metadata.issuer().as_str(), h.server.base_url());
    let jwks: CoreJsonWebKeySet = h
        .http
        .get(metadata.jwks_uri().as_str())
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("openidconnect parses the JWKS");
    let issuer = IssuerUrl::new(h.server.base_url().to_owned()).expect("issuer");
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(rp.id.clone()),
        issuer.clone(),
        jwks.clone(),
    )
    .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let id_token: CoreIdToken = tok["id_token"]
        .as_str()
        .expect("id")
        .parse()
        .expect("parse");
    let claims = id_token
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .expect("the ID token verifies");
    assert_eq!(claims.subject().as_str(), dev.enrolment.account_id);
    assert!(claims.auth_time().is_some());
    let other =
        CoreIdTokenVerifier::new_public_client(ClientId::new("someone-else".into()), issuer, jwks)
            .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    assert!(id_token.claims(&other, |_: Option<&Nonce>| Ok(())).is_err());
}

#[tokio::test]
async fn a_custom_push_sender_gets_only_ids() {
    #[derive(Default)]
    struct Recorder(std::sync::Mutex<Vec<(String, String)>>);
    impl vistalid_server::PushSender for Recorder {
        fn notify(&self, device_id: &str, challenge_id: &str) {
            self.0
                .lock()
                .expect("lock")
                .push((device_id.to_owned(), challenge_id.to_owned()));
        }
    }
    let recorder = std::sync::Arc::new(Recorder::default());
    let push = recorder.clone();
    let h = Harness::start_with(move |c| c.push = Some(push)).await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    let sent = recorder.0.lock().expect("lock").clone();
    assert_eq!(sent, vec![(dev.id().to_owned(), c.id.clone())]);
    let _ = ciba;
}
