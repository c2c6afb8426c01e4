// SPDX-License-Identifier: Apache-2.0
//! The QR stack below the text: zlib (bounded inflate, deflate round trip), COSE_Sign1
//! parsing, CWT credential checks, and whole presentations whose inner bytes are the fuzz
//! input, re-wrapped (and, for the structure-aware cases, signed with the seed key) so the
//! checks behind Base45, zlib and the signatures are reached.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use vistalid_core::clock::ManualClock;
use vistalid_core::keys::{PublicKey, SigningKey};
use vistalid_core::qr::{self, cose, credential, presentation, zlib, PresentationSource, Verifier};

const NOW: i64 = 1_800_000_000;

struct Fixture {
    key: SigningKey,
    public: PublicKey,
    verifier: Verifier,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let key = vistalid_fuzz::seed_key();
        let public = key.public_key();
        let verifier = Verifier::new(vec![public], Arc::new(ManualClock::new(NOW)));
        Fixture {
            key,
            public,
            verifier,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let (sel, rest) = vistalid_fuzz::split_selector(data);
    match sel % 7 {
        0 => {
            if let Ok(out) = zlib::inflate(rest, qr::MAX_PAYLOAD_LEN) {
                assert!(out.len() <= qr::MAX_PAYLOAD_LEN);
            }
            let _ = zlib::inflate_if_compressed(rest, 1024);
            let packed = zlib::deflate_if_smaller(rest);
            // Raw bytes that merely look like zlib and do not shrink are ambiguous by design
            // (COSE bytes start with tag 0xd2, never a zlib header): nothing to assert.
            if !(zlib::has_zlib_header(rest) && packed.as_ref() == rest) {
                let back = zlib::inflate_if_compressed(&packed, rest.len().max(1))
                    .expect("own deflate output inflates");
                assert_eq!(back.as_ref(), rest);
            }
        }
        1 => {
            if let Ok(s) = cose::Sign1::parse(rest) {
                let _ = s.verify(&f.public, &[]);
                let _ = s.verify(&f.public, presentation::EXTERNAL_AAD);
                let _ = (s.alg(), s.kid(), s.payload(), s.protected());
            }
        }
        2 => {
            if let Ok(c) = credential::verify(rest, std::slice::from_ref(&f.public), NOW, 30) {
                let _ = c;
            }
        }
        3 => {
            // Any COSE bytes, wrapped as a real QR text.
            let text = presentation::encode_text(rest);
            let _ = f.verifier.verify(&text);
            let _ = qr::verify_with_device_key(&text, &f.public, NOW);
        }
        4 => {
            // The input is a credential payload, signed by the trusted issuer.
            let kid = credential::issuer_kid(&f.public);
            let signed = cose::sign(&f.key, Some(&kid), rest, &[]).expect("sign");
            let _ = credential::verify(&signed, std::slice::from_ref(&f.public), NOW, 30);
            // ... and carried in an offline presentation by the device (same key).
            if let Ok(text) =
                qr::present(&f.key, PresentationSource::Offline(&signed), NOW, 120, None)
            {
                let _ = f.verifier.verify(&text);
            }
        }
        5 => {
            // The input is a presentation payload, signed by the device key.
            let signed = cose::sign(&f.key, None, rest, presentation::EXTERNAL_AAD).expect("sign");
            let text = presentation::encode_text(&signed);
            let _ = qr::verify_with_device_key(&text, &f.public, NOW);
            let _ = f.verifier.verify(&text);
        }
        _ => {
            // An online presentation for an arbitrary credential id.
            if let Ok(text) = qr::present(
                &f.key,
                PresentationSource::Online(rest),
                NOW,
                120,
                Some("rp"),
            ) {
                let facts = qr::verify_with_device_key(&text, &f.public, NOW)
                    .expect("own online presentation verifies");
                assert_eq!(facts.credential_id, rest);
                assert_eq!(qr::credential_id(&text).expect("id"), rest);
            }
        }
    }
});
