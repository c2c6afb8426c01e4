// SPDX-License-Identifier: Apache-2.0
//! QR text as scanned: prefix, Base45, zlib, COSE_Sign1, CWT credential, presentation and
//! the verifiers (`Verifier::verify`, `verify_with_device_key`, `credential_id`), plus the
//! Base45 round trip. The seed key is the trusted issuer and the device key, so checked-in
//! seeds (real presentations) verify.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use vistalid_core::clock::ManualClock;
use vistalid_core::keys::PublicKey;
use vistalid_core::qr::{self, base45, presentation, Verified, Verifier};

/// The time the seeds were made for.
const NOW: i64 = 1_800_000_000;

fn fixture() -> &'static (PublicKey, Verifier) {
    static F: OnceLock<(PublicKey, Verifier)> = OnceLock::new();
    F.get_or_init(|| {
        let key = vistalid_fuzz::seed_public();
        let verifier = Verifier::new(vec![key], Arc::new(ManualClock::new(NOW)));
        (key, verifier)
    })
}

fuzz_target!(|data: &[u8]| {
    let (sel, rest) = vistalid_fuzz::split_selector(data);
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (key, verifier) = fixture();
    match sel % 5 {
        0 => {
            if let Ok(v) = verifier.verify(text) {
                let facts = match &v {
                    Verified::Offline(p) => &p.facts,
                    Verified::RedeemOnline(f) => f,
                    _ => return,
                };
                assert!(facts.expires_at >= facts.issued_at);
                assert!(!facts.credential_id.is_empty());
            }
        }
        1 => {
            let _ = qr::verify_with_device_key(text, key, NOW);
        }
        2 => {
            if let Ok(id) = qr::credential_id(text) {
                assert!(id.len() <= qr::credential::MAX_CREDENTIAL_ID_LEN);
            }
        }
        3 => {
            if let Ok(bytes) = base45::decode(text) {
                let again = base45::encode(&bytes);
                assert_eq!(base45::decode(&again).expect("own encoding decodes"), bytes);
                assert_eq!(again.len(), base45::encoded_len(bytes.len()));
            }
        }
        _ => {
            if let Ok(bytes) = presentation::decode_text(text, qr::PREFIX) {
                assert!(bytes.len() <= qr::MAX_PAYLOAD_LEN);
            }
            let _ = presentation::decode(text);
        }
    }
});
