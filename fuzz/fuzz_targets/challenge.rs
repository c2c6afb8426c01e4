// SPDX-License-Identifier: Apache-2.0
//! Challenge JWS verification (`challenge::verify_challenge`).
//!
//! Selector byte even: the rest is a compact token, verified against the seed key (checked-in
//! seeds are real challenges signed with it). Odd: the rest is the claims JSON, signed here
//! with the seed key, so the claim checks behind the signature are reached too.
#![no_main]

use std::collections::HashSet;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vistalid_core::challenge::verify_challenge;
use vistalid_core::keys::SigningKey;
use vistalid_core::protocol::TYP_CHALLENGE;
use vistalid_core::{jws, keys::PublicKey};

const NOW: i64 = 1_800_000_000;

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
    let token = if sel % 2 == 0 {
        match std::str::from_utf8(rest) {
            Ok(t) => t.to_owned(),
            Err(_) => return,
        }
    } else {
        jws::sign(key, TYP_CHALLENGE, rest).expect("signing with a valid key works")
    };
    let mut answered = HashSet::new();
    if sel & 2 != 0 {
        answered.insert("c1".to_owned());
    }
    let account = if sel & 4 != 0 { "a1" } else { "acc" };
    let device = if sel & 8 != 0 { "d1" } else { "dev" };
    let now = NOW + i64::from(sel >> 4) * 60 - 300;
    if let Ok(c) = verify_challenge(&token, public, account, device, &answered, now) {
        // What verification returns obeys the documented rules.
        assert_eq!(c.account_id, account);
        assert_eq!(c.device_id, device);
        assert!(c.expires_at >= c.issued_at);
        assert!(!answered.contains(&c.id));
        let _ = c.is_expired(now);
    }
});
