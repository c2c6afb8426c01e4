// SPDX-License-Identifier: Apache-2.0
//! Time-ordered identifiers and token keys (issue 19's retention goal): what a login creates
//! begins with its creation time, tokens are stored under their time and hash, and tokens
//! stored before (under their plain SHA-256) are still honoured. Runs on both backends.

#[path = "support/browser.rs"]
mod browser;
mod common;
#[path = "support/tokens.rs"]
mod tokens;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use browser::{Ask, Browser};
use common::instances::postgres_url;
use common::{edit_database, expect_err, Harness};
use reqwest::StatusCode;
use tokens::{exchange, login, refresh, s, setup, userinfo, CALLBACK};
use vistalid_core::protocol::{CodeMode, Decision};

/// Hex digits of the time prefix.
const PREFIX: usize = 12;

fn wall_ms() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    u64::try_from(d.as_millis()).expect("ms in u64")
}

/// The creation time `value` begins with, checked to be within `[from, to]`, and its
/// length checked to be `len`.
#[track_caller]
fn assert_made_between(what: &str, value: &str, len: usize, from: u64, to: u64) {
    assert_eq!(value.len(), len, "{what}: {value}");
    let ms = u64::from_str_radix(&value[..PREFIX], 16)
        .unwrap_or_else(|_| panic!("{what} begins with hex: {value}"));
    assert!(
        (from..=to).contains(&ms),
        "{what} made at {ms}, outside {from}..={to}"
    );
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    d.as_ref().try_into().expect("32 bytes")
}

/// The key the server stores `token` under: its 6 time bytes, then 26 bytes of its SHA-256.
fn key(token: &str) -> [u8; 32] {
    let ms = u64::from_str_radix(&token[..PREFIX], 16).expect("hex prefix");
    let mut out = [0u8; 32];
    out[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    out[6..].copy_from_slice(&sha256(token.as_bytes())[..26]);
    out
}

/// `bytes` as an SQL literal of the backend the suite runs on.
fn blob(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if postgres_url().is_some() {
        format!("'\\x{hex}'::bytea")
    } else {
        format!("X'{hex}'")
    }
}

/// A token as it was made before time-ordered tokens: 256 random bits, 43 characters.
fn legacy_token() -> String {
    let mut b = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).expect("rng");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A browser login of a fresh practitioner, its code exchanged: the server, the relying
/// party and the token response.
async fn logged_in() -> (Harness, common::Rp, serde_json::Value) {
    let (h, rp, device, login_id) = setup().await;
    let (_b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    (h, rp, t)
}

#[tokio::test]
async fn what_a_login_creates_begins_with_its_creation_time() {
    // CIBA: the request id, the challenge id, the access token.
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let device = h.practitioner("10101010101").await;
    let from = wall_ms();
    let ciba = rp.ciba(&h, "10101010101").await.expect("ciba");
    let challenge = device.one_challenge(&h).await;
    let to = wall_ms();
    assert_made_between("auth_req_id", &ciba.auth_req_id, 55, from, to);
    assert_made_between("challenge id", &challenge.id, 55, from, to);
    device
        .answer(
            &h,
            &challenge.id,
            Decision::Approve,
            Some(&ciba.dynamic_code),
        )
        .await
        .expect("answer");
    let from = wall_ms();
    let t = rp.token(&h, &ciba.auth_req_id).await.expect("token");
    let to = wall_ms();
    assert_made_between("CIBA access token", &s(&t, "access_token"), 55, from, to);

    // Browser: the attempt id, the code, the session id, the access and refresh tokens.
    let (h, rp, device, login_id) = setup().await;
    let mut b = Browser::new();
    let ask = Ask::new(CALLBACK);
    let from = wall_ms();
    let page = b
        .authorize(&h, &rp, &ask)
        .await
        .expect_err("a first login goes to the login page");
    let to = wall_ms();
    let attempt = page.rsplit('/').next().expect("attempt id");
    assert_made_between("attempt id", attempt, 34, from, to);
    b.approve_on(&h, &page, &device, &login_id).await;
    let from = wall_ms();
    let r = b.get(&format!("{page}/continue")).await;
    let to = wall_ms();
    let cb = browser::Callback::parse(&browser::location(&r));
    assert_made_between("code", cb.code(), 55, from, to);
    let from_tokens = wall_ms();
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    let to_tokens = wall_ms();
    assert_made_between(
        "access token",
        &s(&t, "access_token"),
        55,
        from_tokens,
        to_tokens,
    );
    assert_made_between(
        "refresh token",
        &s(&t, "refresh_token"),
        55,
        from_tokens,
        to_tokens,
    );
    let claims = jws_claims(&s(&t, "id_token"));
    let sid = claims["sid"].as_str().expect("sid");
    assert_made_between("session id", sid, 34, from, to);
}

/// The claims of a JWS, unverified (the other tests verify ID tokens).
fn jws_claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

#[tokio::test]
async fn tokens_are_stored_under_their_time_and_hash() {
    let (h, rp, device, login_id) = setup().await;
    let (_b, ask, cb) = login(&h, &rp, &device, &login_id).await;
    // `edit_database` fails unless the statement changed a row: each row is found by the key.
    edit_database(
        &h,
        &format!(
            "UPDATE authorization_codes SET scope = scope WHERE hash = {}",
            blob(&key(cb.code()))
        ),
    );
    let t = exchange(&h, &rp, cb.code(), CALLBACK, &ask.verifier)
        .await
        .expect("exchange");
    for (table, token) in [
        ("access_tokens", s(&t, "access_token")),
        ("refresh_tokens", s(&t, "refresh_token")),
    ] {
        assert_ne!(key(&token), sha256(token.as_bytes()));
        edit_database(
            &h,
            &format!(
                "UPDATE {table} SET expires_at = expires_at WHERE hash = {}",
                blob(&key(&token))
            ),
        );
    }
}

#[tokio::test]
async fn a_refresh_token_stored_under_its_plain_hash_still_refreshes() {
    let (h, rp, t) = logged_in().await;
    let issued = s(&t, "refresh_token");
    // The row as a server before time-ordered tokens would have stored a 43-character token.
    let legacy = legacy_token();
    edit_database(
        &h,
        &format!(
            "UPDATE refresh_tokens SET hash = {} WHERE hash = {}",
            blob(&sha256(legacy.as_bytes())),
            blob(&key(&issued))
        ),
    );
    // The issued token's key is no longer stored: unknown, which revokes nothing.
    expect_err(refresh(&h, &rp, &issued).await, 400, "invalid_grant");
    let next = refresh(&h, &rp, &legacy)
        .await
        .expect("the legacy token refreshes");
    assert_eq!(
        s(&next, "refresh_token").len(),
        55,
        "rotated to an ordered token"
    );
    let r = userinfo(&h, &s(&next, "access_token")).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_access_token_is_found_by_its_own_key_only() {
    let (h, _rp, t) = logged_in().await;
    let access = s(&t, "access_token");
    assert_eq!(userinfo(&h, &access).await.status(), StatusCode::OK);
    // The same random part under another time is another token.
    let ms = u64::from_str_radix(&access[..PREFIX], 16).expect("hex");
    let shifted = format!("{:012x}{}", ms + 1, &access[PREFIX..]);
    assert_eq!(
        userinfo(&h, &shifted).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Stored as before (the plain SHA-256 of a 43-character token): the old token reads
    // userinfo, the key of the new one finds nothing.
    let legacy = legacy_token();
    edit_database(
        &h,
        &format!(
            "UPDATE access_tokens SET hash = {} WHERE hash = {}",
            blob(&sha256(legacy.as_bytes())),
            blob(&key(&access))
        ),
    );
    assert_eq!(userinfo(&h, &legacy).await.status(), StatusCode::OK);
    assert_eq!(
        userinfo(&h, &access).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
