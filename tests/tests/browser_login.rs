// SPDX-License-Identifier: Apache-2.0
//! The browser login end to end, with an independent OIDC library as the relying party: the
//! `openidconnect` crate discovers the server, builds the authorization requests (PKCE S256,
//! nonce, state, `prompt`, `max_age`), exchanges the code, verifies the ID token (signature,
//! nonce, `at_hash`), calls userinfo, refreshes, and logs out (RP-initiated logout). The
//! browser is a cookie-keeping HTTP client that reads the login page through the elements
//! ADR 0002 names; the phone is the real wallet.
#![allow(clippy::unwrap_used, missing_docs)]

mod oidc_support;

use std::time::Duration;

use oidc_support::{
    enrolled, exchange, relying_party, relying_party_with, request, text_of, Browser, Psc, BYE,
    CALLBACK, PIN,
};
use openidconnect::core::{
    CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreIdTokenVerifier, CoreJsonWebKeySet,
};
use openidconnect::{
    ClientId, ClientSecret, CsrfToken, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse as _,
    PostLogoutRedirectUrl, RequestTokenError, TokenResponse as _, UserInfoClaims,
};
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use vistalid_core::protocol::CodeMode;
use vistalid_core::secret::Pin;
use vistalid_e2e::Env;

#[tokio::test]
async fn code_pkce_nonce_userinfo_refresh_rotation_reuse_and_logout() {
    let env = Env::start().await;
    let rp = relying_party(&env).await;
    let (w, _dir, login_id) = enrolled(&env).await;
    let mut b = Browser::new();

    let req = request(&rp, None, None);
    let page = b.open(&env, &req.url).await.expect_err("a login page");
    let answer = b.log_in(&page, &w, &login_id).await;
    assert_eq!(
        answer.get("iss").map(String::as_str),
        Some(env.url().as_str())
    );
    let t = exchange(&rp, req, &answer).await;

    // Userinfo, through the library, for the ID token's subject.
    let info: UserInfoClaims<Psc, CoreGenderClaim> = rp
        .client
        .user_info(
            t.response.access_token().clone(),
            Some(openidconnect::SubjectIdentifier::new(t.sub.clone())),
        )
        .unwrap()
        .request_async(&rp.http)
        .await
        .unwrap();
    assert_eq!(info.additional_claims().SubjectNameID, login_id);
    assert_eq!(
        info.additional_claims().SubjectRefPro.as_ref().unwrap()["exercices"][0]["codeProfession"],
        "10"
    );
    assert_eq!(
        info.given_name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str()),
        Some("Camille")
    );

    // Refresh: a new pair; the old refresh token, replayed, revokes the whole family.
    let first = t.response.refresh_token().unwrap().clone();
    let second = rp
        .client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&rp.http)
        .await
        .unwrap();
    let rotated = second.refresh_token().unwrap().clone();
    assert_ne!(rotated.secret(), first.secret());
    let refreshed_id = second.id_token().unwrap();
    let refreshed = refreshed_id
        .claims(&rp.client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
        .unwrap();
    assert_eq!(refreshed.subject().as_str(), t.sub);
    assert_eq!(refreshed.auth_time().unwrap().timestamp(), t.auth_time);
    let replay = rp
        .client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&rp.http)
        .await;
    match replay {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), CoreErrorResponseType::InvalidGrant)
        }
        other => panic!("replay must be refused: {other:?}"),
    }
    let after = rp
        .client
        .exchange_refresh_token(&rotated)
        .unwrap()
        .request_async(&rp.http)
        .await;
    assert!(
        matches!(after, Err(RequestTokenError::ServerResponse(_))),
        "the family is revoked"
    );

    // Logout, as the library writes the request.
    let end = rp
        .metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("end_session_endpoint in discovery");
    let logout = LogoutRequest::from(end)
        .set_id_token_hint(&t.id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(BYE.into()).unwrap())
        .set_state(CsrfToken::new("bye-state".into()))
        .http_get_url();
    let r = b.send(b.http.get(logout.as_str())).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()[LOCATION],
        format!("{BYE}?state=bye-state").as_str()
    );
    assert!(!b.cookies.contains("vl_session"));
    // The session is over: the access token is dead, and a new request needs the phone.
    let dead = rp
        .client
        .user_info(t.response.access_token().clone(), None)
        .unwrap()
        .request_async::<Psc, _, CoreGenderClaim>(&rp.http)
        .await;
    assert!(dead.is_err(), "userinfo after logout");
    let req = request(&rp, None, None);
    assert!(b.open(&env, &req.url).await.is_err(), "login page again");
}

#[tokio::test]
async fn sso_serves_a_second_client_and_prompt_and_max_age_are_honoured() {
    let env = Env::start().await;
    let a = relying_party(&env).await;
    let second = relying_party(&env).await;
    let (w, _dir, login_id) = enrolled(&env).await;
    let mut b = Browser::new();

    // prompt=none without a session: login_required, back at the client.
    let req = request(&a, Some(CoreAuthPrompt::None), None);
    let answer = b.open(&env, &req.url).await.expect("redirected at once");
    assert_eq!(
        answer.get("error").map(String::as_str),
        Some("login_required")
    );
    assert_eq!(answer.get("state"), Some(req.state.secret()));

    // The first login, with the phone.
    let req = request(&a, None, None);
    let page = b.open(&env, &req.url).await.expect_err("a login page");
    let answer = b.log_in(&page, &w, &login_id).await;
    let first = exchange(&a, req, &answer).await;

    // Another client in the same browser: a code at once, same session, same auth_time.
    let req = request(&second, None, None);
    let answer = b
        .open(&env, &req.url)
        .await
        .expect("SSO answers without the phone");
    let t = exchange(&second, req, &answer).await;
    assert_eq!(t.sub, first.sub);
    assert_eq!(t.sid, first.sid);
    assert_eq!(
        t.auth_time, first.auth_time,
        "auth_time stays the real approval"
    );
    assert!(
        w.fetch_challenges(0).await.unwrap().challenges.is_empty(),
        "no new phone challenge"
    );

    // prompt=none with the session: a code.
    let req = request(&second, Some(CoreAuthPrompt::None), None);
    let answer = b
        .open(&env, &req.url)
        .await
        .expect("prompt=none with a session");
    exchange(&second, req, &answer).await;

    // max_age: a generous one is met by the session; one shorter than its age is not.
    let req = request(&a, None, Some(3600));
    let answer = b.open(&env, &req.url).await.expect("max_age met");
    exchange(&a, req, &answer).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let req = request(&a, None, Some(1));
    let page = b
        .open(&env, &req.url)
        .await
        .expect_err("max_age forces a login");
    let answer = b.log_in(&page, &w, &login_id).await;
    let fresh = exchange(&a, req, &answer).await;
    assert!(fresh.auth_time > first.auth_time, "a new approval");

    // prompt=login: the phone again, even with a live session.
    let req = request(&second, Some(CoreAuthPrompt::Login), None);
    let page = b
        .open(&env, &req.url)
        .await
        .expect_err("prompt=login forces a login");
    let answer = b.log_in(&page, &w, &login_id).await;
    exchange(&second, req, &answer).await;
}

#[tokio::test]
async fn discovery_and_jwks_read_by_the_library_name_every_endpoint_and_key() {
    let env = Env::start().await;
    let rp = relying_party(&env).await;
    let m = &rp.metadata;
    assert!(m.userinfo_endpoint().is_some());
    assert!(m.additional_metadata().end_session_endpoint.is_some());
    // PKCE's method is not a field the library models: read it from the document.
    let raw: serde_json::Value = reqwest::get(format!(
        "{}{}",
        env.url(),
        vistalid_core::protocol::PATH_DISCOVERY
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        raw["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let jwks: CoreJsonWebKeySet = reqwest::get(m.jwks_uri().as_str())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!jwks.keys().is_empty());
    let _ = CoreIdTokenVerifier::new_confidential_client(
        ClientId::new(rp.id.clone()),
        ClientSecret::new("unused".into()),
        IssuerUrl::new(env.url()).unwrap(),
        jwks,
    );
}

/// Scan mode (issue 16), end to end: a client registered for it, the page's QR code read
/// from its SVG, the real wallet's `scan_login` (origin check, challenge fetch), the approval
/// with the MAC, and the library's code exchange and ID-token checks.
#[tokio::test]
async fn a_scan_mode_login_goes_through_the_qr_code() {
    let env = Env::start().await;
    let options = vistalid_server::ClientOptions::new(CodeMode::Pick)
        .redirect_uri(CALLBACK)
        .scan_login(true);
    let rp = relying_party_with(&env, "Dossier patient (scan)", &options).await;
    let (w, _dir, login_id) = enrolled(&env).await;
    let mut b = Browser::new();
    let req = request(&rp, None, None);
    let page = b.open(&env, &req.url).await.expect_err("a login page");
    let html = b.identify(&page, &login_id).await;
    let scanned = vistalid_e2e::qr_text_of_page(&html).expect("a readable QR code");

    // A plain fetch shows the request, but it cannot be approved without the scan.
    let ch = w.fetch_challenges(0).await.unwrap().challenges.remove(0);
    assert!(ch.scan_attempt.is_some());
    let code = text_of(&html, "id=\"code\"");
    assert_eq!(
        w.approve(&ch.id, Pin::new(PIN), &code).await,
        Err(vistalid_core::wallet::WalletError::ScanRequired)
    );
    // Another server's QR code is refused before any network, naming both origins.
    let elsewhere = scanned.replace(&env.url(), "https://look-alike.example");
    match w.scan_login(&elsewhere).await {
        Err(vistalid_core::wallet::WalletError::ScanUnknownServer { scanned, enrolled }) => {
            assert_eq!(scanned, "https://look-alike.example");
            assert_eq!(enrolled, vec![env.url()]);
        }
        other => panic!("{other:?}"),
    }
    let ch = w.scan_login(&scanned).await.unwrap();
    assert_eq!(ch.service, "Dossier patient (scan)");
    w.approve(&ch.id, Pin::new(PIN), &code).await.unwrap();
    let answer = b.continue_to_client(&page).await;
    let t = exchange(&rp, req, &answer).await;
    assert!(!t.sub.is_empty());
}
