// SPDX-License-Identifier: Apache-2.0
//! The ID token's `amr` (RFC 8176) follows what the wallet reported at enrolment: `hwk` only
//! for a keystore that reported hardware, `swk` for software and for wallets that report
//! nothing; `pin` and `mfa` always (an approval needs the PIN and the device key).

mod common;

use common::{enrol_reporting, proof, Device, Harness, Rp};
use serde_json::{json, Value};
use vistalid_core::jws;
use vistalid_core::keys::SigningKey;
use vistalid_core::protocol::{CodeMode, Decision, KeyStorage};

/// Enrols `rpps` reporting `storage`, approves one login and returns the token's `amr`.
async fn amr(h: &Harness, rpps: &str, storage: Option<KeyStorage>) -> Value {
    let rp = h.client(CodeMode::Pick).await;
    let code = h
        .admin()
        .add_practitioner(rpps, "Jeanne", "Martin", "10")
        .expect("account");
    let key = SigningKey::make().expect("key");
    let nonce = h.nonce().await;
    let proof = proof(&key, &nonce, h.server.base_url(), h.now());
    let enrolment = enrol_reporting(h, &key, &code, &proof, storage)
        .await
        .expect("enrol");
    approved_amr(h, &rp, &Device { key, enrolment }, rpps).await
}

/// Approves one CIBA login of `rp` on `dev` and returns the verified token's `amr`.
async fn approved_amr(h: &Harness, rp: &Rp, dev: &Device, rpps: &str) -> Value {
    let ciba = rp.ciba(h, rpps).await.expect("ciba");
    let c = dev.one_challenge(h).await;
    dev.answer(h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await
        .expect("approved");
    let tok = rp.token(h, &ciba.auth_req_id).await.expect("token");
    let id_token = tok["id_token"].as_str().expect("id_token");
    let claims: Value =
        jws::verify_json(id_token, &h.server_key().await, Some("JWT")).expect("verifies");
    claims["amr"].clone()
}

#[tokio::test]
async fn amr_says_hwk_only_for_a_keystore_that_reported_hardware() {
    let h = Harness::start().await;
    assert_eq!(
        amr(&h, "10101010101", Some(KeyStorage::Hardware)).await,
        json!(["pin", "hwk", "mfa"])
    );
    assert_eq!(
        amr(&h, "10101010102", Some(KeyStorage::Software)).await,
        json!(["pin", "swk", "mfa"])
    );
    assert_eq!(
        amr(&h, "10101010103", None).await,
        json!(["pin", "swk", "mfa"]),
        "a wallet that reports nothing counts as software"
    );
}

#[tokio::test]
async fn the_reported_storage_survives_a_restart() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let key = SigningKey::make().expect("key");
    let code = h
        .admin()
        .add_practitioner("10101010104", "Jeanne", "Martin", "10")
        .expect("account");
    let nonce = h.nonce().await;
    let proof = proof(&key, &nonce, h.server.base_url(), h.now());
    let enrolment = enrol_reporting(&h, &key, &code, &proof, Some(KeyStorage::Software))
        .await
        .expect("enrol");
    let h = h.restart().await;
    let dev = Device { key, enrolment };
    assert_eq!(
        approved_amr(&h, &rp, &dev, "10101010104").await,
        json!(["pin", "swk", "mfa"])
    );
}
