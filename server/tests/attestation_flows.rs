// SPDX-License-Identifier: Apache-2.0
//! Attestation over HTTP (ADR 0001), with devices whose test keystore really attests under
//! the test's own root: enrolment under the policy (software keystores, StrongBox, the
//! activation code spared by a refusal), the hardware co-signature on every answer (missing,
//! by another key, a repeated App Attest counter), per-client requirements at CIBA, the
//! revocation list picked up while the server runs, the admin's device listing and the
//! refusal counts.

mod common;

use std::sync::Arc;

use common::hardware::{android, apple, enrol_attested, use_policy, HardwareDevice, ALIAS};
use common::{expect_err, post_answer_request, Device, Harness};
use vistalid_attest_testkit::{sha256, AndroidKeyOptions, TestAttestationRoot};
use vistalid_core::keys::SigningKey;
use vistalid_core::keystore::PlatformKeystore;
use vistalid_core::protocol::{AnswerRequest, CodeMode, Decision};

const SOFTWARE_OFF: &str = r#", "allow_software_keystores": false"#;

async fn harness(root: &TestAttestationRoot, android_extra: &str, top: &str) -> Harness {
    Harness::start_with(|c| use_policy(c, root, android_extra, top)).await
}

fn code(h: &Harness, rpps: &str) -> String {
    h.admin()
        .add_practitioner(rpps, "Jeanne", "Martin", "10")
        .expect("account")
        .to_string()
}

fn refusal_count(h: &Harness, stage: &str, code: &str, reason: &str) -> i64 {
    h.admin()
        .attestation_refusals()
        .expect("refusals")
        .iter()
        .find(|r| r.stage == stage && r.code == code && r.reason == reason)
        .map_or(0, |r| r.count)
}

#[tokio::test]
async fn an_attested_device_enrols_and_the_admin_lists_what_it_showed() {
    let root = Arc::new(TestAttestationRoot::new());
    let h = harness(&root, "", SOFTWARE_OFF).await;
    let dev = HardwareDevice::enrol(
        &h,
        &code(&h, "10101010101"),
        android(&root, AndroidKeyOptions::default()),
    )
    .await
    .expect("attested enrolment");
    let listed = h.admin().list_devices("10101010101").expect("devices");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].device_id, dev.id());
    assert_eq!(
        listed[0].attestation_text,
        "android_key tee fr.vistalid.test boot=verified locked patch=202511"
    );
    let summary = listed[0].attestation.as_ref().expect("attested");
    assert_eq!(summary.app_id, "fr.vistalid.test");
    // An unattested device is listed as such.
    let h2 = Harness::start().await;
    h2.practitioner("10101010102").await;
    assert_eq!(
        h2.admin().list_devices("10101010102").expect("devices")[0].attestation_text,
        "unattested"
    );
}

#[tokio::test]
async fn a_software_keystore_is_refused_where_the_policy_says_so_and_the_code_is_spared() {
    let root = Arc::new(TestAttestationRoot::new());
    let h = harness(&root, "", SOFTWARE_OFF).await;
    let code = code(&h, "10101010101");
    let f = expect_err(
        Device::enrol(&h, &code).await.map(|_| ()),
        403,
        "attestation_required",
    );
    assert!(f.body.error_description.expect("why").contains("attested"));
    assert_eq!(
        refusal_count(&h, "enrolment", "attestation_required", "missing"),
        1
    );
    // The refusal spent no try: the same code enrols an attested device.
    HardwareDevice::enrol(&h, &code, android(&root, AndroidKeyOptions::default()))
        .await
        .expect("the code still works");
}

#[tokio::test]
async fn a_strongbox_policy_refuses_a_tee_chain_at_enrolment() {
    let root = Arc::new(TestAttestationRoot::new());
    let h = harness(&root, r#", "require_strongbox": true"#, SOFTWARE_OFF).await;
    let code = code(&h, "10101010101");
    let tee = HardwareDevice::enrol(&h, &code, android(&root, AndroidKeyOptions::default())).await;
    let f = expect_err(tee.map(|_| ()), 403, "attestation_invalid");
    assert!(f
        .body
        .error_description
        .expect("why")
        .contains("security level"));
    assert_eq!(
        refusal_count(&h, "enrolment", "attestation_invalid", "security_level"),
        1
    );
    let strongbox = AndroidKeyOptions {
        strongbox: true,
        ..AndroidKeyOptions::default()
    };
    HardwareDevice::enrol(&h, &code, android(&root, strongbox))
        .await
        .expect("a StrongBox chain enrols");
}

#[tokio::test]
async fn evidence_under_another_root_or_for_another_nonce_is_refused() {
    let root = Arc::new(TestAttestationRoot::new());
    let h = harness(&root, "", "").await;
    let code = code(&h, "10101010101");
    let stranger = Arc::new(TestAttestationRoot::new());
    let r =
        HardwareDevice::enrol(&h, &code, android(&stranger, AndroidKeyOptions::default())).await;
    let f = expect_err(r.map(|_| ()), 403, "attestation_invalid");
    assert!(f
        .body
        .error_description
        .expect("why")
        .contains("trusted root"));
    // Attested for another enrolment's nonce (a replayed attestation).
    let ks = android(&root, AndroidKeyOptions::default());
    let key = SigningKey::make().expect("key");
    let other_nonce = h.nonce().await;
    let evidence = ks
        .attest(
            ALIAS,
            &vistalid_core::attestation::attestation_challenge(&other_nonce, &key.public_key()),
        )
        .expect("attest");
    let nonce = h.nonce().await;
    let req = vistalid_core::protocol::EnrolRequest {
        activation_code: code.clone(),
        public_key: key.public_key().to_jwk(),
        proof: common::proof(&key, &nonce, h.server.base_url(), h.now()),
        device_name: "Pixel".into(),
        device_attestation: evidence,
        key_storage: None,
        pin_guard: None,
    };
    let r =
        common::read::<vistalid_core::protocol::EnrolResponse>(common::post_enrol(&h, &req).await)
            .await;
    expect_err(r, 403, "attestation_invalid");
    assert_eq!(
        refusal_count(&h, "enrolment", "attestation_invalid", "challenge_mismatch"),
        1
    );
    // Software keystores still enrol on this loopback server (no "allow_software_keystores").
    Device::enrol(&h, &code)
        .await
        .expect("unattested on loopback");
}

#[tokio::test]
async fn every_answer_of_an_attested_device_must_be_co_signed_by_its_hardware_key() {
    let root = Arc::new(TestAttestationRoot::new());
    let h = harness(&root, "", "").await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = HardwareDevice::enrol(
        &h,
        &code(&h, "10101010101"),
        android(&root, AndroidKeyOptions::default()),
    )
    .await
    .expect("enrol");
    let ciba = rp.ciba(&h, "10101010101").await.expect("ciba");
    let c = dev.device.one_challenge(&h).await;
    // The account key alone (as from a copied vault).
    let alone = dev
        .device
        .answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await;
    expect_err(alone, 403, "attestation_required");
    // Co-signed by another device's hardware key.
    let impostor = android(&root, AndroidKeyOptions::default());
    impostor
        .attest(ALIAS, &[0; 32])
        .expect("the impostor's own key");
    let answer = dev
        .device
        .sign(&c.id, Decision::Approve, Some(&ciba.dynamic_code), h.now());
    let forged = impostor
        .sign_attested(ALIAS, answer.as_bytes())
        .expect("sign");
    let req = AnswerRequest {
        answer,
        hardware_signature: forged,
    };
    expect_err(
        post_answer_request(&h, &c.id, &req).await,
        403,
        "attestation_invalid",
    );
    assert_eq!(
        refusal_count(&h, "answer", "attestation_required", "missing"),
        1
    );
    assert_eq!(
        refusal_count(&h, "answer", "attestation_invalid", "signature"),
        1
    );
    // The refusals answered nothing: the genuine co-signed approval still goes through.
    let status = dev
        .answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
        .await
        .expect("co-signed");
    assert_eq!(status, "approved");
    rp.token(&h, &ciba.auth_req_id).await.expect("token");
}

#[tokio::test]
async fn app_attest_counters_must_rise_and_a_repeated_one_is_refused() {
    let root = Arc::new(TestAttestationRoot::new());
    let h = harness(&root, "", "").await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = HardwareDevice::enrol(&h, &code(&h, "10101010101"), apple(&root))
        .await
        .expect("App Attest enrolment");
    assert!(h.admin().list_devices("10101010101").expect("devices")[0]
        .attestation_text
        .starts_with("apple_app_attest secure_enclave TEAM123456.fr.vistalid.test"));
    // First login: counter 1.
    let ciba = rp.ciba(&h, "10101010101").await.expect("ciba");
    let c = dev.device.one_challenge(&h).await;
    let answer = dev
        .device
        .sign(&c.id, Decision::Approve, Some(&ciba.dynamic_code), h.now());
    let first = dev
        .keystore
        .sign_attested(ALIAS, answer.as_bytes())
        .expect("assert");
    let req = AnswerRequest {
        answer: answer.clone(),
        hardware_signature: first.clone(),
    };
    assert_eq!(
        post_answer_request(&h, &c.id, &req)
            .await
            .expect("approved"),
        "approved"
    );
    // Second login, answered with an assertion that repeats counter 1.
    let ciba = rp.ciba(&h, "10101010101").await.expect("ciba");
    let c = dev.device.one_challenge(&h).await;
    dev.keystore.repeat_counter(true);
    let answer = dev
        .device
        .sign(&c.id, Decision::Approve, Some(&ciba.dynamic_code), h.now());
    let repeated = dev
        .keystore
        .sign_attested(ALIAS, answer.as_bytes())
        .expect("assert");
    let req = AnswerRequest {
        answer: answer.clone(),
        hardware_signature: repeated,
    };
    let f = expect_err(
        post_answer_request(&h, &c.id, &req).await,
        403,
        "attestation_invalid",
    );
    assert!(f.body.error_description.expect("why").contains("counter"));
    assert_eq!(
        refusal_count(&h, "answer", "attestation_invalid", "counter"),
        1
    );
    // A rising counter answers it.
    dev.keystore.repeat_counter(false);
    let fresh = dev
        .keystore
        .sign_attested(ALIAS, answer.as_bytes())
        .expect("assert");
    let req = AnswerRequest {
        answer,
        hardware_signature: fresh,
    };
    assert_eq!(
        post_answer_request(&h, &c.id, &req)
            .await
            .expect("approved"),
        "approved"
    );
}

#[tokio::test]
async fn a_client_requiring_strongbox_gets_no_login_on_a_tee_device() {
    let root = Arc::new(TestAttestationRoot::new());
    let h = harness(&root, "", "").await;
    let strict = h.client(CodeMode::Pick).await;
    let lenient = h.client(CodeMode::Pick).await;
    let tee = HardwareDevice::enrol(
        &h,
        &code(&h, "10101010101"),
        android(&root, AndroidKeyOptions::default()),
    )
    .await
    .expect("TEE device");
    // The policy names the strict client (client ids are drawn at registration: restart).
    let clients = format!(
        r#", "clients": {{"{}": {{"require_strongbox": true}}, "{}": {{}}}}"#,
        strict.id, lenient.id
    );
    let h = h.restart_with(|c| use_policy(c, &root, "", &clients)).await;
    let f = expect_err(
        strict.ciba(&h, "10101010101").await,
        403,
        "attestation_required",
    );
    assert!(f
        .body
        .error_description
        .expect("why")
        .contains("requirements"));
    assert!(
        tee.device.fetch(&h, 0).await.expect("fetch").is_empty(),
        "nothing queued"
    );
    assert_eq!(
        refusal_count(&h, "login", "attestation_required", "missing"),
        1
    );
    // Another client without the requirement reaches the same device.
    lenient.ciba(&h, "10101010101").await.expect("ciba");
    assert_eq!(tee.device.fetch(&h, 0).await.expect("fetch").len(), 1);
}

#[tokio::test]
async fn a_revocation_list_written_while_the_server_runs_is_picked_up() {
    let root = Arc::new(TestAttestationRoot::new());
    let h = Harness::start_with(|c| {
        let dir = c.db_path.parent().expect("dir").to_owned();
        std::fs::write(dir.join("status.json"), br#"{"entries":{}}"#).expect("list");
        use_policy(
            c,
            &root,
            "",
            r#", "revocation_list": "status.json", "revocation_check_secs": 1"#,
        );
    })
    .await;
    let ks = android(&root, AndroidKeyOptions::default());
    enrol_attested(
        &h,
        &SigningKey::make().expect("key"),
        &code(&h, "10101010101"),
        &ks,
    )
    .await
    .expect("accepted before the list names the intermediate");
    // The chain's intermediate "Test Droid CA" has serial SHA-256(name)[..8].
    let serial: String = sha256(b"Test Droid CA")[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(
        h.dir.path().join("status.json"),
        format!(
            r#"{{"entries":{{"{}":{{"status":"REVOKED"}}}}}}"#,
            serial.trim_start_matches('0')
        ),
    )
    .expect("write");
    // The loop re-reads the file within `revocation_check_secs`: enrol (each try with a new
    // account) until the refusal comes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for n in 2.. {
        assert!(
            std::time::Instant::now() < deadline,
            "the list was never reloaded"
        );
        let code = code(&h, &format!("101010101{n:02}"));
        let key = SigningKey::make().expect("key");
        match enrol_attested(&h, &key, &code, &ks).await {
            Err(f) if f.body.error == "attestation_invalid" => {
                assert!(f.body.error_description.expect("why").contains("revoked"));
                break;
            }
            Err(f) => panic!("{f:?}"),
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
    // Reloading on demand (what SIGHUP does) reads the same list.
    assert_eq!(
        h.server.reload_revocations().await.expect("reload"),
        Some(1)
    );
}
