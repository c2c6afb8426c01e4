// SPDX-License-Identifier: Apache-2.0
//! Property tests: no parser in the QR stack panics on any input, and mutated presentations
//! never verify.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use vistalid_core::clock::ManualClock;
use vistalid_core::keys::SigningKey;
use vistalid_core::qr::{
    base45, cose, credential, present, presentation, verify_with_device_key, zlib,
    CredentialClaims, PresentationSource, QrMatrix, Verified, Verifier, MAX_PAYLOAD_LEN, PREFIX,
};

const NOW: i64 = 1_800_000_000;

struct World {
    issuer: SigningKey,
    device: SigningKey,
    offline_cose: Vec<u8>,
    online_cose: Vec<u8>,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let issuer = SigningKey::make().expect("key");
        let device = SigningKey::make().expect("key");
        let claims = CredentialClaims {
            issuer: "https://vistalid.fr".into(),
            subject: "vl-8f3a2c71e04".into(),
            given_name: "Camille".into(),
            family_name: "Lefèvre".into(),
            credential_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
            issued_at: NOW - 10,
            expires_at: NOW + 1000,
        };
        let cred = credential::issue(&issuer, &claims, &device.public_key()).expect("issue");
        let offline =
            present(&device, PresentationSource::Offline(&cred), NOW, 120, None).expect("present");
        let online = present(
            &device,
            PresentationSource::Online(&claims.credential_id),
            NOW,
            120,
            None,
        )
        .expect("present");
        World {
            offline_cose: presentation::decode_text(&offline, PREFIX).expect("decode"),
            online_cose: presentation::decode_text(&online, PREFIX).expect("decode"),
            issuer,
            device,
        }
    })
}

fn verifier() -> Verifier {
    Verifier::new(
        vec![world().issuer.public_key()],
        Arc::new(ManualClock::new(NOW)),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn base45_never_panics_and_round_trips(text in "[0-9A-Z $%*+./:a-z#-]{0,64}") {
        if let Ok(bytes) = base45::decode(&text) {
            prop_assert_eq!(base45::encode(&bytes), text);
        }
    }

    #[test]
    fn base45_encode_decode(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        prop_assert_eq!(base45::decode(&base45::encode(&bytes)).expect("valid"), bytes);
    }

    #[test]
    fn zlib_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = zlib::inflate(&bytes, MAX_PAYLOAD_LEN);
        let mut with_header = vec![0x78, 0xda];
        with_header.extend_from_slice(&bytes);
        let _ = zlib::inflate(&with_header, 1024);
    }

    #[test]
    fn cose_and_credential_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = cose::Sign1::parse(&bytes);
        let _ = credential::verify(&bytes, &[world().issuer.public_key()], NOW, 30);
    }

    #[test]
    fn verifier_never_panics_on_text(text in "\\PC{0,300}") {
        let _ = verifier().verify(&text);
        let _ = verifier().verify(&format!("{PREFIX}{text}"));
        let _ = QrMatrix::encode(&text);
    }

    #[test]
    fn verifier_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = format!("{PREFIX}{}", base45::encode(&bytes));
        let _ = verifier().verify(&text);
        let _ = verify_with_device_key(&text, &world().device.public_key(), NOW);
    }

    /// Any change to a genuine presentation's bytes is refused, never accepted as identity.
    #[test]
    fn mutated_presentations_never_verify(
        pos in any::<prop::sample::Index>(),
        xor in 1u8..=255,
        online in any::<bool>(),
    ) {
        let w = world();
        let mut cose = if online { w.online_cose.clone() } else { w.offline_cose.clone() };
        let i = pos.index(cose.len());
        cose[i] ^= xor;
        let text = format!("{PREFIX}{}", base45::encode(&cose));
        prop_assert!(!matches!(verifier().verify(&text), Ok(Verified::Offline(_))));
        prop_assert!(verify_with_device_key(&text, &w.device.public_key(), NOW).is_err());
    }
}
