// SPDX-License-Identifier: Apache-2.0
//! Apple App Attest: attestation objects through `verify_app_attest` (selector 0) trusting the
//! seed key, whose leaf key is the seed key (so the key id below is right), and assertions
//! through `verify_app_attest_assertion` by the seed key (1); public keys from DER (2). The
//! seeds (`corpus/attestation_apple/`) are built by `server/tests/attestation_fuzz_seeds.rs`
//! with the app id, client data and clock below; they verify.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ring::digest::{digest, SHA256};
use vistalid_server::attestation::{
    verify_app_attest, verify_app_attest_assertion, AppAttestEnvironment, ApplePolicy,
    AttestedKey, TrustAnchors,
};

/// Must match `server/tests/attestation_fuzz_seeds.rs`.
const APP_ID: &str = "SEEDTEAM01.fr.vistalid.fuzz";
const CLIENT_DATA: &[u8] = b"vistalid fuzz seed client data";
const NOW: i64 = 1_893_456_000;

struct Fixture {
    policy: ApplePolicy,
    anchors: TrustAnchors,
    key: AttestedKey,
    key_id: [u8; 32],
    client_data_hash: [u8; 32],
}

fn sha256(b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, b).as_ref());
    out
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let spki = vistalid_fuzz::seed_spki_der();
        let mut anchors = TrustAnchors::new();
        anchors.add_spki_der(&spki).expect("seed key is a valid anchor");
        Fixture {
            policy: ApplePolicy {
                app_ids: vec![APP_ID.into()],
                environment: AppAttestEnvironment::Development,
            },
            anchors,
            key: AttestedKey::from_spki_der(&spki).expect("seed SPKI"),
            key_id: sha256(&vistalid_fuzz::seed_public().as_sec1()[..]),
            client_data_hash: sha256(CLIENT_DATA),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let (sel, rest) = vistalid_fuzz::split_selector(data);
    match sel % 3 {
        0 => {
            if let Ok(v) = verify_app_attest(rest, &f.key_id, &f.client_data_hash, &f.policy, &f.anchors, NOW) {
                assert_eq!(v.key_id, f.key_id);
                assert_eq!(v.app_id, APP_ID);
            }
        }
        1 => {
            if let Ok(counter) = verify_app_attest_assertion(rest, &f.client_data_hash, &f.key, APP_ID, 0) {
                assert!(counter > 0);
                assert!(verify_app_attest_assertion(rest, &f.client_data_hash, &f.key, APP_ID, counter).is_err());
            }
        }
        _ => {
            if let Ok(k) = AttestedKey::from_spki_der(rest) {
                assert_eq!(k.spki_der(), rest);
                let _ = k.verify(b"message", rest);
            }
        }
    }
});
