// SPDX-License-Identifier: Apache-2.0
//! Public key parsing: JWK (JSON, `PublicKey::from_jwk`), COSE_Key (CBOR,
//! `PublicKey::from_cose_key`) and SEC1. Whatever parses must round-trip to the same key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vistalid_core::keys::{Jwk, PublicKey};

fuzz_target!(|data: &[u8]| {
    let (sel, rest) = vistalid_fuzz::split_selector(data);
    match sel % 3 {
        0 => {
            if let Ok(jwk) = serde_json::from_slice::<Jwk>(rest) {
                if let Ok(k) = PublicKey::from_jwk(&jwk) {
                    let again = PublicKey::from_jwk(&k.to_jwk()).expect("own JWK parses");
                    assert_eq!(again.as_sec1(), k.as_sec1());
                    assert_eq!(k.to_jwk().kid.as_deref(), Some(k.thumbprint().as_str()));
                }
            }
        }
        1 => {
            if let Ok(k) = PublicKey::from_cose_key(rest) {
                let again =
                    PublicKey::from_cose_key(&k.to_cose_key()).expect("own COSE_Key parses");
                assert_eq!(again.as_sec1(), k.as_sec1());
            }
            if let Ok(v) = ciborium::from_reader::<ciborium::Value, _>(rest) {
                let _ = PublicKey::from_cose_value(&v);
            }
        }
        _ => {
            if let Ok(k) = PublicKey::from_sec1(rest) {
                assert_eq!(&k.as_sec1()[..], rest);
                let again = PublicKey::from_coordinates(k.x(), k.y()).expect("own coordinates");
                assert_eq!(again.as_sec1(), k.as_sec1());
                let _ = k.verify(b"msg", &[0u8; 64]);
            }
        }
    }
});
