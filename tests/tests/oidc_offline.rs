// SPDX-License-Identifier: Apache-2.0
//! The offline code (issue 16) end to end with an independent OIDC library as the relying
//! party: the `openidconnect` crate discovers the server (which advertises the offline level),
//! builds the authorization requests (with and without `acr_values`), exchanges the code and
//! verifies the ID token, whose `acr` is the offline level and whose `amr` says `otp` and
//! `pin`, not `hwk` or `mfa`. A client registered with `--no-offline-code`
//! (`ClientOptions::no_offline_code`) and `acr_values` that require more than the fallback
//! never get it. The browser is a cookie-keeping HTTP client; the phone is the real wallet,
//! which computes the code without the network.
#![allow(clippy::unwrap_used, missing_docs)]

mod oidc_support;

use oidc_support::{
    enrolled, exchange, exchange_at, relying_party, relying_party_with, request, request_with,
    text_of, value_of, Browser, Rp, CALLBACK, PIN,
};
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use vistalid_core::protocol::CodeMode;
use vistalid_core::secret::Pin;
use vistalid_core::wallet::Wallet;
use vistalid_e2e::Env;
use vistalid_server::{ClientOptions, OfflineCodeKey, OfflineKeys, OFFLINE_ACR};

/// A server that offers the offline code (a key configured).
async fn offline_server() -> Env {
    Env::start_with(|c, _| {
        c.offline_code_keys = OfflineKeys::new(vec![OfflineCodeKey::new("k1", [7u8; 32]).unwrap()]);
    })
    .await
}

/// The wallet's first account.
fn account_of(w: &Wallet) -> String {
    w.accounts().unwrap().remove(0).account_id
}

/// Types the wallet's current offline code on the offline page of login page `page`; the
/// server's answer (a redirect to `/continue` when it is accepted).
async fn type_offline_code(b: &mut Browser, page: &str, w: &Wallet) -> reqwest::Response {
    let form = b.send(b.http.get(format!("{page}/offline"))).await;
    assert_eq!(form.status(), StatusCode::OK, "the offline form is offered");
    let html = form.text().await.unwrap();
    assert!(html.contains("data-state=\"offline\""), "{html}");
    let csrf = value_of(&html, "name=\"csrf\"");
    let code = w.offline_code(&account_of(w), Pin::new(PIN)).await.unwrap();
    b.send(
        b.http
            .post(format!("{page}/offline"))
            .form(&[("code", code.code.as_str()), ("csrf", csrf.as_str())]),
    )
    .await
}

/// A code the server took: the answer sends the browser back to the login page (same origin:
/// the page's CSP `form-action 'self'` governs a POST's redirects), which is approved.
async fn assert_accepted(b: &mut Browser, env: &Env, page: &str, r: &reqwest::Response) {
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let back = r.headers()[LOCATION].to_str().unwrap();
    assert_eq!(format!("{}{back}", env.url()), page);
    let html = b.send(b.http.get(page)).await.text().await.unwrap();
    assert!(html.contains("data-state=\"approved\""), "{html}");
}

/// The login page `page` of a client or request that excludes the fallback: the waiting page
/// does not offer it, its form sends the browser back to the login page, and a posted code
/// approves nothing (the phone's request stays pending).
async fn fallback_refused(b: &mut Browser, page: &str, w: &Wallet, login_id: &str) {
    // The attempt's CSRF token, from its identifier form (a posted code carries it).
    let form = b.send(b.http.get(page)).await.text().await.unwrap();
    let csrf = value_of(&form, "name=\"csrf\"");
    let html = b.identify(page, login_id).await;
    assert!(!html.contains("id=\"offline\""), "not offered: {html}");
    let form = b.send(b.http.get(format!("{page}/offline"))).await;
    assert_eq!(form.status(), StatusCode::SEE_OTHER, "no offline form");
    let code = w.offline_code(&account_of(w), Pin::new(PIN)).await.unwrap();
    let r = b
        .send(
            b.http
                .post(format!("{page}/offline"))
                .form(&[("code", code.code.as_str()), ("csrf", csrf.as_str())]),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let back = r.headers()[LOCATION].to_str().unwrap();
    assert!(
        !back.ends_with("/continue"),
        "a posted code approves nothing: {back}"
    );
    assert_eq!(
        w.fetch_challenges(0).await.unwrap().challenges.len(),
        1,
        "the phone's request is still pending"
    );
}

/// The phone approves the pending request with the code shown on the waiting page.
async fn approve_on_phone(b: &mut Browser, page: &str, w: &Wallet) {
    let html = b.send(b.http.get(page)).await.text().await.unwrap();
    let code = text_of(&html, "id=\"code\"");
    let ch = w.fetch_challenges(5).await.unwrap().challenges.remove(0);
    w.approve(&ch.id, Pin::new(PIN), &code).await.unwrap();
}

/// `amr` of an offline-code login: `otp` and `pin`, and nothing that claims a device key or
/// several factors.
fn assert_offline_amr(amr: &[String]) {
    assert!(amr.iter().any(|m| m == "otp"), "{amr:?}");
    assert!(amr.iter().any(|m| m == "pin"), "{amr:?}");
    for never in ["hwk", "swk", "mfa"] {
        assert!(!amr.iter().any(|m| m == never), "{never} in {amr:?}");
    }
}

#[tokio::test]
async fn an_offline_code_login_through_the_library_says_otp_and_pin_at_the_offline_level() {
    let env = offline_server().await;
    let rp = relying_party(&env).await;
    // Discovery, as the library reads it, advertises the offline level beside eidas1.
    let advertised: Vec<&str> = rp
        .metadata
        .acr_values_supported()
        .unwrap()
        .iter()
        .map(|a| a.as_str())
        .collect();
    assert_eq!(advertised, ["eidas1", OFFLINE_ACR]);
    let (w, _dir, login_id) = enrolled(&env).await;
    let mut b = Browser::new();

    let req = request(&rp, None, None);
    let page = b.open(&env, &req.url).await.expect_err("a login page");
    let html = b.identify(&page, &login_id).await;
    assert!(
        html.contains("id=\"offline\""),
        "the waiting page offers it"
    );
    let r = type_offline_code(&mut b, &page, &w).await;
    assert_accepted(&mut b, &env, &page, &r).await;
    let answer = b.continue_to_client(&page).await;
    let t = exchange_at(&rp, req, &answer, OFFLINE_ACR).await;
    assert_offline_amr(&t.amr);
    assert_eq!(t.sub, account_of(&w));
    assert!(
        w.fetch_challenges(0).await.unwrap().challenges.is_empty(),
        "the offline code answered the phone's request"
    );

    // The session it opened answers a request that allows the fallback, at its level...
    let req = request(&rp, None, None);
    let answer = b
        .open(&env, &req.url)
        .await
        .expect("SSO at the offline level");
    let again = exchange_at(&rp, req, &answer, OFFLINE_ACR).await;
    assert_eq!(again.auth_time, t.auth_time);
    // ... and not one that requires eidas1: that one needs the phone.
    let req = request_with(&rp, None, None, &["eidas1"]);
    let page = b
        .open(&env, &req.url)
        .await
        .expect_err("eidas1 is more than the session gives");
    let answer = b.log_in(&page, &w, &login_id).await;
    let phone = exchange(&rp, req, &answer).await;
    assert!(!phone.amr.iter().any(|m| m == "otp"), "{:?}", phone.amr);
}

#[tokio::test]
async fn a_client_registered_with_no_offline_code_never_gets_it() {
    let env = offline_server().await;
    let options = ClientOptions::new(CodeMode::Pick)
        .redirect_uri(CALLBACK)
        .no_offline_code(true);
    let rp: Rp = relying_party_with(&env, "Dossier patient (sans code)", &options).await;
    let (w, _dir, login_id) = enrolled(&env).await;
    let mut b = Browser::new();
    let req = request(&rp, None, None);
    let page = b.open(&env, &req.url).await.expect_err("a login page");
    fallback_refused(&mut b, &page, &w, &login_id).await;
    // The phone's approval still logs in, at eidas1.
    approve_on_phone(&mut b, &page, &w).await;
    let answer = b.continue_to_client(&page).await;
    exchange(&rp, req, &answer).await;
}

#[tokio::test]
async fn acr_values_requiring_more_than_the_fallback_exclude_it_and_naming_it_allows_it() {
    let env = offline_server().await;
    let rp = relying_party(&env).await;
    let (w, _dir, login_id) = enrolled(&env).await;

    let mut b = Browser::new();
    let req = request_with(&rp, None, None, &["eidas1"]);
    let page = b.open(&env, &req.url).await.expect_err("a login page");
    fallback_refused(&mut b, &page, &w, &login_id).await;
    approve_on_phone(&mut b, &page, &w).await;
    let answer = b.continue_to_client(&page).await;
    exchange(&rp, req, &answer).await;

    // acr_values naming the offline level allow it: the code logs in at that level.
    let mut b = Browser::new();
    let req = request_with(&rp, None, None, &["eidas1", OFFLINE_ACR]);
    let page = b.open(&env, &req.url).await.expect_err("a login page");
    let html = b.identify(&page, &login_id).await;
    assert!(html.contains("id=\"offline\""), "offered: {html}");
    let r = type_offline_code(&mut b, &page, &w).await;
    assert_accepted(&mut b, &env, &page, &r).await;
    let answer = b.continue_to_client(&page).await;
    let t = exchange_at(&rp, req, &answer, OFFLINE_ACR).await;
    assert_offline_amr(&t.amr);
}
