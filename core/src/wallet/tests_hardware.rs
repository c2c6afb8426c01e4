// SPDX-License-Identifier: Apache-2.0
//! Unit tests of the hardware key's life in the wallet (ADR 0001), against the canned server
//! of `tests.rs` and a keystore with the capability in a fake format: the attestation is bound
//! to the nonce and the account key, every answer is co-signed over its JWS after the PIN,
//! a refused enrolment and a wipe delete the keys, and a keystore without the capability
//! enrols and answers without.

use crate::vault::PinRefusal;
use std::sync::atomic::Ordering;

use super::tests::{fetched_pick, fixture_with, Fixture, BASE, PIN, WRONG_PIN};
use super::*;
use crate::attestation::{attestation_challenge, is_hardware_alias};
use crate::keystore::{FakeHardwareKeystore, MemoryKeystore};
use crate::protocol::{DeviceAttestation, HardwareSignature};

async fn enrolled_with(ks: &Arc<FakeHardwareKeystore>) -> Fixture {
    let f = fixture_with(ks.clone());
    f.wallet
        .enrol(BASE, "ACTIVATION1", Pin::new(PIN))
        .await
        .expect("enrol");
    f
}

/// The (challenge, key point) of the fake chain sent at enrolment `n`.
fn sent_chain(f: &Fixture, n: usize) -> (Vec<u8>, Vec<u8>) {
    match f.server.state().attestations[n].clone() {
        Some(DeviceAttestation::AndroidKey { chain }) => (chain[0].clone(), chain[1].clone()),
        other => panic!("expected the fake Android chain, got {other:?}"),
    }
}

#[tokio::test]
async fn enrolment_sends_an_attestation_bound_to_the_nonce_and_the_account_key() {
    let ks = Arc::new(FakeHardwareKeystore::new());
    let f = enrolled_with(&ks).await;
    let aliases = ks.aliases();
    assert_eq!(aliases.len(), 1);
    assert!(is_hardware_alias(&aliases[0]));
    let account_key = f.server.state().device_keys["acc-1"];
    let (challenge, point) = sent_chain(&f, 0);
    // The canned server's nonce is "n-1".
    assert_eq!(
        challenge,
        attestation_challenge("n-1", &account_key).to_vec()
    );
    let hw = ks.public_key(&aliases[0]).expect("hardware key");
    assert_eq!(point, hw.as_sec1().to_vec());
    assert_ne!(hw, account_key, "the hardware key is not the account key");
}

#[tokio::test]
async fn every_answer_is_co_signed_over_its_jws_by_the_hardware_key() {
    let ks = Arc::new(FakeHardwareKeystore::new());
    let f = enrolled_with(&ks).await;
    let hw = ks.public_key(&ks.aliases()[0]).expect("hardware key");
    let ch = fetched_pick(&f, "ch-1").await;
    f.wallet
        .approve(&ch.id, Pin::new(PIN), "34")
        .await
        .expect("approve");
    let ch = fetched_pick(&f, "ch-2").await;
    f.wallet.deny(&ch.id, Pin::new(PIN)).await.expect("deny");
    let sent = f.server.state().answer_requests.clone();
    assert_eq!(sent.len(), 2);
    for req in sent {
        let Some(HardwareSignature::AndroidKey { signature }) = &req.hardware_signature else {
            panic!("no hardware signature: {req:?}");
        };
        hw.verify(req.answer.as_bytes(), signature)
            .expect("the hardware key signed the exact JWS sent");
    }
}

#[tokio::test]
async fn a_wrong_pin_never_uses_the_hardware_key() {
    let ks = Arc::new(FakeHardwareKeystore::new());
    let f = enrolled_with(&ks).await;
    let ch = fetched_pick(&f, "ch-1").await;
    let r = f.wallet.approve(&ch.id, Pin::new(WRONG_PIN), "34").await;
    assert!(
        matches!(r, Err(WalletError::Pin(PinRefusal::WrongPin { .. }))),
        "{r:?}"
    );
    assert_eq!(ks.signatures.load(Ordering::SeqCst), 0);
    assert_eq!(f.server.answers_sent(), 0);
}

#[tokio::test]
async fn a_refused_enrolment_deletes_its_hardware_key_and_keeps_the_others() {
    let ks = Arc::new(FakeHardwareKeystore::new());
    let f = enrolled_with(&ks).await;
    let first = ks.aliases();
    let first_key = f.server.state().device_keys["acc-1"];
    // The server answers the next enrolment with the same account id: refused by the wallet
    // after the keystore made a second hardware key.
    let r = f.wallet.enrol(BASE, "ACTIVATION2", Pin::new(PIN)).await;
    assert_eq!(r, Err(WalletError::AccountAlreadyEnrolled));
    assert_eq!(f.server.state().attestations.len(), 2);
    // The guard deletes on the blocking pool: wait for it.
    for _ in 0..200 {
        if ks.deleted.lock().expect("lock").len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let deleted = ks.deleted.lock().expect("lock").clone();
    assert_eq!(deleted.len(), 1, "the second key was deleted");
    assert!(
        !first.contains(&deleted[0]),
        "not the enrolled account's key"
    );
    assert_eq!(ks.aliases(), first);
    // The first account still co-signs (the canned server kept the second enrolment's key).
    f.server
        .state()
        .device_keys
        .insert("acc-1".into(), first_key);
    f.server.state().restore_first_guard("dev-acc-1");
    let ch = fetched_pick(&f, "ch-1").await;
    f.wallet
        .approve(&ch.id, Pin::new(PIN), "34")
        .await
        .expect("approve");
}

#[tokio::test]
async fn wipe_deletes_every_hardware_key() {
    let ks = Arc::new(FakeHardwareKeystore::new());
    let f = enrolled_with(&ks).await;
    f.server.state().next_account = ("acc-2".into(), AccountKind::Insured);
    f.wallet
        .enrol(BASE, "ACTIVATION2", Pin::new(PIN))
        .await
        .expect("second account");
    let held = ks.aliases();
    assert_eq!(held.len(), 2);
    f.wallet.wipe().await.expect("wipe");
    assert!(ks.aliases().is_empty());
    let mut deleted = ks.deleted.lock().expect("lock").clone();
    deleted.sort();
    assert_eq!(deleted, held);
}

#[tokio::test]
async fn a_keystore_without_the_capability_enrols_and_answers_without_evidence() {
    let f = fixture_with(Arc::new(MemoryKeystore::new()));
    f.wallet
        .enrol(BASE, "ACTIVATION1", Pin::new(PIN))
        .await
        .expect("enrol");
    assert_eq!(f.server.state().attestations, vec![None]);
    let ch = fetched_pick(&f, "ch-1").await;
    f.wallet
        .approve(&ch.id, Pin::new(PIN), "34")
        .await
        .expect("approve");
    assert_eq!(f.server.state().answer_requests[0].hardware_signature, None);
}

#[tokio::test]
async fn a_keystore_that_lost_the_capability_sends_the_answer_for_the_server_to_judge() {
    let ks = Arc::new(FakeHardwareKeystore::new());
    let f = enrolled_with(&ks).await;
    ks.withhold.store(true, Ordering::SeqCst);
    let ch = fetched_pick(&f, "ch-1").await;
    f.wallet
        .approve(&ch.id, Pin::new(PIN), "34")
        .await
        .expect("the canned server approves");
    assert_eq!(f.server.state().answer_requests[0].hardware_signature, None);
}

#[tokio::test]
async fn a_lost_hardware_key_is_a_typed_error_and_sends_nothing() {
    let ks = Arc::new(FakeHardwareKeystore::new());
    let f = enrolled_with(&ks).await;
    let alias = ks.aliases()[0].clone();
    ks.delete_attested(&alias).expect("delete");
    let ch = fetched_pick(&f, "ch-1").await;
    let r = f.wallet.approve(&ch.id, Pin::new(PIN), "34").await;
    assert_eq!(
        r,
        Err(WalletError::Keystore(
            crate::keystore::KeystoreError::KeyInvalidated
        ))
    );
    assert_eq!(f.server.answers_sent(), 0);
}
