// SPDX-License-Identifier: Apache-2.0
//! Wire types (`vistalid_core::protocol`): every type parsed from arbitrary JSON; what parses
//! must serialise and parse back to an equal value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use vistalid_core::challenge::Challenge;
use vistalid_core::jws::Header;
use vistalid_core::protocol::*;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<T>(data) {
        let bytes = serde_json::to_vec(&v).expect("a parsed value serialises");
        let back: T = serde_json::from_slice(&bytes).expect("own output parses");
        assert_eq!(v, back);
    }
}

fuzz_target!(|data: &[u8]| {
    let (sel, rest) = vistalid_fuzz::split_selector(data);
    match sel % 17 {
        0 => round_trip::<NonceResponse>(rest),
        1 => round_trip::<AccountKind>(rest),
        2 => round_trip::<EnrolProofClaims>(rest),
        3 => round_trip::<EnrolRequest>(rest),
        4 => round_trip::<Identity>(rest),
        5 => round_trip::<EnrolResponse>(rest),
        6 => round_trip::<CodeMode>(rest),
        7 => round_trip::<RequestContext>(rest),
        8 => round_trip::<ChallengeClaims>(rest),
        9 => round_trip::<ChallengesResponse>(rest),
        10 => round_trip::<Decision>(rest),
        11 => round_trip::<AnswerClaims>(rest),
        12 => round_trip::<AnswerRequest>(rest),
        13 => round_trip::<AnswerResponse>(rest),
        14 => round_trip::<CibaResponse>(rest),
        15 => round_trip::<ErrorBody>(rest),
        _ => {
            round_trip::<RedeemRequest>(rest);
            round_trip::<RedeemResponse>(rest);
            round_trip::<Header>(rest);
            round_trip::<Challenge>(rest);
        }
    }
});
