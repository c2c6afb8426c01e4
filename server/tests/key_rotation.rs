// SPDX-License-Identifier: Apache-2.0
//! Key rotation on the server (issue 19): the ID-token key is published before it signs and
//! stays published until its tokens expired, a relying party caching the JWKS (the
//! `openidconnect` crate, and our own relying party) keeps verifying across the rotation;
//! keys are shared by instances on one database under one key-encryption key; the admin's
//! rotation refuses what would break that.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::Harness;
use serde_json::Value;
use vistalid_core::clock::{Clock as _, SystemClock};
use vistalid_core::jws;
use vistalid_core::protocol::{CodeMode, Decision, PATH_JWKS};
use vistalid_server::{KeyPurpose, ServerConfig, ServerError, EXPIRY_MARGIN_SECS};

const RPPS: &str = "10101010101";

async fn jwks(h: &Harness) -> Value {
    h.http
        .get(h.url(PATH_JWKS))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn kids(set: &Value) -> Vec<String> {
    set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// One CIBA login approved; its ID token.
async fn login(h: &Harness, rp: &common::Rp, dev: &common::Device) -> String {
    let ciba = rp.ciba(h, RPPS).await.unwrap();
    let c = dev.one_challenge(h).await;
    dev.answer(h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await
        .unwrap();
    let tok = rp.token(h, &ciba.auth_req_id).await.unwrap();
    tok["id_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_relying_party_caching_the_jwks_keeps_verifying_across_an_id_token_rotation() {
    use openidconnect::core::CoreJwsSigningAlgorithm;
    use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
    use openidconnect::{ClientId, IssuerUrl, Nonce};

    let h = Harness::start().await;
    // The library checks expiry against the real clock.
    h.clock.set(SystemClock.now());
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let ours = rp.on(&h);
    let oidc_verify = |set: &Value, token: &str| {
        let keys: CoreJsonWebKeySet = serde_json::from_value(set.clone()).unwrap();
        let verifier = CoreIdTokenVerifier::new_public_client(
            ClientId::new(rp.id.clone()),
            IssuerUrl::new(h.server.base_url().to_owned()).unwrap(),
            keys,
        )
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
        let t: CoreIdToken = token.parse().unwrap();
        t.claims(&verifier, |_: Option<&Nonce>| Ok(())).map(|_| ())
    };

    let first = login(&h, &rp, &dev).await;
    let before = jwks(&h).await;
    let old_kid = kids(&before)[0].clone();
    assert_eq!(
        jws::peek_header(&first).unwrap().kid.as_deref(),
        Some(old_kid.as_str())
    );
    ours.verify_id_token(&first, None).await.unwrap();

    // Pre-publication: the new key is in the JWKS, the old one still signs.
    let r = h.admin().rotate_key(KeyPurpose::IdToken, 120).unwrap();
    let during = jwks(&h).await;
    assert_eq!(kids(&during), vec![old_kid.clone(), r.new_kid.clone()]);
    let still_old = login(&h, &rp, &dev).await;
    assert_eq!(
        jws::peek_header(&still_old).unwrap().kid,
        Some(old_kid.clone())
    );

    // The switch: new tokens name the new key; a JWKS cached during the pre-publication
    // verifies them, and the tokens of the old key still verify.
    h.clock.set(r.active_at);
    let after = login(&h, &rp, &dev).await;
    assert_eq!(
        jws::peek_header(&after).unwrap().kid,
        Some(r.new_kid.clone())
    );
    oidc_verify(&during, &after).expect("the cached JWKS verifies the new key's token");
    oidc_verify(&during, &still_old).expect("and the old key's");
    oidc_verify(&before, &after).expect_err("a JWKS from before the rotation does not");
    ours.verify_id_token(&after, None).await.unwrap();
    ours.verify_id_token(&still_old, None).await.unwrap();
    // A token of the retired key keeps verifying until the key leaves the JWKS.
    assert_eq!(
        kids(&jwks(&h).await),
        vec![old_kid.clone(), r.new_kid.clone()]
    );
    assert_eq!(
        r.old_expires_at,
        r.active_at + 300 + EXPIRY_MARGIN_SECS,
        "retired + the token lifetime + the margin"
    );
    h.clock.set(r.old_expires_at);
    assert_eq!(kids(&jwks(&h).await), vec![r.new_kid.clone()]);
}

#[tokio::test]
async fn a_rotation_refuses_a_short_pre_publication_and_a_second_waiting_key() {
    let h = Harness::start().await;
    let admin = h.admin();
    for purpose in KeyPurpose::ALL {
        let e = admin.rotate_key(purpose, 60).unwrap_err();
        assert!(matches!(e, ServerError::InvalidInput(_)), "{e}");
        admin.rotate_key(purpose, 120).unwrap();
        let e = admin.rotate_key(purpose, 120).unwrap_err();
        assert!(e.to_string().contains("already waiting"), "{e}");
    }
    let keys = admin.signing_keys().unwrap();
    assert_eq!(keys.len(), 6);
    h.clock.advance(120);
    for purpose in KeyPurpose::ALL {
        admin.rotate_key(purpose, 120).unwrap();
    }
    assert_eq!(admin.signing_keys().unwrap().len(), 9);
}

#[tokio::test]
async fn the_challenge_rollover_statement_is_signed_by_the_old_key() {
    let h = Harness::start().await;
    let dev = h.practitioner(RPPS).await;
    let pinned = vistalid_core::keys::PublicKey::from_jwk(&dev.enrolment.server_key).unwrap();
    let path = |kid: &str| h.url(&vistalid_core::protocol::PATH_KEY_ROLLOVER.replace("{kid}", kid));
    let r = h.http.get(path(&pinned.thumbprint())).send().await.unwrap();
    assert_eq!(r.status(), 404, "no successor yet");
    let rot = h.admin().rotate_key(KeyPurpose::Challenge, 300).unwrap();
    let body: vistalid_core::rollover::RolloverResponse = h
        .http
        .get(path(&pinned.thumbprint()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (new, claims) =
        vistalid_core::rollover::verify_rollover(&body.statement, &pinned, h.server.base_url())
            .unwrap();
    assert_eq!(new.thumbprint(), rot.new_kid);
    assert_eq!(claims.not_before, rot.active_at);
    for unknown in [rot.new_kid.as_str(), "AAAA"] {
        let r = h.http.get(path(unknown)).send().await.unwrap();
        assert_eq!(r.status(), 404);
    }
    // The challenges switch at `active_at`.
    let rp = h.client(CodeMode::Pick).await;
    h.clock.set(rot.active_at);
    rp.ciba(&h, RPPS).await.unwrap();
    let list = dev.fetch(&h, 0).await.unwrap();
    assert_eq!(jws::peek_header(&list[0]).unwrap().kid, Some(rot.new_kid));
}

#[tokio::test]
async fn instances_share_the_keys_under_one_key_encryption_key() {
    // Reads the SQLite file itself (the PostgreSQL suite shares keys across instances in
    // tests/instances.rs).
    let h = Harness::start_with(common::sqlite_only).await;
    let rot = h.admin().rotate_key(KeyPurpose::IdToken, 300).unwrap();
    // A second instance on the same database (and the default key file beside it) serves the
    // same JWKS, rotation included.
    let db = h.dir.path().join("server.sqlite");
    let mut c = ServerConfig::new(&db);
    c.clock = std::sync::Arc::clone(&h.clock).into();
    let other = vistalid_server::start(c).await.unwrap();
    let theirs: Value = h
        .http
        .get(format!("{}{PATH_JWKS}", other.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(kids(&theirs), kids(&jwks(&h).await));
    assert!(kids(&theirs).contains(&rot.new_kid));
    other.shutdown().await;
    // The keys are sealed: the database holds no clear PKCS#8 (the DER prefix of a P-256
    // PKCS#8 key) and no legacy row.
    let bytes = std::fs::read(&db).unwrap();
    let der_prefix = [0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13];
    assert!(!bytes.windows(der_prefix.len()).any(|w| w == der_prefix));
    // Another key-encryption key does not open them: the start fails, naming the key.
    let wrong = h.dir.path().join("wrong.kek");
    std::fs::write(&wrong, format!("{}\n", "A".repeat(43))).unwrap();
    let mut c = ServerConfig::new(&db);
    c.key_encryption_key_file = Some(wrong);
    let Err(e) = vistalid_server::start(c).await else {
        panic!("started with another key-encryption key")
    };
    assert!(e.to_string().contains("key-encryption key"), "{e}");
    // A configured file that does not exist is not created.
    let mut c = ServerConfig::new(&db);
    c.key_encryption_key_file = Some(h.dir.path().join("absent.kek"));
    assert!(vistalid_server::start(c).await.is_err());
}
