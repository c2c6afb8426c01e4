// SPDX-License-Identifier: Apache-2.0
//! The test keystore that really attests (`vistalid-attest-testkit`'s `AttestingKeystore`),
//! checked with the server's verifiers: its Android chains and App Attest objects made for the
//! ADR 0001 challenge verify under its test root and the policy they were built for (and fail
//! under a stricter one), and its signatures and assertions verify by the attested key.

use std::sync::Arc;

use vistalid_attest_testkit::android::{INSIDE, TEST_PACKAGE, TEST_SIGNER_DIGEST};
use vistalid_attest_testkit::{sha256, AndroidKeyOptions, AttestingKeystore, TestAttestationRoot};
use vistalid_core::attestation::attestation_challenge;
use vistalid_core::keys::SigningKey;
use vistalid_core::keystore::{KeystoreError, MemoryKeystore, PlatformKeystore};
use vistalid_core::protocol::{DeviceAttestation, HardwareSignature};
use vistalid_server::attestation::{
    verify_android, verify_app_attest, verify_app_attest_assertion, AndroidApp, AndroidPolicy,
    AppAttestEnvironment, ApplePolicy, AttestationError, RevocationList, SecurityLevel,
    TrustAnchors,
};

const ALIAS: &str = "hw-0123456789abcdef";
const APP_ID: &str = "TEAM123456.fr.vistalid.test";

fn anchors(root: &TestAttestationRoot) -> TrustAnchors {
    let mut t = TrustAnchors::new();
    t.add_certificate_der(root.der()).expect("root");
    t
}

fn policy() -> AndroidPolicy {
    AndroidPolicy::new(vec![AndroidApp {
        package_name: TEST_PACKAGE.into(),
        signing_cert_digests: vec![TEST_SIGNER_DIGEST.to_vec()],
    }])
}

fn challenge() -> [u8; 32] {
    attestation_challenge("nonce-1", &SigningKey::make().expect("key").public_key())
}

fn android(options: AndroidKeyOptions) -> (Arc<TestAttestationRoot>, AttestingKeystore) {
    let root = Arc::new(TestAttestationRoot::new());
    let ks = AttestingKeystore::android(Arc::new(MemoryKeystore::new()), root.clone(), options);
    (root, ks)
}

fn chain_of(evidence: Option<DeviceAttestation>) -> Vec<Vec<u8>> {
    match evidence {
        Some(DeviceAttestation::AndroidKey { chain }) => chain,
        other => panic!("expected an Android chain, got {other:?}"),
    }
}

#[test]
fn android_chains_verify_under_the_test_root_and_signatures_by_the_attested_key() {
    let (root, ks) = android(AndroidKeyOptions::default());
    let challenge = challenge();
    let chain = chain_of(ks.attest(ALIAS, &challenge).expect("attest"));
    let check = |chain: &[Vec<u8>], challenge: &[u8], trust: &TrustAnchors| {
        verify_android(
            chain,
            challenge,
            &policy(),
            trust,
            &RevocationList::empty(),
            INSIDE,
        )
    };
    let verdict = check(&chain, &challenge, &anchors(&root)).expect("verifies");
    assert_eq!(verdict.security_level, SecurityLevel::TrustedEnvironment);
    assert_eq!(verdict.package_name, TEST_PACKAGE);
    // Another challenge, another root: refused.
    assert_eq!(
        check(&chain, &[0; 32], &anchors(&root)).map(|_| ()),
        Err(AttestationError::ChallengeMismatch)
    );
    assert_eq!(
        check(&chain, &challenge, &anchors(&TestAttestationRoot::new())).map(|_| ()),
        Err(AttestationError::UntrustedRoot)
    );
    // A StrongBox-only policy refuses this TEE key.
    let strongbox = AndroidPolicy {
        require_strongbox: true,
        ..policy()
    };
    assert!(matches!(
        verify_android(
            &chain,
            &challenge,
            &strongbox,
            &anchors(&root),
            &RevocationList::empty(),
            INSIDE
        ),
        Err(AttestationError::SecurityLevel(_))
    ));

    let message = b"header.payload.signature";
    let Some(HardwareSignature::AndroidKey { signature }) =
        ks.sign_attested(ALIAS, message).expect("sign")
    else {
        panic!("expected an Android signature");
    };
    verdict
        .attested_key
        .verify(message, &signature)
        .expect("signed by the attested key");
    assert_eq!(
        verdict.attested_key.verify(b"other", &signature),
        Err(AttestationError::Signature)
    );
}

#[test]
fn android_options_show_in_the_chain() {
    let options = AndroidKeyOptions {
        strongbox: true,
        ..AndroidKeyOptions::default()
    };
    let (root, ks) = android(options);
    let challenge = challenge();
    let chain = chain_of(ks.attest(ALIAS, &challenge).expect("attest"));
    let strongbox = AndroidPolicy {
        require_strongbox: true,
        ..policy()
    };
    let verdict = verify_android(
        &chain,
        &challenge,
        &strongbox,
        &anchors(&root),
        &RevocationList::empty(),
        INSIDE,
    )
    .expect("StrongBox chain");
    assert_eq!(verdict.security_level, SecurityLevel::StrongBox);

    let (root, ks) = android(AndroidKeyOptions {
        verified_boot: false,
        device_locked: false,
        ..AndroidKeyOptions::default()
    });
    let chain = chain_of(ks.attest(ALIAS, &challenge).expect("attest"));
    assert!(matches!(
        verify_android(
            &chain,
            &challenge,
            &policy(),
            &anchors(&root),
            &RevocationList::empty(),
            INSIDE
        ),
        Err(AttestationError::BootState(_))
    ));
}

#[test]
fn app_attest_objects_verify_and_assertions_rise_unless_told_to_repeat() {
    let root = Arc::new(TestAttestationRoot::new());
    let ks = AttestingKeystore::apple(Arc::new(MemoryKeystore::new()), root.clone(), APP_ID, false);
    let challenge = challenge();
    let Some(DeviceAttestation::AppleAppAttest { key_id, object }) =
        ks.attest(ALIAS, &challenge).expect("attest")
    else {
        panic!("expected App Attest evidence");
    };
    let policy = ApplePolicy {
        app_ids: vec![APP_ID.into()],
        environment: AppAttestEnvironment::Development,
    };
    let verdict = verify_app_attest(
        &object,
        &key_id,
        &challenge,
        &policy,
        &anchors(&root),
        INSIDE,
    )
    .expect("verifies");
    let assert = |message: &[u8], last: u32| {
        let Some(HardwareSignature::AppleAppAttest { assertion }) =
            ks.sign_attested(ALIAS, message).expect("assert")
        else {
            panic!("expected an assertion");
        };
        verify_app_attest_assertion(
            &assertion,
            &sha256(message),
            &verdict.attested_key,
            APP_ID,
            last,
        )
    };
    assert_eq!(assert(b"first", 0), Ok(1));
    assert_eq!(assert(b"second", 1), Ok(2));
    ks.repeat_counter(true);
    assert_eq!(assert(b"third", 2), Err(AttestationError::Counter));
}

#[test]
fn withheld_missing_and_malformed_aliases_are_answered_as_a_keystore_would() {
    let (_root, ks) = android(AndroidKeyOptions::default());
    assert_eq!(
        ks.sign_attested(ALIAS, b"m"),
        Err(KeystoreError::KeyInvalidated)
    );
    ks.attest(ALIAS, &challenge()).expect("attest");
    ks.withhold_signatures(true);
    assert_eq!(ks.sign_attested(ALIAS, b"m"), Ok(None));
    ks.withhold_signatures(false);
    assert!(ks.sign_attested(ALIAS, b"m").expect("sign").is_some());
    assert!(matches!(
        ks.attest("fr.vistalid.vault.prf", &[0; 32]),
        Err(KeystoreError::Failed(_))
    ));
    ks.delete_attested(ALIAS).expect("delete");
    assert!(ks.aliases().is_empty());
    ks.delete_attested(ALIAS).expect("idempotent");
}
