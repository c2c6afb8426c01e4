// SPDX-License-Identifier: Apache-2.0
//! The ID token's `amr` (RFC 8176) says `hwk` only for a device whose hardware key was
//! attested at enrolment and co-signed the approval (ADR 0001); a wallet that only reports a
//! hardware keystore, one that reports software and one that reports nothing get `swk`;
//! `pin` and `mfa` always (an approval needs the PIN and the device key).

mod common;

use std::sync::Arc;

use common::hardware::{android, use_policy, HardwareDevice};
use common::{enrol_reporting, proof, Device, Harness, Rp};
use serde_json::{json, Value};
use vistalid_attest_testkit::{AndroidKeyOptions, TestAttestationRoot};
use vistalid_core::jws;
use vistalid_core::keys::SigningKey;
use vistalid_core::protocol::{CibaResponse, CodeMode, Decision, KeyStorage};

/// Enrols `rpps` reporting `storage` without an attestation, approves one login and returns
/// the token's `amr`.
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
    token_amr(h, rp, &ciba).await
}

/// The `amr` of the verified ID token of `ciba`.
async fn token_amr(h: &Harness, rp: &Rp, ciba: &CibaResponse) -> Value {
    let tok = rp.token(h, &ciba.auth_req_id).await.expect("token");
    let id_token = tok["id_token"].as_str().expect("id_token");
    let claims: Value =
        jws::verify_json(id_token, &h.server_key().await, Some("JWT")).expect("verifies");
    claims["amr"].clone()
}

#[tokio::test]
async fn amr_says_hwk_only_for_an_attested_hardware_key() {
    let root = Arc::new(TestAttestationRoot::new());
    let h =
        Harness::start_with(|c| use_policy(c, &root, "", r#", "allow_software_keystores": true"#))
            .await;
    // A wallet's own report of a hardware keystore is not proof.
    assert_eq!(
        amr(&h, "10101010101", Some(KeyStorage::Hardware)).await,
        json!(["pin", "swk", "mfa"])
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
    // An attested hardware key that co-signs.
    let rp = h.client(CodeMode::Pick).await;
    let code = h
        .admin()
        .add_practitioner("10101010105", "Jeanne", "Martin", "10")
        .expect("account");
    let dev = HardwareDevice::enrol(&h, &code, android(&root, AndroidKeyOptions::default()))
        .await
        .expect("attested enrolment");
    let ciba = rp.ciba(&h, "10101010105").await.expect("ciba");
    let c = dev.device.one_challenge(&h).await;
    dev.answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await
        .expect("approved");
    assert_eq!(
        token_amr(&h, &rp, &ciba).await,
        json!(["pin", "hwk", "mfa"])
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
