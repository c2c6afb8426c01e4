// SPDX-License-Identifier: Apache-2.0
//! The token endpoint's browser-login grants over loopback HTTP (ADR 0002): the
//! `authorization_code` grant (PKCE S256, client and redirect binding, 60 s, single use, both
//! client authentications), the ID token's claims, and the refresh rotation with its reuse
//! detection and its tie to the SSO session. Every rejection has its test; a login goes
//! through the real authorization endpoint, login page and phone approval.

#[path = "support/browser.rs"]
mod browser;
mod common;
#[path = "support/tokens.rs"]
mod tokens;

use browser::Ask;
use common::{expect_err, read, Rp};
use reqwest::StatusCode;
use serde_json::Value;
use tokens::{client, exchange, login, refresh, s, setup, token, userinfo, Auth, CALLBACK};
use vistalid_core::jws;
use vistalid_core::protocol::{PATH_JWKS, PATH_TOKEN};

#[tokio::test]
async fn a_code_gives_an_id_token_with_every_claim_and_the_tokens() {
    let (h, rp, device, login_id) = setup().await;
    let (_b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    assert_eq!(cb.iss.as_deref(), Some(h.server.base_url()));
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 120, "access token lives 2 min");
    assert_eq!(t["refresh_expires_in"], 1800, "refresh token lives 30 min");
    let id_token = s(&t, "id_token");
    let key = h.server_key().await;
    let header = jws::peek_header(&id_token).expect("header");
    let jwks: Value = h
        .http
        .get(h.url(PATH_JWKS))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert_eq!(
        header.kid.as_deref(),
        jwks["keys"][0]["kid"].as_str(),
        "header names the kid"
    );
    assert_eq!(header.alg, "ES256");
    let c: Value = jws::verify_json(&id_token, &key, Some("JWT")).expect("signed by the JWKS key");
    assert_eq!(c["iss"], h.server.base_url());
    assert_eq!(c["aud"], rp.id.as_str());
    assert_eq!(c["sub"], device.enrolment.account_id.as_str());
    assert_eq!(c["nonce"], ask.nonce.as_str());
    assert_eq!(c["acr"], "eidas1");
    // The device reported a hardware keystore but enrolled without an attestation: `swk`
    // (ADR 0001: `hwk` only for an attested key).
    assert_eq!(c["amr"], serde_json::json!(["pin", "swk", "mfa"]));
    assert_eq!(c["auth_time"], h.now());
    assert!(c["sid"].as_str().is_some_and(|sid| !sid.is_empty()), "{c}");
    assert_eq!(c["SubjectNameID"], login_id.as_str());
    assert_eq!(c["SubjectRefPro"]["exercices"][0]["codeProfession"], "10");
    // at_hash: the left half of the access token's SHA-256 (OIDC Core §3.1.3.6).
    let access = s(&t, "access_token");
    let digest = ring::digest::digest(&ring::digest::SHA256, access.as_bytes());
    use base64::Engine as _;
    let at_hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16]);
    assert_eq!(c["at_hash"], at_hash.as_str());
    // The access token answers userinfo.
    let r = userinfo(&h, &access).await;
    assert_eq!(r.status(), StatusCode::OK);
    let u: Value = r.json().await.expect("json");
    assert_eq!(u["sub"], c["sub"]);
    assert_eq!(u["SubjectNameID"], login_id.as_str());
    assert_eq!(u["preferred_username"], login_id.as_str());
    assert_eq!(u["given_name"], "Jeanne");
    assert_eq!(u["family_name"], "Martin");
    assert_eq!(u["SubjectRefPro"]["exercices"][0]["codeProfession"], "10");
}

#[tokio::test]
async fn pkce_missing_or_wrong_is_refused_and_the_code_still_works_with_the_right_one() {
    let (h, rp, device, login_id) = setup().await;
    let (_b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let no_verifier = token(
        &h,
        &rp,
        Auth::Basic,
        &[
            ("grant_type", "authorization_code"),
            ("code", cb.code()),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    let e = expect_err(no_verifier, 400, "invalid_request");
    assert!(e
        .body
        .error_description
        .unwrap_or_default()
        .contains("code_verifier"));
    let wrong = browser::random(32);
    let e = expect_err(
        exchange(&h, &rp, cb.code(), CALLBACK, &wrong).await,
        400,
        "invalid_grant",
    );
    assert!(e
        .body
        .error_description
        .unwrap_or_default()
        .contains("PKCE"));
    exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("the right verifier");
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_the_first_use_gave() {
    let (h, rp, device, login_id) = setup().await;
    let (_b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let first = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("first");
    assert_eq!(
        userinfo(&h, &s(&first, "access_token")).await.status(),
        StatusCode::OK
    );
    let e = expect_err(
        exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier).await,
        400,
        "invalid_grant",
    );
    assert!(e
        .body
        .error_description
        .unwrap_or_default()
        .contains("already used"));
    // What the first use issued no longer works.
    let r = userinfo(&h, &s(&first, "access_token")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    expect_err(
        refresh(&h, &rp, &s(&first, "refresh_token")).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn another_clients_code_is_unknown_to_it_and_stays_its_owners() {
    let (h, rp, device, login_id) = setup().await;
    let other = client(&h, false);
    let (_b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let e = expect_err(
        exchange(&h, &other, cb.code(), CALLBACK, &ask.verifier).await,
        400,
        "invalid_grant",
    );
    assert!(e
        .body
        .error_description
        .unwrap_or_default()
        .contains("unknown"));
    exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("owner");
}

#[tokio::test]
async fn a_code_expires_after_60_seconds() {
    let (h, rp, device, login_id) = setup().await;
    let (_b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    h.clock.advance(60);
    let e = expect_err(
        exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier).await,
        400,
        "invalid_grant",
    );
    assert!(e
        .body
        .error_description
        .unwrap_or_default()
        .contains("expired"));
}

#[tokio::test]
async fn a_code_is_bound_to_its_redirect_uri() {
    let (h, rp, device, login_id) = setup().await;
    let (_b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let e = expect_err(
        exchange(
            &h,
            &rp,
            cb.code(),
            "http://127.0.0.1:9/other",
            &ask.verifier,
        )
        .await,
        400,
        "invalid_grant",
    );
    assert!(e
        .body
        .error_description
        .unwrap_or_default()
        .contains("redirect_uri"));
    exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("its own");
}

#[tokio::test]
async fn client_secret_post_works_and_both_methods_at_once_do_not() {
    let (h, rp, device, login_id) = setup().await;
    let (_b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", cb.code()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", ask.verifier.as_str()),
    ];
    let both = h
        .http
        .post(h.url(PATH_TOKEN))
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(&[&form[..], &[("client_secret", rp.secret.as_str())]].concat())
        .send()
        .await
        .expect("token");
    expect_err(read::<Value>(both).await, 400, "invalid_request");
    let wrong = Rp {
        id: rp.id.clone(),
        secret: "wrong".into(),
    };
    expect_err(
        token(&h, &wrong, Auth::Post, &form).await,
        401,
        "invalid_client",
    );
    token(&h, &rp, Auth::Post, &form)
        .await
        .expect("client_secret_post");
}

#[tokio::test]
async fn refresh_rotates_and_a_replayed_token_revokes_the_family() {
    let (h, rp, device, login_id) = setup().await;
    let (_b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let t0 = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    let first_claims: Value =
        jws::verify_json(&s(&t0, "id_token"), &h.server_key().await, Some("JWT")).expect("id");
    h.clock.advance(100);
    let t1 = refresh(&h, &rp, &s(&t0, "refresh_token"))
        .await
        .expect("refresh");
    assert_ne!(s(&t1, "refresh_token"), s(&t0, "refresh_token"), "rotated");
    assert_ne!(s(&t1, "access_token"), s(&t0, "access_token"));
    let c: Value =
        jws::verify_json(&s(&t1, "id_token"), &h.server_key().await, Some("JWT")).expect("id");
    assert_eq!(c["sid"], first_claims["sid"]);
    assert_eq!(
        c["auth_time"], first_claims["auth_time"],
        "auth_time stays the approval's"
    );
    assert_eq!(
        userinfo(&h, &s(&t1, "access_token")).await.status(),
        StatusCode::OK
    );
    // Another client cannot use it.
    let other = client(&h, false);
    expect_err(
        refresh(&h, &other, &s(&t1, "refresh_token")).await,
        400,
        "invalid_grant",
    );
    // The rotated token comes back: the whole family goes.
    let e = expect_err(
        refresh(&h, &rp, &s(&t0, "refresh_token")).await,
        400,
        "invalid_grant",
    );
    assert!(e
        .body
        .error_description
        .unwrap_or_default()
        .contains("already used"));
    expect_err(
        refresh(&h, &rp, &s(&t1, "refresh_token")).await,
        400,
        "invalid_grant",
    );
    assert_eq!(
        userinfo(&h, &s(&t1, "access_token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_refresh_token_expires_after_30_minutes() {
    let (h, rp, device, login_id) = setup().await;
    let (_b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    h.clock.advance(1800);
    expect_err(
        refresh(&h, &rp, &s(&t, "refresh_token")).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn a_refresh_cannot_ask_for_a_scope_never_granted_and_keeps_its_token() {
    let (h, rp, device, login_id) = setup().await;
    let (_b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    assert_eq!(t["scope"], "openid");
    let wider = token(
        &h,
        &rp,
        Auth::Basic,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &s(&t, "refresh_token")),
            ("scope", "openid admin"),
        ],
    )
    .await;
    expect_err(wider, 400, "invalid_scope");
    // The refused request did not spend the token.
    let ok = token(
        &h,
        &rp,
        Auth::Post,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &s(&t, "refresh_token")),
            ("scope", "openid"),
        ],
    )
    .await
    .expect("refresh with the granted scope, client_secret_post");
    assert_eq!(ok["scope"], "openid");
}

#[tokio::test]
async fn a_refresh_is_a_use_of_the_session_and_keeps_it_from_going_idle() {
    let (h, rp, device, login_id) = setup().await;
    let other = client(&h, false);
    let (mut b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    // 25 minutes later the client refreshes; 25 more and the session (30 min idle) still
    // answers another client at once, since the refresh used it.
    h.clock.advance(25 * 60);
    refresh(&h, &rp, &s(&t, "refresh_token"))
        .await
        .expect("refresh");
    h.clock.advance(25 * 60);
    let cb = b
        .authorize(&h, &other, &Ask::new(CALLBACK))
        .await
        .expect("the session answers without the phone");
    assert!(cb.code.is_some(), "{cb:?}");
    // 31 minutes without any use: over.
    h.clock.advance(31 * 60);
    assert!(
        b.authorize(&h, &other, &Ask::new(CALLBACK)).await.is_err(),
        "idle session: a login page"
    );
}
