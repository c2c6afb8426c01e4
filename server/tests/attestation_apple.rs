// SPDX-License-Identifier: Apache-2.0
//! Apple App Attest against the real samples (`shared/vectors/attestation/apple/*.yaml`,
//! captured on iPhones in development mode): every attestation verifies at its capture time,
//! each altered field is refused, and every assertion verifies once with a counter above the
//! last one and is refused when its counter is not.

mod attestation_support;

use attestation_support::*;
use ring::digest::{digest, SHA256};
use vistalid_server::attestation::{
    verify_app_attest, verify_app_attest_assertion, AppAttestEnvironment, ApplePolicy,
    AppleVerdict, AttestationError, AttestedKey, Platform, SecurityLevel,
};

/// One attestation sample and its assertion.
struct Sample {
    file: String,
    attestation: Vec<u8>,
    key_id: Vec<u8>,
    client_data_hash: [u8; 32],
    app_id: String,
    now: i64,
    public_key_spki: Vec<u8>,
    assertions: Vec<Assertion>,
}

struct Assertion {
    bytes: Vec<u8>,
    client_data_hash: [u8; 32],
    counter: u32,
}

fn hash_of(doc: &YamlDoc) -> [u8; 32] {
    let client_data = b64(&doc["clientDataBase64"]);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, &client_data).as_ref());
    if let Some(given) = doc.get("clientDataHashSha256Base64") {
        assert_eq!(b64(given), out, "the sample's own clientData hash");
    }
    out
}

fn samples() -> Vec<Sample> {
    let docs = apple_docs();
    let mut out: Vec<Sample> = Vec::new();
    for (file, doc) in &docs {
        if doc.get("type").map(String::as_str) != Some("attestation") {
            continue;
        }
        assert_eq!(
            doc["environment"], "development",
            "README: captured in development mode"
        );
        let spki = pem_spki(&doc["publicKey"]);
        let assertions = docs
            .iter()
            .filter(|(f, d)| f == file && d.get("type").map(String::as_str) == Some("assertion"))
            .filter(|(_, d)| pem_spki(&d["publicKey"]) == spki)
            .map(|(_, d)| Assertion {
                bytes: b64(&d["assertionBase64"]),
                client_data_hash: hash_of(d),
                counter: d["counter"].parse().expect("counter"),
            })
            .collect();
        out.push(Sample {
            file: file.clone(),
            attestation: b64(&doc["attestationBase64"]),
            key_id: b64(&doc["keyIdBase64"]),
            client_data_hash: hash_of(doc),
            app_id: format!("{}.{}", doc["teamIdentifier"], doc["bundleIdentifier"]),
            now: unix_time(&doc["timestamp"]),
            public_key_spki: spki,
            assertions,
        });
    }
    assert_eq!(out.len(), 5, "one attestation per YAML file");
    assert!(
        out.iter().all(|s| !s.assertions.is_empty()),
        "each attestation has its assertion"
    );
    out
}

fn pem_spki(pem: &str) -> Vec<u8> {
    let (label, der) = x509_cert::der::pem::decode_vec(pem.as_bytes()).expect("PEM");
    assert_eq!(label, "PUBLIC KEY");
    der
}

fn policy(app_id: &str) -> ApplePolicy {
    ApplePolicy {
        app_ids: vec!["OTHERTEAM1.fr.example.other".into(), app_id.to_owned()],
        environment: AppAttestEnvironment::Development,
    }
}

fn verify(s: &Sample, object: &[u8]) -> Result<AppleVerdict, AttestationError> {
    verify_app_attest(
        object,
        &s.key_id,
        &s.client_data_hash,
        &policy(&s.app_id),
        &apple_root(),
        s.now,
    )
}

/// Byte offset of authData inside the CBOR attestation object (it ends the object).
fn auth_data_range(object: &[u8]) -> std::ops::Range<usize> {
    let value: ciborium::Value = ciborium::from_reader(object).expect("cbor");
    let auth = value
        .as_map()
        .expect("map")
        .iter()
        .find(|(k, _)| k.as_text() == Some("authData"))
        .and_then(|(_, v)| v.as_bytes())
        .expect("authData")
        .clone();
    let start = object
        .windows(auth.len())
        .rposition(|w| w == auth.as_slice())
        .expect("found");
    start..start + auth.len()
}

mod attestation {
    use super::*;

    #[test]
    fn every_app_attest_sample_verifies_at_its_capture_time() {
        for s in samples() {
            let v = verify(&s, &s.attestation).unwrap_or_else(|e| panic!("{}: {e}", s.file));
            println!(
                "{}: verified, app {}, key id {:02x?}",
                s.file,
                v.app_id,
                &v.key_id[..4]
            );
            assert_eq!(v.app_id, s.app_id);
            assert_eq!(v.environment, AppAttestEnvironment::Development);
            assert_eq!(v.key_id.as_slice(), s.key_id.as_slice());
            assert_eq!(
                v.attested_key,
                AttestedKey::from_spki_der(&s.public_key_spki).expect("spki")
            );
            assert!(!v.receipt.is_empty(), "the receipt is kept for later use");
            let summary = v.summary();
            assert_eq!(summary.platform, Platform::Apple);
            assert_eq!(summary.security_level, SecurityLevel::SecureEnclave);
        }
    }

    #[test]
    fn app_attest_altered_fields_are_refused() {
        for s in samples() {
            let f = &s.file;
            let mut other_hash = s.client_data_hash;
            other_hash[0] ^= 1;
            let root = apple_root();
            let p = policy(&s.app_id);
            assert_eq!(
                verify_app_attest(&s.attestation, &s.key_id, &other_hash, &p, &root, s.now).err(),
                Some(AttestationError::ChallengeMismatch),
                "{f}: other clientData"
            );
            let other_app = ApplePolicy {
                app_ids: vec!["6MURL8TA57.de.vincent-haupert.other".into()],
                environment: AppAttestEnvironment::Development,
            };
            assert!(
                matches!(
                    verify_app_attest(
                        &s.attestation,
                        &s.key_id,
                        &s.client_data_hash,
                        &other_app,
                        &root,
                        s.now
                    ),
                    Err(AttestationError::AppId(_))
                ),
                "{f}: other app id"
            );
            let mut other_key_id = s.key_id.clone();
            other_key_id[31] ^= 1;
            assert_eq!(
                verify_app_attest(
                    &s.attestation,
                    &other_key_id,
                    &s.client_data_hash,
                    &p,
                    &root,
                    s.now
                )
                .err(),
                Some(AttestationError::KeyId),
                "{f}: other key id"
            );
            let production = ApplePolicy {
                environment: AppAttestEnvironment::Production,
                ..p.clone()
            };
            assert_eq!(
                verify_app_attest(
                    &s.attestation,
                    &s.key_id,
                    &s.client_data_hash,
                    &production,
                    &root,
                    s.now
                )
                .err(),
                Some(AttestationError::Environment),
                "{f}: production environment"
            );
            // A counter other than 0 in authData: the nonce covers authData, so it no longer
            // matches the certificate's (the counter check itself is exercised on built objects).
            let range = auth_data_range(&s.attestation);
            let mut counter = s.attestation.clone();
            counter[range.start + 36] ^= 1;
            assert_eq!(
                verify(&s, &counter).err(),
                Some(AttestationError::ChallengeMismatch),
                "{f}: counter"
            );
            let mut aaguid = s.attestation.clone();
            aaguid[range.start + 37] ^= 1;
            assert_eq!(
                verify(&s, &aaguid).err(),
                Some(AttestationError::ChallengeMismatch),
                "{f}: aaguid"
            );
            // One flipped byte of the leaf's signature, and one inside the intermediate.
            let leaf_sig = find_leaf_signature_end(&s.attestation);
            let mut sig = s.attestation.clone();
            sig[leaf_sig - 1] ^= 1;
            assert!(
                matches!(verify(&s, &sig), Err(AttestationError::ChainInvalid(_))),
                "{f}: leaf signature byte"
            );
            let mut cert = s.attestation.clone();
            cert[leaf_sig + 200] ^= 1;
            assert!(
                // The intermediate is the last certificate: altered, no anchor signed it.
                matches!(
                    verify(&s, &cert),
                    Err(AttestationError::UntrustedRoot | AttestationError::Malformed(_))
                ),
                "{f}: intermediate byte"
            );
            // Outside the leaf's three-day validity, or against the wrong root.
            assert_eq!(
                verify_app_attest(
                    &s.attestation,
                    &s.key_id,
                    &s.client_data_hash,
                    &p,
                    &root,
                    s.now + 10 * 86_400
                )
                .err(),
                Some(AttestationError::Expired),
                "{f}: ten days later"
            );
            assert_eq!(
                verify_app_attest(
                    &s.attestation,
                    &s.key_id,
                    &s.client_data_hash,
                    &p,
                    &google_roots(),
                    s.now
                )
                .err(),
                Some(AttestationError::UntrustedRoot),
                "{f}: Google's roots"
            );
            for cut in [0, 1, 10, s.attestation.len() / 2, s.attestation.len() - 1] {
                assert!(
                    matches!(
                        verify(&s, &s.attestation[..cut]),
                        Err(AttestationError::Malformed(_))
                    ),
                    "{f}: truncated at {cut}"
                );
            }
            let mut trailing = s.attestation.clone();
            trailing.push(0);
            assert!(
                matches!(verify(&s, &trailing), Err(AttestationError::Malformed(_))),
                "{f}: trailing"
            );
        }
    }

    #[test]
    fn app_attest_assertions_verify_once_with_a_rising_counter() {
        for s in samples() {
            let f = &s.file;
            let key = verify(&s, &s.attestation)
                .expect("attestation")
                .attested_key;
            for a in &s.assertions {
                let got =
                    verify_app_attest_assertion(&a.bytes, &a.client_data_hash, &key, &s.app_id, 0);
                assert_eq!(got, Ok(a.counter), "{f}: assertion from stored counter 0");
                if a.counter > 1 {
                    assert_eq!(
                        verify_app_attest_assertion(
                            &a.bytes,
                            &a.client_data_hash,
                            &key,
                            &s.app_id,
                            a.counter - 1
                        ),
                        Ok(a.counter)
                    );
                }
                // Replayed: the stored counter is now this one.
                assert_eq!(
                    verify_app_attest_assertion(
                        &a.bytes,
                        &a.client_data_hash,
                        &key,
                        &s.app_id,
                        a.counter
                    ),
                    Err(AttestationError::Counter),
                    "{f}: repeated counter"
                );
                assert_eq!(
                    verify_app_attest_assertion(
                        &a.bytes,
                        &a.client_data_hash,
                        &key,
                        &s.app_id,
                        u32::MAX
                    ),
                    Err(AttestationError::Counter)
                );
                let mut other_hash = a.client_data_hash;
                other_hash[5] ^= 1;
                assert_eq!(
                    verify_app_attest_assertion(&a.bytes, &other_hash, &key, &s.app_id, 0),
                    Err(AttestationError::Signature),
                    "{f}: other clientData"
                );
                assert!(matches!(
                    verify_app_attest_assertion(
                        &a.bytes,
                        &a.client_data_hash,
                        &key,
                        "6MURL8TA57.other",
                        0
                    ),
                    Err(AttestationError::AppId(_))
                ));
                // The signature is the first byte string: flip one of its bytes.
                let mut flipped = a.bytes.clone();
                flipped[20] ^= 1;
                assert!(
                    matches!(
                        verify_app_attest_assertion(
                            &flipped,
                            &a.client_data_hash,
                            &key,
                            &s.app_id,
                            0
                        ),
                        Err(AttestationError::Signature | AttestationError::Malformed(_))
                    ),
                    "{f}: flipped signature byte"
                );
                // Another sample's key does not verify it.
                let others: Vec<Sample> =
                    samples().into_iter().filter(|o| o.file != s.file).collect();
                let other_key = verify(&others[0], &others[0].attestation)
                    .expect("other")
                    .attested_key;
                assert_eq!(
                    verify_app_attest_assertion(
                        &a.bytes,
                        &a.client_data_hash,
                        &other_key,
                        &s.app_id,
                        0
                    ),
                    Err(AttestationError::Signature)
                );
            }
        }
    }
}

/// The end offset of the leaf certificate (the first x5c entry) inside the attestation object;
/// its last bytes are the signature's.
fn find_leaf_signature_end(object: &[u8]) -> usize {
    let value: ciborium::Value = ciborium::from_reader(object).expect("cbor");
    let att_stmt = value
        .as_map()
        .expect("map")
        .iter()
        .find(|(k, _)| k.as_text() == Some("attStmt"))
        .map(|(_, v)| v.clone())
        .expect("attStmt");
    let leaf = att_stmt
        .as_map()
        .expect("map")
        .iter()
        .find(|(k, _)| k.as_text() == Some("x5c"))
        .and_then(|(_, v)| v.as_array())
        .and_then(|a| a.first())
        .and_then(|c| c.as_bytes())
        .expect("leaf")
        .clone();
    let start = object
        .windows(leaf.len())
        .position(|w| w == leaf.as_slice())
        .expect("found");
    start + leaf.len()
}
