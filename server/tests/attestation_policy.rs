// SPDX-License-Identifier: Apache-2.0
//! The attestation policy file and the checks of what a wallet sends (ADR 0001), on evidence
//! made by the test keystore that really attests: enrolment evidence bound to the nonce and
//! the account key, the software-keystore rule, StrongBox and platform requirements, the
//! revocation list reloaded when its file changes, co-signatures (missing, by another key, of
//! another platform, repeated App Attest counters) and per-client requirements.

use std::sync::Arc;

use vistalid_attest_testkit::android::{INSIDE, TEST_PACKAGE};
use vistalid_attest_testkit::{sha256, AndroidKeyOptions, AttestingKeystore, TestAttestationRoot};
use vistalid_core::attestation::attestation_challenge;
use vistalid_core::keys::{PublicKey, SigningKey};
use vistalid_core::keystore::{MemoryKeystore, PlatformKeystore};
use vistalid_core::protocol::{DeviceAttestation, ErrorCode, HardwareSignature};
use vistalid_server::attestation::{
    AttestationError, AttestationPolicy, AttestationRefusal, HardwareKeyRecord, Platform,
    SecurityLevel,
};

const ALIAS: &str = "hw-0123456789abcdef";
const APP_ID: &str = "TEAM123456.fr.vistalid.test";
const NONCE: &str = "bm9uY2Utb25l";

struct Setup {
    dir: tempfile::TempDir,
    root: Arc<TestAttestationRoot>,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Arc::new(TestAttestationRoot::new());
        std::fs::write(dir.path().join("roots.pem"), root.pem()).expect("write root");
        std::fs::write(dir.path().join("status.json"), br#"{"entries":{}}"#).expect("write");
        Self { dir, root }
    }

    /// A policy with both platforms under the test root and `extra` keys merged in.
    fn policy(&self, android_extra: &str, top_extra: &str) -> AttestationPolicy {
        let json = format!(
            r#"{{
              "android": {{"roots": "roots.pem",
                          "apps": [{{"package_name": "{TEST_PACKAGE}",
                                     "signing_cert_digests": ["{}"]}}]{android_extra}}},
              "apple": {{"root": "roots.pem", "app_ids": ["{APP_ID}"], "environment": "development"}},
              "revocation_list": "status.json"{top_extra}
            }}"#,
            "5a".repeat(32)
        );
        std::fs::write(self.dir.path().join("policy.json"), json).expect("write policy");
        AttestationPolicy::load(&self.dir.path().join("policy.json")).expect("policy")
    }

    fn android(&self, options: AndroidKeyOptions) -> AttestingKeystore {
        AttestingKeystore::android(Arc::new(MemoryKeystore::new()), self.root.clone(), options)
    }

    fn apple(&self) -> AttestingKeystore {
        AttestingKeystore::apple(
            Arc::new(MemoryKeystore::new()),
            self.root.clone(),
            APP_ID,
            false,
        )
    }
}

fn account_key() -> PublicKey {
    SigningKey::make().expect("key").public_key()
}

fn evidence(ks: &AttestingKeystore, key: &PublicKey) -> DeviceAttestation {
    ks.attest(ALIAS, &attestation_challenge(NONCE, key))
        .expect("attest")
        .expect("evidence")
}

fn enrol(
    policy: &AttestationPolicy,
    ks: &AttestingKeystore,
) -> Result<Option<HardwareKeyRecord>, AttestationRefusal> {
    let key = account_key();
    policy.check_enrolment(Some(&evidence(ks, &key)), NONCE, &key, false, INSIDE)
}

fn invalid(r: Result<Option<HardwareKeyRecord>, AttestationRefusal>) -> AttestationError {
    match r {
        Err(AttestationRefusal::Invalid(e)) => e,
        other => panic!("expected attestation_invalid, got {other:?}"),
    }
}

#[test]
fn genuine_android_and_apple_evidence_gives_the_stored_record() {
    let s = Setup::new();
    let policy = s.policy("", "");
    let record = enrol(&policy, &s.android(AndroidKeyOptions::default()))
        .expect("accepted")
        .expect("attested");
    assert_eq!(record.attested.platform, Platform::Android);
    assert_eq!(
        record.attested.security_level,
        SecurityLevel::TrustedEnvironment
    );
    assert_eq!(record.attested.app_id, TEST_PACKAGE);
    assert_eq!(record.attested.os_patch_level, Some(202511));
    assert_eq!(record.apple_key_id, None);

    let apple = s.apple();
    let key = account_key();
    let ev = evidence(&apple, &key);
    let record = policy
        .check_enrolment(Some(&ev), NONCE, &key, false, INSIDE)
        .expect("accepted")
        .expect("attested");
    assert_eq!(record.attested.platform, Platform::Apple);
    assert_eq!(record.attested.security_level, SecurityLevel::SecureEnclave);
    assert_eq!(record.attested.app_id, APP_ID);
    let DeviceAttestation::AppleAppAttest { key_id, .. } = ev else {
        panic!("App Attest evidence");
    };
    assert_eq!(record.apple_key_id, Some(key_id));
    assert_eq!(record.counter, 0);
}

#[test]
fn evidence_for_another_nonce_or_account_key_is_refused() {
    let s = Setup::new();
    let policy = s.policy("", "");
    let ks = s.android(AndroidKeyOptions::default());
    let key = account_key();
    let ev = evidence(&ks, &key);
    let other = account_key();
    for (nonce, k) in [("another-nonce", &key), (NONCE, &other)] {
        assert_eq!(
            invalid(policy.check_enrolment(Some(&ev), nonce, k, true, INSIDE)),
            AttestationError::ChallengeMismatch
        );
    }
}

#[test]
fn no_evidence_is_let_in_only_where_software_keystores_are() {
    let s = Setup::new();
    let policy = s.policy("", "");
    let key = account_key();
    assert_eq!(
        policy.check_enrolment(None, NONCE, &key, true, INSIDE),
        Ok(None)
    );
    let refused = policy.check_enrolment(None, NONCE, &key, false, INSIDE);
    assert!(
        matches!(refused, Err(AttestationRefusal::Required(_))),
        "{refused:?}"
    );
    assert_eq!(
        refused.expect_err("refused").code(),
        ErrorCode::AttestationRequired
    );
    // The file decides over the loopback default.
    assert!(!s
        .policy("", r#", "allow_software_keystores": false"#)
        .software_allowed(true));
    assert!(s
        .policy("", r#", "allow_software_keystores": true"#)
        .software_allowed(false));
    assert!(!s.policy("", "").software_allowed(false));
}

#[test]
fn a_strongbox_policy_refuses_tee_keys_and_unverified_boot_is_refused() {
    let s = Setup::new();
    let strongbox = s.policy(r#", "require_strongbox": true"#, "");
    let tee = invalid(enrol(&strongbox, &s.android(AndroidKeyOptions::default())));
    assert!(matches!(tee, AttestationError::SecurityLevel(_)), "{tee:?}");
    let sb = AndroidKeyOptions {
        strongbox: true,
        ..AndroidKeyOptions::default()
    };
    let record = enrol(&strongbox, &s.android(sb))
        .expect("accepted")
        .expect("key");
    assert_eq!(record.attested.security_level, SecurityLevel::StrongBox);

    let unlocked = AndroidKeyOptions {
        verified_boot: false,
        device_locked: false,
        ..AndroidKeyOptions::default()
    };
    let e = invalid(enrol(&s.policy("", ""), &s.android(unlocked)));
    assert!(matches!(e, AttestationError::BootState(_)), "{e:?}");
    let e = invalid(enrol(
        &s.policy(r#", "min_os_patch_level": 202601"#, ""),
        &s.android(AndroidKeyOptions::default()),
    ));
    assert_eq!(e, AttestationError::PatchLevel);
}

#[test]
fn a_platform_the_policy_does_not_name_is_refused() {
    let s = Setup::new();
    let only_android = AttestationPolicy::from_json(
        &format!(
            r#"{{"android": {{"roots": "roots.pem", "apps": [{{"package_name": "{TEST_PACKAGE}",
                 "signing_cert_digests": ["{}"]}}]}}}}"#,
            "5a".repeat(32)
        ),
        s.dir.path(),
    )
    .expect("policy");
    assert_eq!(
        invalid(enrol(&only_android, &s.apple())),
        AttestationError::PlatformNotAccepted
    );
    assert_eq!(
        invalid(enrol(
            &AttestationPolicy::default(),
            &s.android(AndroidKeyOptions::default())
        )),
        AttestationError::PlatformNotAccepted
    );
}

#[test]
fn a_revocation_list_naming_the_intermediate_is_picked_up_when_the_file_changes() {
    let s = Setup::new();
    let policy = s.policy("", "");
    let ks = s.android(AndroidKeyOptions::default());
    enrol(&policy, &ks).expect("accepted before the list names it");
    // The chain's intermediate "Test Droid CA" has serial SHA-256(name)[..8].
    let serial: String = sha256(b"Test Droid CA")[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let serial = serial.trim_start_matches('0');
    std::fs::write(
        s.dir.path().join("status.json"),
        format!(r#"{{"entries":{{"{serial}":{{"status":"REVOKED","reason":"KEY_COMPROMISE"}}}}}}"#),
    )
    .expect("write");
    let source = policy.revocations().expect("configured");
    assert_eq!(source.reload_if_changed(), Ok(Some(1)));
    assert_eq!(invalid(enrol(&policy, &ks)), AttestationError::Revoked);
}

fn record_and_keystore(s: &Setup, apple: bool) -> (HardwareKeyRecord, AttestingKeystore) {
    let ks = if apple {
        s.apple()
    } else {
        s.android(AndroidKeyOptions::default())
    };
    let record = enrol(&s.policy("", ""), &ks)
        .expect("accepted")
        .expect("key");
    (record, ks)
}

#[test]
fn co_signatures_must_come_from_the_attested_key() {
    let s = Setup::new();
    let (record, ks) = record_and_keystore(&s, false);
    let jws = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";
    let sig = ks.sign_attested(ALIAS, jws.as_bytes()).expect("sign");
    assert_eq!(record.check_co_signature(jws, sig.as_ref()), Ok(None));
    // Over other bytes, missing, by another hardware key, of the other platform.
    let e = record.check_co_signature("another.jws.sig", sig.as_ref());
    assert_eq!(
        e,
        Err(AttestationRefusal::Invalid(AttestationError::Signature))
    );
    let missing = record.check_co_signature(jws, None).expect_err("refused");
    assert_eq!(missing.code(), ErrorCode::AttestationRequired);
    let (_, other) = record_and_keystore(&s, false);
    let forged = other.sign_attested(ALIAS, jws.as_bytes()).expect("sign");
    assert_eq!(
        record.check_co_signature(jws, forged.as_ref()),
        Err(AttestationRefusal::Invalid(AttestationError::Signature))
    );
    let wrong_platform = HardwareSignature::AppleAppAttest {
        assertion: vec![0xa0],
    };
    let e = record
        .check_co_signature(jws, Some(&wrong_platform))
        .expect_err("refused");
    assert_eq!(e.reason_kind(), "malformed");
}

#[test]
fn app_attest_counters_must_rise() {
    let s = Setup::new();
    let (mut record, ks) = record_and_keystore(&s, true);
    let jws = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";
    let first = ks.sign_attested(ALIAS, jws.as_bytes()).expect("assert");
    assert_eq!(record.check_co_signature(jws, first.as_ref()), Ok(Some(1)));
    record.counter = 1;
    // The same assertion again (a replay), then a fresh one that repeats the counter.
    assert_eq!(
        record.check_co_signature(jws, first.as_ref()),
        Err(AttestationRefusal::Invalid(AttestationError::Counter))
    );
    ks.repeat_counter(true);
    let repeated = ks.sign_attested(ALIAS, b"next.jws.sig").expect("assert");
    assert_eq!(
        record.check_co_signature("next.jws.sig", repeated.as_ref()),
        Err(AttestationRefusal::Invalid(AttestationError::Counter))
    );
    ks.repeat_counter(false);
    let next = ks.sign_attested(ALIAS, b"next.jws.sig").expect("assert");
    assert_eq!(
        record.check_co_signature("next.jws.sig", next.as_ref()),
        Ok(Some(2))
    );
}

#[test]
fn client_requirements_are_checked_on_the_stored_record() {
    let s = Setup::new();
    let policy = s.policy(
        "",
        r#", "clients": {
              "strict": {"require_strongbox": true, "platforms": ["android"]},
              "hardware": {"require_attestation": true},
              "patched": {"min_os_patch_level": 202601}
            }"#,
    );
    let (android, _) = record_and_keystore(&s, false);
    let (apple, _) = record_and_keystore(&s, true);
    let mut strongbox = android.clone();
    strongbox.attested.security_level = SecurityLevel::StrongBox;
    let strict = policy.client_requirements("strict");
    assert!(!strict.accepts(Some(&android)), "TEE");
    assert!(strict.accepts(Some(&strongbox)));
    assert!(!strict.accepts(Some(&apple)), "not Android");
    assert!(!strict.accepts(None));
    let hardware = policy.client_requirements("hardware");
    assert!(hardware.accepts(Some(&apple)) && hardware.accepts(Some(&android)));
    assert!(!hardware.accepts(None));
    assert!(!policy
        .client_requirements("patched")
        .accepts(Some(&android)));
    let anyone = policy.client_requirements("unlisted");
    assert!(anyone.accepts(None) && anyone.accepts(Some(&android)));
}

#[test]
fn policy_files_name_what_is_wrong() {
    let s = Setup::new();
    let err = |json: &str| {
        AttestationPolicy::from_json(json, s.dir.path())
            .expect_err("refused")
            .to_string()
    };
    assert!(err(r#"{"android": {"roots": "roots.pem", "apps": []}}"#).contains("android.apps"));
    assert!(err(
        r#"{"android": {"roots": "roots.pem", "apps": [{"package_name": "a", "signing_cert_digests": ["00"]}]}}"#
    )
    .contains("SHA-256"));
    assert!(err(
        r#"{"apple": {"root": "roots.pem", "app_ids": ["nodot"], "environment": "production"}}"#
    )
    .contains("TEAMID"));
    assert!(
        err(r#"{"apple": {"root": "roots.pem", "app_ids": ["T.b"], "environment": "prod"}}"#)
            .contains("bad policy JSON")
    );
    assert!(err(r#"{"android": {"roots": "missing.json", "apps": []}}"#).contains("missing.json"));
}
