// SPDX-License-Identifier: Apache-2.0
//! Compact JWS: `jws::peek_header` and `jws::verify` on arbitrary text, and a sign/verify
//! round trip of arbitrary payloads.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vistalid_core::jws;
use vistalid_core::keys::{PublicKey, SigningKey};

fn keys() -> &'static (SigningKey, PublicKey) {
    static K: OnceLock<(SigningKey, PublicKey)> = OnceLock::new();
    K.get_or_init(|| {
        let k = vistalid_fuzz::seed_key();
        let p = k.public_key();
        (k, p)
    })
}

fuzz_target!(|data: &[u8]| {
    let (sel, rest) = vistalid_fuzz::split_selector(data);
    let (key, public) = keys();
    if sel == 0xff {
        // Round trip: whatever we sign verifies to the same bytes, with the same typ.
        let token = jws::sign(key, "JWT", rest).expect("signing works");
        let back = jws::verify(&token, public, Some("JWT")).expect("own token verifies");
        assert_eq!(back, rest);
        let header = jws::peek_header(&token).expect("own header parses");
        assert_eq!(header.alg, "ES256");
        assert!(jws::verify(&token, public, Some("other")).is_err());
        return;
    }
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let _ = jws::peek_header(text);
    let typ = match sel % 3 {
        0 => None,
        1 => Some("JWT"),
        _ => Some(vistalid_core::protocol::TYP_CHALLENGE),
    };
    if let Ok(payload) = jws::verify(text, public, typ) {
        // Only tokens really signed by the key verify; the header must then be readable.
        assert!(jws::peek_header(text).is_ok());
        let _ = payload;
    }
    let _ = jws::verify_json::<serde_json::Value>(text, public, typ);
});
