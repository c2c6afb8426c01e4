// SPDX-License-Identifier: Apache-2.0
//! Userinfo (JSON, signed, the insured's claims, RFC 6750 401s), RP-initiated logout (the
//! registered return only, the session closed page) and discovery over loopback HTTP
//! (ADR 0002), after real browser logins.

#[path = "support/browser.rs"]
mod browser;
mod common;
#[path = "support/tokens.rs"]
mod tokens;

use browser::{location, Ask, Browser, Page};
use common::{expect_err, read, Device, Harness};
use reqwest::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::Value;
use tokens::{client, exchange, login, refresh, s, setup, userinfo, BYE, CALLBACK, RPPS};
use vistalid_core::jws;
use vistalid_core::protocol::{PATH_DISCOVERY, PATH_END_SESSION, PATH_JWKS, PATH_USERINFO};

#[tokio::test]
async fn userinfo_refuses_missing_bad_and_expired_tokens_with_a_bearer_challenge() {
    let (h, rp, device, login_id) = setup().await;
    let (_b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    let access = s(&t, "access_token");
    // POST with the token in the form works too.
    let r = h
        .http
        .post(h.url(PATH_USERINFO))
        .form(&[("access_token", access.as_str())])
        .send()
        .await
        .expect("userinfo");
    assert_eq!(r.status(), StatusCode::OK);
    let none = h
        .http
        .get(h.url(PATH_USERINFO))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let challenge = none.headers()[WWW_AUTHENTICATE]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    expect_err(read::<Value>(none).await, 401, "invalid_token");
    for bad in [browser::random(32), access.clone() + "x"] {
        let r = userinfo(&h, &bad).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let challenge = r.headers()[WWW_AUTHENTICATE]
            .to_str()
            .expect("text")
            .to_owned();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    }
    h.clock.advance(119);
    assert_eq!(userinfo(&h, &access).await.status(), StatusCode::OK);
    h.clock.advance(1);
    let r = userinfo(&h, &access).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "expired after 120 s");
    assert!(r.headers()[WWW_AUTHENTICATE]
        .to_str()
        .expect("text")
        .contains("invalid_token"));
}

#[tokio::test]
async fn a_client_registered_for_signed_userinfo_gets_an_es256_jwt() {
    let h = Harness::start().await;
    let rp = client(&h, true);
    let device = h.practitioner(RPPS).await;
    let (_b, ask, cb) = login(&h, &rp, &device, &format!("8{RPPS}")).await;
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    let r = userinfo(&h, &s(&t, "access_token")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_TYPE], "application/jwt");
    let jwt = r.text().await.expect("body");
    let header = jws::peek_header(&jwt).expect("header");
    assert!(header.kid.is_some());
    let c: Value = jws::verify_json(&jwt, &h.server_key().await, Some("JWT")).expect("signed");
    assert_eq!(c["iss"], h.server.base_url());
    assert_eq!(c["aud"], rp.id.as_str());
    assert_eq!(c["sub"], device.enrolment.account_id.as_str());
    assert_eq!(c["SubjectNameID"], format!("8{RPPS}").as_str());
}

/// A logout request of `b` with `query`.
async fn logout(h: &Harness, b: &mut Browser, query: &[(&str, &str)]) -> Page {
    let mut url = url::Url::parse(&h.url(PATH_END_SESSION)).expect("url");
    url.query_pairs_mut().extend_pairs(query);
    b.get(url.as_str()).await
}

#[tokio::test]
async fn logout_refuses_an_unregistered_post_logout_redirect_uri_and_ends_nothing() {
    let (h, rp, device, login_id) = setup().await;
    let (mut b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    let hint = s(&t, "id_token");
    for evil in [
        "https://evil.example/bye",
        "http://127.0.0.1:9/bye/../evil",
        "http://127.0.0.1:9/bye?x=1",
    ] {
        let r = logout(
            &h,
            &mut b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", evil),
                ("state", "s1"),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{evil}");
        assert!(r.location.is_none(), "never redirected to {evil}");
        assert!(r.body.contains("data-state=\"error\""), "{}", r.body);
    }
    // A redirect without any client to check it against is refused too.
    let r = logout(&h, &mut b, &[("post_logout_redirect_uri", BYE)]).await;
    assert_eq!(r.status, 400);
    // A forged hint (signed by another key) is refused.
    let forged = jws::sign_json(
        &vistalid_core::keys::SigningKey::make().expect("key"),
        "JWT",
        &serde_json::json!({ "iss": h.server.base_url(), "aud": rp.id, "sid": "x" }),
    )
    .expect("sign");
    let r = logout(
        &h,
        &mut b,
        &[
            ("id_token_hint", &forged),
            ("post_logout_redirect_uri", BYE),
        ],
    )
    .await;
    assert_eq!(r.status, 400);
    // Nothing was ended: the tokens still work.
    assert_eq!(
        userinfo(&h, &s(&t, "access_token")).await.status(),
        StatusCode::OK
    );
    refresh(&h, &rp, &s(&t, "refresh_token"))
        .await
        .expect("session stands");
}

#[tokio::test]
async fn logout_with_a_registered_redirect_ends_the_session_and_its_tokens() {
    let (h, rp, device, login_id) = setup().await;
    let (mut b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    assert!(b.has_cookie("vl_session"), "{:?}", b.ua.cookies());
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    let r = logout(
        &h,
        &mut b,
        &[
            ("id_token_hint", &s(&t, "id_token")),
            ("post_logout_redirect_uri", BYE),
            ("state", "bye-1"),
        ],
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(location(&r), format!("{BYE}?state=bye-1"));
    assert!(!b.has_cookie("vl_session"), "cookie cleared");
    assert_eq!(
        userinfo(&h, &s(&t, "access_token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    expect_err(
        refresh(&h, &rp, &s(&t, "refresh_token")).await,
        400,
        "invalid_grant",
    );
    // The browser has no session any more: a new request needs the phone again.
    let again = Ask::new(CALLBACK);
    assert!(
        b.authorize(&h, &rp, &again).await.is_err(),
        "a login page, not a code"
    );
}

#[tokio::test]
async fn logout_without_a_redirect_shows_the_session_closed_page_in_both_languages() {
    let (h, rp, device, login_id) = setup().await;
    let (mut b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    let r = confirm_logout(&h, &mut b, &[]).await;
    assert_eq!(r.status, 200);
    let html = r.body;
    assert!(html.contains("data-state=\"logged_out\""), "{html}");
    assert!(html.contains("lang=\"fr\""), "French by default");
    // The cookie named the session: it is over.
    expect_err(
        refresh(&h, &rp, &s(&t, "refresh_token")).await,
        400,
        "invalid_grant",
    );
    // No session left: nothing to confirm.
    let r = logout(&h, &mut b, &[("ui_locales", "en")]).await;
    let html = r.body;
    assert!(
        html.contains("lang=\"en\"") && html.contains("Session closed"),
        "{html}"
    );
}

/// A logout without `id_token_hint`: the confirmation page, then its form posted back.
async fn confirm_logout(h: &Harness, b: &mut Browser, query: &[(&str, &str)]) -> Page {
    let r = logout(h, b, query).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("data-state=\"logout_confirm\""),
        "{}",
        r.body
    );
    let form = r.html().form("logout").expect("form#logout");
    assert_eq!(form.method, "post");
    let fields: Vec<(&str, &str)> = form
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.post(&h.url(&form.action), &fields).await
}

#[tokio::test]
async fn logout_without_a_hint_asks_a_confirmation_protected_by_a_csrf_token() {
    let (h, rp, device, login_id) = setup().await;
    let (mut b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    let query = [
        ("client_id", rp.id.as_str()),
        ("post_logout_redirect_uri", BYE),
        ("state", "bye-2"),
        ("ui_locales", "en"),
    ];
    // GET without a hint: the confirmation page, in the language asked; nothing ended.
    let r = logout(&h, &mut b, &query).await;
    assert_eq!(r.status, 200);
    assert!(r.location.is_none());
    assert!(
        r.body.contains("data-state=\"logout_confirm\""),
        "{}",
        r.body
    );
    assert!(r.body.contains("Sign out?"), "{}", r.body);
    assert!(b.has_cookie("vl_session"));
    let access = s(&t, "access_token");
    assert_eq!(userinfo(&h, &access).await.status(), StatusCode::OK);
    let form = r.html().form("logout").expect("form#logout");
    let csrf = form.field("csrf").expect("csrf").to_owned();
    assert_eq!(form.field("post_logout_redirect_uri"), Some(BYE));
    // The confirmed POST answers with a 303 to the client: a browser follows it only if the
    // page's CSP names the client's origin in form-action (found with Chromium).
    let csp = r.headers["content-security-policy"]
        .to_str()
        .expect("ascii");
    let origin = url::Url::parse(BYE)
        .expect("url")
        .origin()
        .ascii_serialization();
    assert!(
        csp.contains(&format!("form-action 'self' {origin};")),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"));
    // A POST without the token, with a wrong one, or the token on a GET: the confirmation
    // again, nothing ended (another site cannot end the session).
    let mut posts: Vec<Vec<(&str, &str)>> = vec![query.to_vec()];
    let mut wrong = query.to_vec();
    wrong.push(("csrf", "AAAA"));
    posts.push(wrong);
    for form in posts {
        let r = b.post(&h.url(PATH_END_SESSION), &form).await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("data-state=\"logout_confirm\""));
    }
    let mut on_get = query.to_vec();
    on_get.push(("csrf", csrf.as_str()));
    let r = logout(&h, &mut b, &on_get).await;
    assert!(r.body.contains("data-state=\"logout_confirm\""));
    // A token made for another browser's session does not work in this one.
    let (mut other, _, _) = login(&h, &rp, &device, &login_id).await;
    let theirs = logout(&h, &mut other, &[]).await.html();
    let theirs = theirs
        .form("logout")
        .expect("form")
        .field("csrf")
        .expect("csrf")
        .to_owned();
    assert_ne!(theirs, csrf);
    let mut foreign = query.to_vec();
    foreign.push(("csrf", theirs.as_str()));
    let r = b.post(&h.url(PATH_END_SESSION), &foreign).await;
    assert!(r.body.contains("data-state=\"logout_confirm\""));
    assert_eq!(userinfo(&h, &access).await.status(), StatusCode::OK);
    // The confirmation form as the page gives it: the session ends, back to the client.
    let r = confirm_logout(&h, &mut b, &query).await;
    assert_eq!(r.status, 303);
    assert_eq!(location(&r), format!("{BYE}?state=bye-2"));
    assert!(!b.has_cookie("vl_session"));
    assert_eq!(
        userinfo(&h, &access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // A browser without a session has nothing to confirm.
    let r = logout(&h, &mut Browser::new(), &[]).await;
    assert!(r.body.contains("data-state=\"logged_out\""), "{}", r.body);
}

/// The server's discovery document.
async fn discovery(h: &Harness) -> Value {
    h.http
        .get(h.url(PATH_DISCOVERY))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn discovery_advertises_exactly_the_browser_login() {
    let h = Harness::start().await;
    let d = discovery(&h).await;
    let base = h.server.base_url();
    assert_eq!(d["userinfo_endpoint"], format!("{base}{PATH_USERINFO}"));
    assert_eq!(
        d["end_session_endpoint"],
        format!("{base}{PATH_END_SESSION}")
    );
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    // No offline-code key is configured here: the offline code's level is not advertised.
    assert_eq!(d["acr_values_supported"], serde_json::json!(["eidas1"]));
    assert_eq!(d["ui_locales_supported"], serde_json::json!(["fr", "en"]));
    assert_eq!(
        d["userinfo_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    for g in [
        "authorization_code",
        "refresh_token",
        "urn:openid:params:grant-type:ciba",
    ] {
        assert!(
            d["grant_types_supported"]
                .as_array()
                .expect("array")
                .contains(&Value::from(g)),
            "{g}"
        );
    }
    for c in [
        "sid",
        "nonce",
        "at_hash",
        "auth_time",
        "acr",
        "amr",
        "SubjectNameID",
        "SubjectRefPro",
    ] {
        assert!(
            d["claims_supported"]
                .as_array()
                .expect("array")
                .contains(&Value::from(c)),
            "{c}"
        );
    }
    let jwks: Value = h
        .http
        .get(h.url(PATH_JWKS))
        .send()
        .await
        .expect("j")
        .json()
        .await
        .expect("json");
    for k in jwks["keys"].as_array().expect("keys") {
        assert!(
            k["kid"].is_string() && k["use"] == "sig" && k["alg"] == "ES256",
            "{k}"
        );
    }
}

/// Discovery lists the offline code's level exactly when the server can give it: with an
/// offline-code key configured, beside eidas1; without one (above), eidas1 alone.
#[tokio::test]
async fn discovery_lists_the_offline_level_only_with_an_offline_code_key() {
    let key = vistalid_server::OfflineCodeKey::new("k1", [7u8; 32]).expect("key");
    let h = Harness::start_with(|c| {
        c.offline_code_keys = vistalid_server::OfflineKeys::new(vec![key]);
    })
    .await;
    let d = discovery(&h).await;
    assert_eq!(
        d["acr_values_supported"],
        serde_json::json!(["eidas1", vistalid_server::OFFLINE_ACR])
    );
}

#[tokio::test]
async fn an_insured_login_gets_the_insured_claims_and_no_practitioner_ones() {
    let h = Harness::start().await;
    let rp = client(&h, false);
    let code = h
        .admin()
        .add_insured("ps-4711", "Léa", "Bernard")
        .expect("insured");
    let device = Device::enrol(&h, &code).await.expect("enrol");
    let login_id = h.admin().login_id("ps-4711").expect("login id");
    assert!(login_id.starts_with('V'), "{login_id}");
    let (_b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    let c: Value =
        jws::verify_json(&s(&t, "id_token"), &h.server_key().await, Some("JWT")).expect("id token");
    let r = userinfo(&h, &s(&t, "access_token")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let u: Value = r.json().await.expect("json");
    for claims in [&c, &u] {
        assert_eq!(claims["sub"], device.enrolment.account_id.as_str());
        assert_eq!(claims["vistalid_account_kind"], "insured");
        assert_eq!(claims["given_name"], "Léa");
        assert_eq!(claims["family_name"], "Bernard");
        assert!(
            claims.get("SubjectRefPro").is_none(),
            "no practice: {claims}"
        );
        // The login identifier is typed by its user, never handed to services.
        assert!(!claims.to_string().contains(&login_id), "{claims}");
    }
}
