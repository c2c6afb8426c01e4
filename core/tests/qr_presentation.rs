// SPDX-License-Identifier: Apache-2.0
//! End-to-end tests of the QR presentation: round trips in both modes, sizes, and one test per
//! failure the verifier can report (tampering each layer, time, audience, trust, binding).

use std::sync::Arc;

use vistalid_core::clock::ManualClock;
use vistalid_core::keys::{PublicKey, SigningKey};
use vistalid_core::qr::presentation::{self, DEFAULT_VALIDITY_SECS, EXTERNAL_AAD};
use vistalid_core::qr::{
    base45, cose, credential, credential_id, present, verify_with_device_key, zlib,
    CredentialClaims, Mode, PresentationSource, QrError, QrMatrix, Verified, Verifier, PREFIX,
};

const NOW: i64 = 1_800_000_000;

struct Fixture {
    issuer: SigningKey,
    device: SigningKey,
    credential: Vec<u8>,
    claims: CredentialClaims,
}

fn claims() -> CredentialClaims {
    CredentialClaims {
        issuer: "https://vistalid.fr".into(),
        subject: "vl-8f3a2c71e04".into(),
        given_name: "Camille".into(),
        family_name: "Lefèvre".into(),
        credential_id: credential::make_credential_id().expect("rng").to_vec(),
        issued_at: NOW - 86_400,
        expires_at: NOW + 365 * 86_400,
    }
}

fn fixture() -> Fixture {
    let issuer = SigningKey::make().expect("issuer key");
    let device = SigningKey::make().expect("device key");
    let claims = claims();
    let credential =
        credential::issue(&issuer, &claims, &device.public_key()).expect("issue credential");
    Fixture {
        issuer,
        device,
        credential,
        claims,
    }
}

fn verifier(f: &Fixture, now: i64) -> Verifier {
    Verifier::new(vec![f.issuer.public_key()], Arc::new(ManualClock::new(now)))
}

fn offline(f: &Fixture, audience: Option<&str>) -> String {
    present(
        &f.device,
        PresentationSource::Offline(&f.credential),
        NOW,
        DEFAULT_VALIDITY_SECS,
        audience,
    )
    .expect("present offline")
}

fn online(f: &Fixture) -> String {
    present(
        &f.device,
        PresentationSource::Online(&f.claims.credential_id),
        NOW,
        DEFAULT_VALIDITY_SECS,
        None,
    )
    .expect("present online")
}

/// Re-encodes COSE bytes as a VL1 text (what an attacker can do with any bytes).
fn text_of(cose: &[u8]) -> String {
    format!("{PREFIX}{}", base45::encode(cose))
}

/// The COSE bytes inside a VL1 text.
fn cose_of(text: &str) -> Vec<u8> {
    presentation::decode_text(text, PREFIX).expect("decodes")
}

/// Builds a COSE_Sign1 by hand: tag 18, protected header bytes, empty unprotected, payload,
/// signature.
fn raw_sign1(protected: &[u8], payload: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut v = vec![0xd2, 0x84];
    push_bstr(&mut v, protected);
    v.push(0xa0);
    push_bstr(&mut v, payload);
    push_bstr(&mut v, signature);
    v
}

fn push_bstr(v: &mut Vec<u8>, b: &[u8]) {
    match b.len() {
        n @ 0..=23 => v.push(0x40 | n as u8),
        n @ 24..=255 => v.extend_from_slice(&[0x58, n as u8]),
        n => {
            v.push(0x59);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    v.extend_from_slice(b);
}

#[test]
fn offline_round_trip_gives_the_identity() {
    let f = fixture();
    let text = offline(&f, None);
    assert!(text.starts_with("VL1:"));
    let Verified::Offline(v) = verifier(&f, NOW + 5).verify(&text).expect("verifies") else {
        panic!("offline presentation must verify offline");
    };
    assert_eq!(v.credential.claims, f.claims);
    assert_eq!(v.credential.device_key, f.device.public_key());
    assert_eq!(v.facts.mode, Mode::Offline);
    assert_eq!(v.facts.credential_id, f.claims.credential_id);
    assert_eq!(v.facts.issued_at, NOW);
    assert_eq!(v.facts.expires_at, NOW + 120);
    assert_eq!(v.facts.audience, None);
    // The server can redeem an offline presentation too.
    let facts = verify_with_device_key(&text, &f.device.public_key(), NOW).expect("redeem");
    assert_eq!(facts, v.facts);
}

#[test]
fn online_round_trip_must_be_redeemed() {
    let f = fixture();
    let text = online(&f);
    let Verified::RedeemOnline(facts) = verifier(&f, NOW).verify(&text).expect("structure ok")
    else {
        panic!("online presentation carries no identity");
    };
    assert_eq!(facts.mode, Mode::Online);
    assert_eq!(facts.credential_id, f.claims.credential_id);
    // Server side: look up the credential id, then check with the bound device key.
    assert_eq!(credential_id(&text).expect("id"), f.claims.credential_id);
    let redeemed = verify_with_device_key(&text, &f.device.public_key(), NOW + 10).expect("ok");
    assert_eq!(redeemed, facts);
}

#[test]
fn nonces_are_fresh() {
    let f = fixture();
    let a = verify_with_device_key(&online(&f), &f.device.public_key(), NOW).expect("a");
    let b = verify_with_device_key(&online(&f), &f.device.public_key(), NOW).expect("b");
    assert_ne!(a.nonce, b.nonce);
}

#[test]
fn audience_round_trip() {
    let f = fixture();
    let text = offline(&f, Some("rpps:10101234567"));
    let v = verifier(&f, NOW).with_audience("rpps:10101234567");
    assert!(matches!(v.verify(&text), Ok(Verified::Offline(_))));
}

#[test]
fn sizes_meet_the_qr_version_targets() {
    let f = fixture();
    for (mode, text, target) in [
        ("online", online(&f), 7),
        ("offline", offline(&f, None), 13),
    ] {
        let cose = cose_of(&text);
        let m = QrMatrix::encode(&text).expect("fits");
        eprintln!(
            "{mode}: credential {} B, COSE {} B, text {} chars, QR version {} at ECC M",
            f.credential.len(),
            cose.len(),
            text.len(),
            m.version()
        );
        assert!(
            m.version() <= target,
            "{mode} needs version {}",
            m.version()
        );
    }
    let with_aud = QrMatrix::encode(&offline(&f, Some("rpps:10101234567"))).expect("fits");
    eprintln!(
        "offline with a 16-char audience: QR version {}",
        with_aud.version()
    );
}

#[test]
fn offline_text_budget_is_exact() {
    let f = fixture();
    let base = claims();
    let used = base.issuer.len() + base.subject.len() + base.given_name.len();
    for (extra, version) in [(0, 13), (1, 14)] {
        let mut c = base.clone();
        c.family_name = "L".repeat(credential::OFFLINE_V13_TEXT_BUDGET - used + extra);
        let cred = credential::issue(&f.issuer, &c, &f.device.public_key()).expect("issue");
        let text = present(
            &f.device,
            PresentationSource::Offline(&cred),
            NOW,
            120,
            None,
        )
        .expect("present");
        assert_eq!(QrMatrix::encode(&text).expect("fits").version(), version);
    }
}

// ---- one test per failure ------------------------------------------------------------------

#[test]
fn bad_prefix() {
    let f = fixture();
    let text = online(&f);
    let hc1 = text.replacen("VL1:", "HC1:", 1);
    assert_eq!(verifier(&f, NOW).verify(&hc1), Err(QrError::BadPrefix));
    assert_eq!(
        verifier(&f, NOW).verify(&text[4..]),
        Err(QrError::BadPrefix)
    );
    assert_eq!(verifier(&f, NOW).verify(""), Err(QrError::BadPrefix));
}

#[test]
fn bad_base45() {
    let f = fixture();
    let text = online(&f);
    let lower = text.to_lowercase().replacen("vl1:", "VL1:", 1);
    assert_eq!(verifier(&f, NOW).verify(&lower), Err(QrError::BadBase45));
    assert_eq!(
        verifier(&f, NOW).verify(&format!("{text}A")),
        Err(QrError::BadBase45)
    );
}

#[test]
fn bad_compression() {
    let f = fixture();
    let mut packed = miniz_oxide_stream(&cose_of(&online(&f)));
    let mid = packed.len() / 2;
    packed[mid] ^= 0x55;
    assert_eq!(
        verifier(&f, NOW).verify(&text_of(&packed)),
        Err(QrError::BadCompression)
    );
}

fn miniz_oxide_stream(bytes: &[u8]) -> Vec<u8> {
    // Force compression by padding with a compressible tail, then keep it valid zlib.
    let mut padded = bytes.to_vec();
    padded.extend_from_slice(&[0u8; 256]);
    let packed = zlib::deflate_if_smaller(&padded).into_owned();
    assert!(zlib::has_zlib_header(&packed));
    packed
}

#[test]
fn too_large() {
    let f = fixture();
    let long = format!("{PREFIX}{}", "A".repeat(5000));
    assert_eq!(verifier(&f, NOW).verify(&long), Err(QrError::TooLarge));
    // A zip bomb inside the limit of the text.
    let bomb = zlib::deflate_if_smaller(&vec![0u8; 1 << 20]).into_owned();
    assert!(text_of(&bomb).len() < 4296);
    assert_eq!(
        verifier(&f, NOW).verify(&text_of(&bomb)),
        Err(QrError::TooLarge)
    );
}

#[test]
fn bad_cbor() {
    let f = fixture();
    assert_eq!(
        verifier(&f, NOW).verify(&text_of(&[0xd2, 0x84, 0xff])),
        Err(QrError::BadCbor)
    );
    let mut cose = cose_of(&online(&f));
    cose.truncate(cose.len() - 1);
    assert_eq!(
        verifier(&f, NOW).verify(&text_of(&cose)),
        Err(QrError::BadCbor)
    );
}

#[test]
fn bad_cose() {
    let f = fixture();
    // A CBOR map where a COSE_Sign1 should be.
    assert!(matches!(
        verifier(&f, NOW).verify(&text_of(&[0xa1, 0x01, 0x02])),
        Err(QrError::BadCose(_))
    ));
    // The right structure under the COSE_Mac0 tag (17).
    let mut cose = cose_of(&online(&f));
    cose[0] = 0xd1;
    assert!(matches!(
        verifier(&f, NOW).verify(&text_of(&cose)),
        Err(QrError::BadCose(_))
    ));
}

#[test]
fn unsupported_algorithm() {
    let f = fixture();
    let sign1 = cose::Sign1::parse(&cose_of(&online(&f))).expect("parse");
    // Same payload, protected header {1: -37} (PS256).
    let ps256 = raw_sign1(&[0xa1, 0x01, 0x38, 0x24], sign1.payload(), &[0u8; 256]);
    assert_eq!(
        verify_with_device_key(&text_of(&ps256), &f.device.public_key(), NOW),
        Err(QrError::UnsupportedAlgorithm(-37))
    );
}

#[test]
fn unknown_issuer() {
    let f = fixture();
    let stranger = SigningKey::make().expect("key").public_key();
    let v = Verifier::new(vec![stranger], Arc::new(ManualClock::new(NOW)));
    assert_eq!(v.verify(&offline(&f, None)), Err(QrError::UnknownIssuer));
    let empty = Verifier::new(vec![], Arc::new(ManualClock::new(NOW)));
    assert_eq!(
        empty.verify(&offline(&f, None)),
        Err(QrError::UnknownIssuer)
    );
}

#[test]
fn bad_issuer_signature() {
    let f = fixture();
    // Tamper the credential's issuer signature, then have the genuine device sign it: only the
    // issuer check can catch it.
    let mut forged = f.credential.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let text = present(
        &f.device,
        PresentationSource::Offline(&forged),
        NOW,
        120,
        None,
    )
    .expect("present");
    assert_eq!(
        verifier(&f, NOW).verify(&text),
        Err(QrError::BadIssuerSignature)
    );
    // A credential whose claims were edited (new name) after signing.
    let sign1 = cose::Sign1::parse(&f.credential).expect("parse");
    let edited_payload = {
        let p = sign1.payload().to_vec();
        let pos = p
            .windows(7)
            .position(|w| w == b"Camille")
            .expect("name present");
        let mut e = p.clone();
        e[pos..pos + 7].copy_from_slice(b"Maxime!");
        e
    };
    let sig = &f.credential[f.credential.len() - 64..];
    let edited = raw_sign1(sign1.protected(), &edited_payload, sig);
    let text = present(
        &f.device,
        PresentationSource::Offline(&edited),
        NOW,
        120,
        None,
    )
    .expect("present");
    assert_eq!(
        verifier(&f, NOW).verify(&text),
        Err(QrError::BadIssuerSignature)
    );
}

#[test]
fn bad_device_signature_tampered_presentation() {
    let f = fixture();
    for text in [offline(&f, None), online(&f)] {
        let mut cose = cose_of(&text);
        let last = cose.len() - 1;
        cose[last] ^= 0x80;
        let tampered = text_of(&cose);
        assert_eq!(
            verify_with_device_key(&tampered, &f.device.public_key(), NOW),
            Err(QrError::BadDeviceSignature)
        );
    }
    let mut cose = cose_of(&offline(&f, None));
    let last = cose.len() - 1;
    cose[last] ^= 0x80;
    assert_eq!(
        verifier(&f, NOW).verify(&text_of(&cose)),
        Err(QrError::BadDeviceSignature)
    );
}

#[test]
fn bad_device_signature_credential_bound_to_another_device() {
    let f = fixture();
    // A thief copies the credential bytes and signs with their own key.
    let thief = SigningKey::make().expect("key");
    let text = present(
        &thief,
        PresentationSource::Offline(&f.credential),
        NOW,
        120,
        None,
    )
    .expect("present");
    assert_eq!(
        verifier(&f, NOW).verify(&text),
        Err(QrError::BadDeviceSignature)
    );
    // Online: the server holds the genuine device key for this credential id.
    let text = present(
        &thief,
        PresentationSource::Online(&f.claims.credential_id),
        NOW,
        120,
        None,
    )
    .expect("present");
    assert_eq!(
        verify_with_device_key(&text, &f.device.public_key(), NOW),
        Err(QrError::BadDeviceSignature)
    );
}

#[test]
fn device_signature_is_domain_separated() {
    let f = fixture();
    // The same payload signed without our external AAD does not verify.
    let sign1 = cose::Sign1::parse(&cose_of(&online(&f))).expect("parse");
    let resigned = cose::sign(&f.device, None, sign1.payload(), b"").expect("sign");
    assert_eq!(
        verify_with_device_key(&text_of(&resigned), &f.device.public_key(), NOW),
        Err(QrError::BadDeviceSignature)
    );
    let ok = cose::sign(&f.device, None, sign1.payload(), EXTERNAL_AAD).expect("sign");
    assert!(verify_with_device_key(&text_of(&ok), &f.device.public_key(), NOW).is_ok());
}

#[test]
fn expired() {
    let f = fixture();
    let text = offline(&f, None);
    // exp = NOW + 120; skew 30.
    assert!(verifier(&f, NOW + 150).verify(&text).is_ok());
    assert_eq!(verifier(&f, NOW + 151).verify(&text), Err(QrError::Expired));
    assert_eq!(
        verifier(&f, NOW + 151).verify(&online(&f)),
        Err(QrError::Expired)
    );
    assert_eq!(
        verify_with_device_key(&text, &f.device.public_key(), NOW + 151),
        Err(QrError::Expired)
    );
}

#[test]
fn not_yet_valid() {
    let f = fixture();
    let text = offline(&f, None);
    assert!(verifier(&f, NOW - 30).verify(&text).is_ok());
    assert_eq!(
        verifier(&f, NOW - 31).verify(&text),
        Err(QrError::NotYetValid)
    );
    let strict = verifier(&f, NOW - 1).with_skew_secs(0);
    assert_eq!(strict.verify(&online(&f)), Err(QrError::NotYetValid));
}

#[test]
fn credential_expired_and_not_yet_valid() {
    let mut f = fixture();
    let mut c = claims();
    c.expires_at = NOW - 31;
    c.issued_at = NOW - 1000;
    f.credential = credential::issue(&f.issuer, &c, &f.device.public_key()).expect("issue");
    assert_eq!(
        verifier(&f, NOW).verify(&offline(&f, None)),
        Err(QrError::CredentialExpired)
    );
    let mut c = claims();
    c.issued_at = NOW + 31;
    f.credential = credential::issue(&f.issuer, &c, &f.device.public_key()).expect("issue");
    assert_eq!(
        verifier(&f, NOW).verify(&offline(&f, None)),
        Err(QrError::CredentialNotYetValid)
    );
}

#[test]
fn wrong_audience() {
    let f = fixture();
    let for_a = offline(&f, Some("rpps:10101234567"));
    let v_b = verifier(&f, NOW).with_audience("rpps:10109999999");
    assert_eq!(v_b.verify(&for_a), Err(QrError::WrongAudience));
    // Addressed to someone, verifier expects no one: refused.
    assert_eq!(
        verifier(&f, NOW).verify(&for_a),
        Err(QrError::WrongAudience)
    );
    // Verifier requires an audience, presentation names none: refused.
    assert_eq!(v_b.verify(&offline(&f, None)), Err(QrError::WrongAudience));
}

#[test]
fn bad_presentation_and_bad_credential() {
    let f = fixture();
    assert!(matches!(
        present(&f.device, PresentationSource::Online(b"id"), NOW, 0, None),
        Err(QrError::BadPresentation(_))
    ));
    assert!(matches!(
        present(&f.device, PresentationSource::Online(b"id"), NOW, 601, None),
        Err(QrError::BadPresentation(_))
    ));
    assert!(matches!(
        present(&f.device, PresentationSource::Online(b""), NOW, 120, None),
        Err(QrError::BadPresentation(_))
    ));
    // A device-signed payload that is not a claims map.
    let cose = cose::sign(&f.device, None, &[0x01], EXTERNAL_AAD).expect("sign");
    assert!(matches!(
        verifier(&f, NOW).verify(&text_of(&cose)),
        Err(QrError::BadPresentation(_))
    ));
    // An "offline" presentation whose credential is a signed non-credential.
    let junk = cose::sign(&f.issuer, None, &[0xa0], b"").expect("sign");
    let text = present(
        &f.device,
        PresentationSource::Offline(&junk),
        NOW,
        120,
        None,
    )
    .expect("present");
    assert!(matches!(
        verifier(&f, NOW).verify(&text),
        Err(QrError::BadCredential(_))
    ));
}

#[test]
fn tampering_any_character_never_verifies() {
    let f = fixture();
    for text in [online(&f), offline(&f, None)] {
        let v = verifier(&f, NOW);
        let alphabet = base45::ALPHABET;
        for i in 4..text.len() {
            let mut bytes = text.clone().into_bytes();
            let pos = alphabet.iter().position(|c| *c == bytes[i]).expect("b45");
            bytes[i] = alphabet[(pos + 1) % alphabet.len()];
            let tampered = String::from_utf8(bytes).expect("ascii");
            let out = v.verify(&tampered);
            assert!(
                !matches!(out, Ok(Verified::Offline(_))),
                "offline tamper at {i} verified"
            );
            assert!(
                verify_with_device_key(&tampered, &f.device.public_key(), NOW).is_err(),
                "tamper at {i} redeemed"
            );
        }
    }
}

#[test]
fn issuer_key_rotation_uses_the_kid() {
    let f = fixture();
    let old = SigningKey::make().expect("key").public_key();
    let keys: Vec<PublicKey> = vec![old, f.issuer.public_key()];
    let v = Verifier::new(keys, Arc::new(ManualClock::new(NOW)));
    assert!(matches!(
        v.verify(&offline(&f, None)),
        Ok(Verified::Offline(_))
    ));
}
