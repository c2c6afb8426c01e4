// SPDX-License-Identifier: Apache-2.0
//! Android Key Attestation: the strict KeyDescription parser and the policy checks after it
//! (selector 0), whole chains of concatenated DER certificates through `verify_android`
//! trusting the seed key (1), trust anchors from PEM text (2), and Google's revocation list
//! JSON (3). The seeds (`corpus/attestation_android/`) are chains built by
//! `server/tests/attestation_fuzz_seeds.rs` under a root with the seed key, with the challenge,
//! app and clock below; they verify, so mutations start from the accepting path.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vistalid_server::attestation::{
    check_key_description, pem_certificates, verify_android, AndroidApp, AndroidPolicy,
    KeyDescription, RevocationList, TrustAnchors,
};

/// Must match `server/tests/attestation_fuzz_seeds.rs`.
const CHALLENGE: &[u8] = b"vistalid fuzz seed challenge";
const PACKAGE: &str = "fr.vistalid.test";
const SIGNER_DIGEST: [u8; 32] = [0x5a; 32];
const NOW: i64 = 1_893_456_000;

struct Fixture {
    policy: AndroidPolicy,
    anchors: TrustAnchors,
    revocations: RevocationList,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut anchors = TrustAnchors::new();
        anchors
            .add_spki_der(&vistalid_fuzz::seed_spki_der())
            .expect("seed key is a valid anchor");
        let revocations =
            RevocationList::from_json(br#"{"entries":{"0badc0de":{"status":"REVOKED"}}}"#)
                .expect("static list");
        Fixture {
            policy: AndroidPolicy::new(vec![AndroidApp {
                package_name: PACKAGE.into(),
                signing_cert_digests: vec![SIGNER_DIGEST.to_vec()],
            }]),
            anchors,
            revocations,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let (sel, rest) = vistalid_fuzz::split_selector(data);
    match sel % 4 {
        0 => {
            if let Ok(kd) = KeyDescription::parse(rest) {
                let _ = check_key_description(&kd, CHALLENGE, &f.policy);
                let _ = check_key_description(&kd, &kd.attestation_challenge, &f.policy);
            }
        }
        1 => {
            let chain = vistalid_fuzz::split_der(rest);
            if let Ok(v) = verify_android(&chain, CHALLENGE, &f.policy, &f.anchors, &f.revocations, NOW) {
                // An accepted chain names the allowed app and a hardware level.
                assert_eq!(v.package_name, PACKAGE);
                let _ = v.attested_key.verify(b"message", b"signature");
            }
        }
        2 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = TrustAnchors::from_pem(text);
                let _ = TrustAnchors::from_roots_json(text);
                let _ = pem_certificates(text);
            }
        }
        _ => {
            if let Ok(list) = RevocationList::from_json(rest) {
                let _ = list.status("0badc0de");
            }
        }
    }
});
