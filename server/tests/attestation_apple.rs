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
    AppleVerdict, AttestationError, AttestedKey, Platform, SecurityLevel, TrustAnchors,
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
    Call {
        object: object.to_vec(),
        ..Call::of(s)
    }
    .run()
}

/// One verification of a sample, each input open to alteration.
struct Call {
    object: Vec<u8>,
    key_id: Vec<u8>,
    client_data_hash: [u8; 32],
    policy: ApplePolicy,
    root: TrustAnchors,
    now: i64,
}

impl Call {
    fn of(s: &Sample) -> Self {
        Self {
            object: s.attestation.clone(),
            key_id: s.key_id.clone(),
            client_data_hash: s.client_data_hash,
            policy: policy(&s.app_id),
            root: apple_root(),
            now: s.now,
        }
    }

    fn run(&self) -> Result<AppleVerdict, AttestationError> {
        verify_app_attest(
            &self.object,
            &self.key_id,
            &self.client_data_hash,
            &self.policy,
            &self.root,
            self.now,
        )
    }
}

/// The value under text key `key` of a CBOR map.
fn cbor_field(value: &ciborium::Value, key: &str) -> ciborium::Value {
    value
        .as_map()
        .expect("map")
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {key}"))
}

/// Where `part` sits in `object` (its last occurrence when `last`).
fn offset_of(object: &[u8], part: &[u8], last: bool) -> usize {
    let mut hits = object
        .windows(part.len())
        .enumerate()
        .filter(|(_, w)| *w == part);
    let hit = if last { hits.next_back() } else { hits.next() };
    hit.expect("found").0
}

/// Byte range of authData inside the CBOR attestation object.
fn auth_data_range(object: &[u8]) -> std::ops::Range<usize> {
    let value: ciborium::Value = ciborium::from_reader(object).expect("cbor");
    let auth = cbor_field(&value, "authData")
        .as_bytes()
        .expect("bytes")
        .clone();
    let start = offset_of(object, &auth, true);
    start..start + auth.len()
}

/// The end offset of the leaf certificate (the first x5c entry) inside the attestation object;
/// its last bytes are the signature's.
fn find_leaf_signature_end(object: &[u8]) -> usize {
    let value: ciborium::Value = ciborium::from_reader(object).expect("cbor");
    let x5c = cbor_field(&cbor_field(&value, "attStmt"), "x5c");
    let leaf = x5c
        .as_array()
        .and_then(|a| a.first())
        .and_then(|c| c.as_bytes())
        .expect("leaf")
        .clone();
    offset_of(object, &leaf, false) + leaf.len()
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
        use AttestationError::*;
        for s in samples() {
            let f = &s.file;
            let refused = |edit: &dyn Fn(&mut Call)| {
                let mut call = Call::of(&s);
                edit(&mut call);
                call.run().err()
            };
            assert_eq!(
                refused(&|c| c.client_data_hash[0] ^= 1),
                Some(ChallengeMismatch),
                "{f}: clientData"
            );
            let other_app = |c: &mut Call| {
                c.policy.app_ids = vec!["6MURL8TA57.de.vincent-haupert.other".into()]
            };
            assert!(
                matches!(refused(&other_app), Some(AppId(_))),
                "{f}: other app id"
            );
            assert_eq!(
                refused(&|c| c.key_id[31] ^= 1),
                Some(KeyId),
                "{f}: other key id"
            );
            let production = |c: &mut Call| c.policy.environment = AppAttestEnvironment::Production;
            assert_eq!(
                refused(&production),
                Some(Environment),
                "{f}: production environment"
            );
            // A counter other than 0, or another aaguid, in authData: the nonce covers authData,
            // so it no longer matches the certificate's (the counter and aaguid checks on their
            // own are exercised on built objects).
            let range = auth_data_range(&s.attestation);
            let counter = |c: &mut Call| c.object[range.start + 36] ^= 1;
            assert_eq!(refused(&counter), Some(ChallengeMismatch), "{f}: counter");
            let aaguid = |c: &mut Call| c.object[range.start + 37] ^= 1;
            assert_eq!(refused(&aaguid), Some(ChallengeMismatch), "{f}: aaguid");
            // One flipped byte of the leaf's signature, and one inside the intermediate (the
            // last certificate: altered, no anchor signed it).
            let leaf_end = find_leaf_signature_end(&s.attestation);
            let leaf_sig = |c: &mut Call| c.object[leaf_end - 1] ^= 1;
            assert!(
                matches!(refused(&leaf_sig), Some(ChainInvalid(_))),
                "{f}: leaf signature byte"
            );
            let intermediate = |c: &mut Call| c.object[leaf_end + 200] ^= 1;
            assert!(
                matches!(refused(&intermediate), Some(UntrustedRoot | Malformed(_))),
                "{f}: intermediate"
            );
            // Outside the leaf's three-day validity, or against the wrong root.
            assert_eq!(
                refused(&|c| c.now += 10 * 86_400),
                Some(Expired),
                "{f}: ten days later"
            );
            assert_eq!(
                refused(&|c| c.now -= 10 * 86_400),
                Some(NotYetValid),
                "{f}: ten days before"
            );
            assert_eq!(
                refused(&|c| c.root = google_roots()),
                Some(UntrustedRoot),
                "{f}: Google's roots"
            );
            for cut in [0, 1, 10, s.attestation.len() / 2, s.attestation.len() - 1] {
                assert!(
                    matches!(refused(&|c| c.object.truncate(cut)), Some(Malformed(_))),
                    "{f}: cut at {cut}"
                );
            }
            assert!(
                matches!(refused(&|c| c.object.push(0)), Some(Malformed(_))),
                "{f}: trailing byte"
            );
        }
    }

    #[test]
    fn app_attest_assertions_verify_once_with_a_rising_counter() {
        use AttestationError::*;
        let all = samples();
        for (i, s) in all.iter().enumerate() {
            let f = &s.file;
            let key = verify(s, &s.attestation).expect("attestation").attested_key;
            // Another sample's key, which must not verify this sample's assertions.
            let other = &all[(i + 1) % all.len()];
            let other_key = verify(other, &other.attestation)
                .expect("other")
                .attested_key;
            for a in &s.assertions {
                let check = verify_app_attest_assertion;
                let (b, cdh, app) = (&a.bytes, &a.client_data_hash, s.app_id.as_str());
                assert_eq!(
                    check(b, cdh, &key, app, 0),
                    Ok(a.counter),
                    "{f}: from stored counter 0"
                );
                assert_eq!(
                    check(b, cdh, &key, app, a.counter - 1),
                    Ok(a.counter),
                    "{f}: just above"
                );
                // Replayed: the stored counter is now this one.
                assert_eq!(
                    check(b, cdh, &key, app, a.counter),
                    Err(Counter),
                    "{f}: repeated counter"
                );
                assert_eq!(
                    check(b, cdh, &key, app, u32::MAX),
                    Err(Counter),
                    "{f}: lower counter"
                );
                let mut other_hash = *cdh;
                other_hash[5] ^= 1;
                assert_eq!(
                    check(b, &other_hash, &key, app, 0),
                    Err(Signature),
                    "{f}: other clientData"
                );
                assert!(
                    matches!(check(b, cdh, &key, "6MURL8TA57.other", 0), Err(AppId(_))),
                    "{f}: app"
                );
                // The signature is the first byte string: flip one of its bytes.
                let mut flipped = b.clone();
                flipped[20] ^= 1;
                assert!(
                    matches!(
                        check(&flipped, cdh, &key, app, 0),
                        Err(Signature | Malformed(_))
                    ),
                    "{f}: flipped signature byte"
                );
                assert_eq!(
                    check(b, cdh, &other_key, app, 0),
                    Err(Signature),
                    "{f}: another key"
                );
                let mut trailing = b.clone();
                trailing.push(0);
                assert!(
                    matches!(check(&trailing, cdh, &key, app, 0), Err(Malformed(_))),
                    "{f}: trailing"
                );
            }
        }
    }
}
