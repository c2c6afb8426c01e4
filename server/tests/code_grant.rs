// SPDX-License-Identifier: Apache-2.0
//! The token side of the browser login over loopback HTTP (ADR 0002): the
//! `authorization_code` grant (PKCE S256, client and redirect binding, 60 s, single use), the
//! ID token's claims, the refresh rotation and its reuse detection, userinfo (JSON, signed,
//! 401s), RP-initiated logout and discovery. Every rejection has its test; a login goes
//! through the real authorization endpoint, login page and phone approval.

#[path = "support/browser.rs"]
mod browser;
mod common;

use browser::{location, Ask, Browser, Callback};
use common::{expect_err, read, Device, Failure, Harness, Rp};
use reqwest::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::Value;
use vistalid_core::jws;
use vistalid_core::protocol::{
    CodeMode, PATH_DISCOVERY, PATH_END_SESSION, PATH_JWKS, PATH_TOKEN, PATH_USERINFO,
};
use vistalid_server::ClientOptions;

const CALLBACK: &str = "http://127.0.0.1:9/callback";
const BYE: &str = "http://127.0.0.1:9/bye";
const RPPS: &str = "10003456789";

/// A client registered for the browser login.
fn client(h: &Harness, signed: bool) -> Rp {
    let options = ClientOptions::new(CodeMode::Pick)
        .redirect_uri(CALLBACK)
        .post_logout_redirect_uri(BYE)
        .userinfo_signed(signed);
    let (id, secret) = h
        .admin()
        .add_client_with("Dossier patient test", &options)
        .expect("client");
    Rp {
        id,
        secret: secret.to_string(),
    }
}

/// A server, a browser-login client, an enrolled practitioner and their login identifier.
async fn setup() -> (Harness, Rp, Device, String) {
    let h = Harness::start().await;
    let rp = client(&h, false);
    let device = h.practitioner(RPPS).await;
    let login_id = format!("8{RPPS}");
    (h, rp, device, login_id)
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy)]
enum Auth {
    Basic,
    Post,
}

/// One token request of `rp` with `form`.
async fn token(h: &Harness, rp: &Rp, auth: Auth, form: &[(&str, &str)]) -> Result<Value, Failure> {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    let mut req = h.http.post(h.url(PATH_TOKEN));
    match auth {
        Auth::Basic => req = req.basic_auth(&rp.id, Some(&rp.secret)),
        Auth::Post => {
            form.push(("client_id", &rp.id));
            form.push(("client_secret", &rp.secret));
        }
    }
    read(req.form(&form).send().await.expect("token")).await
}

/// The code exchange of `code` with `verifier`.
async fn exchange(
    h: &Harness,
    rp: &Rp,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Value, Failure> {
    token(
        h,
        rp,
        Auth::Basic,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn refresh(h: &Harness, rp: &Rp, refresh_token: &str) -> Result<Value, Failure> {
    token(
        h,
        rp,
        Auth::Basic,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// A fresh login of `device` for `rp`: the browser, the request and the callback.
async fn login(h: &Harness, rp: &Rp, device: &Device, login_id: &str) -> (Browser, Ask, Callback) {
    let mut b = Browser::new();
    let ask = Ask::new(CALLBACK);
    let cb = b.login(h, rp, device, login_id, &ask).await;
    assert_eq!(cb.state.as_deref(), Some(ask.state.as_str()));
    (b, ask, cb)
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_owned()
}

async fn userinfo(h: &Harness, access_token: &str) -> reqwest::Response {
    h.http
        .get(h.url(PATH_USERINFO))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo")
}

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
    assert_eq!(c["amr"], serde_json::json!(["pin", "hwk", "mfa"]));
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
async fn logout(h: &Harness, b: &mut Browser, query: &[(&str, &str)]) -> reqwest::Response {
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
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{evil}");
        assert!(
            r.headers().get("location").is_none(),
            "never redirected to {evil}"
        );
        let html = r.text().await.expect("page");
        assert!(html.contains("data-state=\"error\""), "{html}");
    }
    // A redirect without any client to check it against is refused too.
    let r = logout(&h, &mut b, &[("post_logout_redirect_uri", BYE)]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
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
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
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
    assert!(
        b.cookies.contains_key("vl_session"),
        "{:?}",
        b.cookies.keys()
    );
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
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("{BYE}?state=bye-1"));
    assert!(!b.cookies.contains_key("vl_session"), "cookie cleared");
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
    let r = logout(&h, &mut b, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("page");
    assert!(html.contains("data-state=\"logged_out\""), "{html}");
    assert!(html.contains("lang=\"fr\""), "French by default");
    // The cookie named the session: it is over.
    expect_err(
        refresh(&h, &rp, &s(&t, "refresh_token")).await,
        400,
        "invalid_grant",
    );
    let r = logout(&h, &mut b, &[("ui_locales", "en")]).await;
    let html = r.text().await.expect("page");
    assert!(
        html.contains("lang=\"en\"") && html.contains("Session closed"),
        "{html}"
    );
}

#[tokio::test]
async fn discovery_advertises_exactly_the_browser_login() {
    let h = Harness::start().await;
    let d: Value = h
        .http
        .get(h.url(PATH_DISCOVERY))
        .send()
        .await
        .expect("d")
        .json()
        .await
        .expect("json");
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
