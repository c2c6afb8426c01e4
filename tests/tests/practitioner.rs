// SPDX-License-Identifier: Apache-2.0
//! The practitioner's flow end to end over loopback HTTP: enrolment, a relying party's CIBA
//! request, the push challenge with the *code dynamique*, the signed approval, and the ID
//! token — plus the wallet-side rejections.
#![allow(clippy::unwrap_used, missing_docs)]

use reqwest::StatusCode;
use vistalid_core::client::ClientError;
use vistalid_core::jws;
use vistalid_core::keys::{Jwk, PublicKey};
use vistalid_core::protocol::{CodeMode, PATH_DISCOVERY, PATH_JWKS};
use vistalid_core::secret::Pin;
use vistalid_core::vault::PinRefusal;
use vistalid_core::wallet::{AnswerOutcome, WalletError};
use vistalid_e2e::{wallet, Env};

const RPPS: &str = "10101010101";
const PIN: &str = "204862";

async fn enrolled(env: &Env) -> (vistalid_core::wallet::Wallet, tempfile::TempDir) {
    let code = env.practitioner(RPPS);
    let (w, dir) = wallet();
    let account = w.enrol(&env.url(), &code, Pin::new(PIN)).await.unwrap();
    assert_eq!(
        account.identity.subject_name_id,
        format!("8{RPPS}"),
        "national id"
    );
    (w, dir)
}

#[tokio::test]
async fn approve_with_the_right_code_gives_an_id_token_that_verifies() {
    let env = Env::start().await;
    let rp = env.relying_party(CodeMode::Pick);
    let (w, _dir) = enrolled(&env).await;

    let ciba = rp.ciba(RPPS, "Connexion au DMP").await;
    let (status, body) = rp.token(&ciba.auth_req_id).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("authorization_pending"))
    );

    let fetched = w.fetch_challenges(5).await.unwrap();
    assert!(fetched.rejected.is_empty());
    let ch = &fetched.challenges[0];
    assert_eq!(ch.binding_message, "Connexion au DMP");
    assert_eq!(ch.service, "Dossier Médical Partagé");
    assert_eq!(ch.candidates.len(), 3);
    assert!(ch.candidates.contains(&ciba.dynamic_code));

    let outcome = w
        .approve(&ch.id, Pin::new(PIN), &ciba.dynamic_code)
        .await
        .unwrap();
    assert_eq!(outcome, AnswerOutcome::Approved);

    let (status, body) = rp.token(&ciba.auth_req_id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id_token = body["id_token"].as_str().unwrap();

    // Our own check: signature under the JWKS key and the PSC-style claims.
    let jwks: serde_json::Value = reqwest::get(format!("{}{}", env.url(), PATH_JWKS))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk: Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
    let key = PublicKey::from_jwk(&jwk).unwrap();
    let claims: serde_json::Value = jws::verify_json(id_token, &key, None).unwrap();
    assert_eq!(claims["SubjectNameID"], format!("8{RPPS}"));
    assert_eq!(claims["aud"], rp.id.as_str());
    assert_eq!(claims["iss"], env.url().as_str());
    assert_eq!(claims["family_name"], "Martin");

    // The token is issued once.
    let (status, body) = rp.token(&ciba.auth_req_id).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // The same challenge cannot be answered twice from the wallet.
    let again = w.approve(&ch.id, Pin::new(PIN), &ciba.dynamic_code).await;
    assert!(
        matches!(
            again,
            Err(WalletError::NoSuchChallenge | WalletError::ChallengeReplayed)
        ),
        "{again:?}"
    );
}

#[tokio::test]
async fn discovery_and_id_token_pass_an_independent_oidc_library() {
    use openidconnect::core::{
        CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
        CoreProviderMetadata,
    };
    use openidconnect::{ClientId, IssuerUrl, Nonce};

    let env = Env::start().await;
    let rp = env.relying_party(CodeMode::Pick);
    let (w, _dir) = enrolled(&env).await;
    let ciba = rp.ciba(RPPS, "Connexion").await;
    let ch = w.fetch_challenges(5).await.unwrap().challenges.remove(0);
    w.approve(&ch.id, Pin::new(PIN), &ciba.dynamic_code)
        .await
        .unwrap();
    let (_, body) = rp.token(&ciba.auth_req_id).await;

    let discovery: serde_json::Value = reqwest::get(format!("{}{}", env.url(), PATH_DISCOVERY))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let metadata: CoreProviderMetadata = serde_json::from_value(discovery.clone()).unwrap();
    assert_eq!(metadata.issuer().as_str(), env.url());
    assert_eq!(
        discovery["backchannel_token_delivery_modes_supported"][0],
        "poll"
    );
    let jwks: CoreJsonWebKeySet = reqwest::get(metadata.jwks_uri().as_str())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(rp.id.clone()),
        IssuerUrl::new(env.url()).unwrap(),
        jwks,
    )
    .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let token: CoreIdToken = body["id_token"].as_str().unwrap().parse().unwrap();
    let claims = token.claims(&verifier, |_: Option<&Nonce>| Ok(())).unwrap();
    assert!(!claims.subject().as_str().is_empty());
    assert!(claims.auth_time().is_some());

    // A token for another client fails the library's audience check.
    let other = CoreIdTokenVerifier::new_public_client(
        ClientId::new("someone-else".into()),
        IssuerUrl::new(env.url()).unwrap(),
        reqwest::get(metadata.jwks_uri().as_str())
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
    )
    .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    assert!(token.claims(&other, |_: Option<&Nonce>| Ok(())).is_err());
}

#[tokio::test]
async fn wrong_code_is_refused_and_the_relying_party_gets_access_denied() {
    let env = Env::start().await;
    let rp = env.relying_party(CodeMode::Pick);
    let (w, _dir) = enrolled(&env).await;
    let ciba = rp.ciba(RPPS, "Connexion").await;
    let ch = w.fetch_challenges(5).await.unwrap().challenges.remove(0);
    let wrong = ch
        .candidates
        .iter()
        .find(|c| **c != ciba.dynamic_code)
        .unwrap()
        .clone();
    assert_eq!(
        w.approve(&ch.id, Pin::new(PIN), &wrong).await,
        Err(WalletError::WrongCode)
    );
    let (status, body) = rp.token(&ciba.auth_req_id).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("access_denied"))
    );
    // The wrong pick holds new requests for the account (issue 13 item 3): the next one is
    // refused until support clears the hold.
    let held = rp.ciba_status(RPPS, "Connexion").await;
    assert_eq!(held, StatusCode::TOO_MANY_REQUESTS);
    env.server.admin().clear_login_hold(RPPS).unwrap();
    // A code that is not a candidate never leaves the phone.
    let ciba = rp.ciba(RPPS, "Connexion").await;
    let ch = w.fetch_challenges(5).await.unwrap().challenges.remove(0);
    let absent = (0..100)
        .map(|i| format!("{i:02}"))
        .find(|c| !ch.candidates.contains(c))
        .unwrap();
    assert_eq!(
        w.approve(&ch.id, Pin::new(PIN), &absent).await,
        Err(WalletError::InvalidCode)
    );
    let _ = ciba;
}

#[tokio::test]
async fn type_mode_takes_the_typed_code() {
    let env = Env::start().await;
    let rp = env.relying_party(CodeMode::Type);
    let (w, _dir) = enrolled(&env).await;
    let ciba = rp.ciba(RPPS, "Connexion").await;
    let ch = w.fetch_challenges(5).await.unwrap().challenges.remove(0);
    assert_eq!(ch.mode, CodeMode::Type);
    assert!(ch.candidates.is_empty());
    w.approve(&ch.id, Pin::new(PIN), &ciba.dynamic_code)
        .await
        .unwrap();
    assert_eq!(rp.token(&ciba.auth_req_id).await.0, StatusCode::OK);
}

#[tokio::test]
async fn deny_and_not_me_give_access_denied() {
    let env = Env::start().await;
    let rp = env.relying_party(CodeMode::Pick);
    let (w, _dir) = enrolled(&env).await;
    for not_me in [false, true] {
        let ciba = rp.ciba(RPPS, "Connexion").await;
        let ch = w.fetch_challenges(5).await.unwrap().challenges.remove(0);
        let outcome = if not_me {
            w.report_not_me(&ch.id, Pin::new(PIN)).await.unwrap()
        } else {
            w.deny(&ch.id, Pin::new(PIN)).await.unwrap()
        };
        let expected = if not_me {
            AnswerOutcome::Reported
        } else {
            AnswerOutcome::Denied
        };
        assert_eq!(outcome, expected);
        let (status, body) = rp.token(&ciba.auth_req_id).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("access_denied"))
        );
    }
}

#[tokio::test]
async fn wrong_pin_counts_down_then_locks_and_sends_nothing() {
    let env = Env::start().await;
    let rp = env.relying_party(CodeMode::Pick);
    let (w, _dir) = enrolled(&env).await;
    let ciba = rp.ciba(RPPS, "Connexion").await;
    let ch = w.fetch_challenges(5).await.unwrap().challenges.remove(0);
    for left in (0..5).rev() {
        let r = w
            .approve(&ch.id, Pin::new("975310"), &ciba.dynamic_code)
            .await;
        if left > 0 {
            assert_eq!(
                r,
                Err(WalletError::Pin(PinRefusal::WrongPin { tries_left: left }))
            );
        } else {
            assert!(
                matches!(
                    r,
                    Err(WalletError::Pin(PinRefusal::WrongPin { tries_left: 0 })
                        | WalletError::Pin(PinRefusal::Locked))
                ),
                "{r:?}"
            );
        }
    }
    assert_eq!(
        w.approve(&ch.id, Pin::new(PIN), &ciba.dynamic_code).await,
        Err(WalletError::Pin(PinRefusal::Locked))
    );
    // Nothing was answered: the relying party is still pending.
    let (_, body) = rp.token(&ciba.auth_req_id).await;
    assert_eq!(body["error"], "authorization_pending");
}

#[tokio::test]
async fn a_flow_survives_a_server_restart() {
    let env = Env::start().await;
    let rp = env.relying_party(CodeMode::Pick);
    let (w, _dir) = enrolled(&env).await;
    let ciba = rp.ciba(RPPS, "Connexion").await;
    // Same address, same SQLite file: the pending request and challenge must still be there.
    let env = env.restart().await;
    assert_eq!(env.url(), rp.base);
    let ch = w.fetch_challenges(5).await.unwrap().challenges.remove(0);
    w.approve(&ch.id, Pin::new(PIN), &ciba.dynamic_code)
        .await
        .unwrap();
    let (status, body) = rp.token(&ciba.auth_req_id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn enrolment_refuses_plain_http_off_loopback_and_a_bad_code() {
    let env = Env::start().await;
    let (w, _dir) = wallet();
    let r = w
        .enrol("http://idp.example.fr", "ABCDEFGH", Pin::new(PIN))
        .await;
    assert_eq!(r, Err(WalletError::Client(ClientError::InsecureUrl)));
    let r = w.enrol(&env.url(), "WRONGCODE", Pin::new(PIN)).await;
    assert!(
        matches!(
            r,
            Err(WalletError::Client(ClientError::Server {
                status: 400 | 401 | 403,
                ..
            }))
        ),
        "{r:?}"
    );
    let r = w.enrol(&env.url(), "ABCDEFGH", Pin::new("123456")).await;
    assert!(
        matches!(r, Err(WalletError::Pin(PinRefusal::WeakPin(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn an_expired_challenge_is_refused_on_the_phone_before_any_pin_try() {
    use std::sync::Arc;
    use vistalid_core::clock::{Clock, ManualClock, SystemClock};
    use vistalid_core::keystore::MemoryKeystore;
    use vistalid_core::wallet::Wallet;

    let env = Env::start().await;
    let rp = env.relying_party(CodeMode::Pick);
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let dir = tempfile::tempdir().unwrap();
    let w = Wallet::open_with_clock(
        dir.path(),
        Arc::new(MemoryKeystore::new()),
        vistalid_e2e::fast_config(),
        clock.clone(),
    )
    .unwrap();
    w.enrol(&env.url(), &env.practitioner(RPPS), Pin::new(PIN))
        .await
        .unwrap();
    let ciba = rp.ciba(RPPS, "Connexion").await;
    let ch = w.fetch_challenges(5).await.unwrap().challenges.remove(0);
    clock.advance(200);
    assert_eq!(
        w.approve(&ch.id, Pin::new("000000"), &ciba.dynamic_code)
            .await,
        Err(WalletError::ChallengeExpired)
    );
    // No PIN try was spent on it.
    assert_eq!(w.attempts_left().unwrap(), 5);
}

/// A practitioner's wallet keeps the identifier of the login page: the national id, `8` + RPPS.
#[tokio::test]
async fn the_wallet_keeps_the_national_id_as_login_identifier() {
    let env = Env::start().await;
    let (w, _dir) = enrolled(&env).await;
    let account = &w.accounts().unwrap()[0];
    assert_eq!(
        account.login_id.as_deref(),
        Some(format!("8{RPPS}").as_str())
    );
}
