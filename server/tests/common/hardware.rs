// SPDX-License-Identifier: Apache-2.0
//! Devices with an attested hardware key (ADR 0001) for the server tests: a policy file under
//! a test root, and a device whose `AttestingKeystore` attests at enrolment and co-signs its
//! answers.

use std::sync::Arc;

use vistalid_attest_testkit::android::TEST_PACKAGE;
use vistalid_attest_testkit::{AndroidKeyOptions, AttestingKeystore, TestAttestationRoot};
use vistalid_core::attestation::attestation_challenge;
use vistalid_core::keys::SigningKey;
use vistalid_core::keystore::{MemoryKeystore, PlatformKeystore};
use vistalid_core::protocol::{AnswerRequest, Decision, EnrolRequest, EnrolResponse, KeyStorage};
use vistalid_server::ServerConfig;

use super::{post_answer_request, post_enrol, proof, read, Device, Failure, Harness};

/// The hardware key alias every test device uses.
pub const ALIAS: &str = "hw-00000000000000aa";
/// The test Apple app id.
pub const APPLE_APP: &str = "TEAM123456.fr.vistalid.test";

/// Writes a policy (both platforms under `root`, `android_extra` and `top_extra` JSON members
/// appended to the Android section and the top level) beside the database, and names it in
/// `config`.
pub fn use_policy(
    config: &mut ServerConfig,
    root: &TestAttestationRoot,
    android_extra: &str,
    top_extra: &str,
) {
    let dir = config.db_path.parent().expect("db dir").to_owned();
    std::fs::write(dir.join("roots.pem"), root.pem()).expect("root");
    let policy = format!(
        r#"{{"android": {{"roots": "roots.pem", "apps": [{{"package_name": "{TEST_PACKAGE}",
              "signing_cert_digests": ["{}"]}}]{android_extra}}},
            "apple": {{"root": "roots.pem", "app_ids": ["{APPLE_APP}"],
                       "environment": "development"}}{top_extra}}}"#,
        "5a".repeat(32)
    );
    let path = dir.join("attestation-policy.json");
    std::fs::write(&path, policy).expect("policy");
    config.attestation_policy = Some(path);
}

/// An Android keystore under `root` with `options`.
pub fn android(root: &Arc<TestAttestationRoot>, options: AndroidKeyOptions) -> AttestingKeystore {
    AttestingKeystore::android(Arc::new(MemoryKeystore::new()), root.clone(), options)
}

/// An App Attest keystore under `root`.
pub fn apple(root: &Arc<TestAttestationRoot>) -> AttestingKeystore {
    AttestingKeystore::apple(
        Arc::new(MemoryKeystore::new()),
        root.clone(),
        APPLE_APP,
        false,
    )
}

/// A device whose hardware key lives in `keystore`.
pub struct HardwareDevice {
    pub device: Device,
    pub keystore: AttestingKeystore,
}

impl HardwareDevice {
    /// Enrols with `code`, sending the keystore's attestation for this nonce and key.
    pub async fn enrol(
        h: &Harness,
        code: &str,
        keystore: AttestingKeystore,
    ) -> Result<Self, Failure> {
        let key = SigningKey::make().expect("key");
        let enrolment = enrol_attested(h, &key, code, &keystore).await?;
        Ok(Self {
            device: Device { key, enrolment },
            keystore,
        })
    }

    pub fn id(&self) -> &str {
        self.device.id()
    }

    /// Signs an answer and sends it with the hardware key's co-signature.
    pub async fn answer(
        &self,
        h: &Harness,
        challenge_id: &str,
        decision: Decision,
        code: Option<&str>,
    ) -> Result<String, Failure> {
        let answer = self.device.sign(challenge_id, decision, code, h.now());
        let hardware_signature = self
            .keystore
            .sign_attested(ALIAS, answer.as_bytes())
            .expect("co-sign");
        let req = AnswerRequest {
            answer,
            hardware_signature,
        };
        post_answer_request(h, challenge_id, &req).await
    }
}

/// Posts an enrolment of `key` with `keystore`'s attestation for a fresh nonce.
pub async fn enrol_attested(
    h: &Harness,
    key: &SigningKey,
    code: &str,
    keystore: &AttestingKeystore,
) -> Result<EnrolResponse, Failure> {
    let nonce = h.nonce().await;
    let challenge = attestation_challenge(&nonce, &key.public_key());
    let device_attestation = keystore.attest(ALIAS, &challenge).expect("attest");
    let req = EnrolRequest {
        activation_code: code.to_owned(),
        public_key: key.public_key().to_jwk(),
        proof: proof(key, &nonce, h.server.base_url(), h.now()),
        device_name: "Pixel 9 test".to_owned(),
        device_attestation,
        key_storage: Some(KeyStorage::Hardware),
        pin_guard: None,
    };
    read(post_enrol(h, &req).await).await
}
