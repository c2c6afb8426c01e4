// SPDX-License-Identifier: Apache-2.0
//! Times that come from outside (a server's challenge, a scanned QR code, the credential inside
//! it) and the local clock at the ends of `i64`: every check answers with a typed error or a
//! plain result, never an arithmetic overflow (a panic in debug builds, a wrong answer in
//! release ones).

use std::collections::HashSet;
use std::sync::Arc;

use ciborium::Value;
use vistalid_core::challenge::{self, ChallengeError};
use vistalid_core::clock::ManualClock;
use vistalid_core::jws;
use vistalid_core::keys::SigningKey;
use vistalid_core::protocol::{ChallengeClaims, CodeMode, RequestContext, TYP_CHALLENGE};
use vistalid_core::qr::{self, credential, presentation, CredentialClaims, QrError, Verifier};

const EXTREMES: [i64; 7] = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];

fn challenge_claims(iat: i64, exp: i64) -> ChallengeClaims {
    ChallengeClaims {
        id: "ch".into(),
        account_id: "acc".into(),
        device_id: "dev".into(),
        service: "Service".into(),
        binding_message: "Connexion".into(),
        context: RequestContext::default(),
        mode: CodeMode::Pick,
        candidates: vec!["12".into(), "34".into(), "56".into()],
        iat,
        exp,
        scan: None,
    }
}

#[test]
fn challenge_times_at_the_ends_of_i64_are_refused_without_overflow() {
    let server = SigningKey::make().expect("key");
    let none = HashSet::new();
    for iat in EXTREMES {
        for exp in EXTREMES {
            for now in EXTREMES {
                let token = jws::sign_json(&server, TYP_CHALLENGE, &challenge_claims(iat, exp))
                    .expect("sign");
                let r = challenge::verify_challenge(
                    &token,
                    &server.public_key(),
                    "acc",
                    "dev",
                    &none,
                    now,
                );
                // Only a window of at most MAX_VALIDITY_SECS around `now` may pass.
                if let Ok(ch) = &r {
                    assert!(ch.expires_at >= ch.issued_at, "{iat} {exp} {now}");
                    assert!(
                        ch.expires_at.abs_diff(ch.issued_at)
                            <= challenge::MAX_VALIDITY_SECS.unsigned_abs()
                    );
                    assert!(!ch.is_expired(now));
                } else {
                    assert!(
                        matches!(r, Err(ChallengeError::BadTime | ChallengeError::Expired)),
                        "iat {iat} exp {exp} now {now}: {r:?}"
                    );
                }
                let ch = challenge::Challenge {
                    id: "ch".into(),
                    account_id: "acc".into(),
                    device_id: "dev".into(),
                    service: String::new(),
                    binding_message: String::new(),
                    context: RequestContext::default(),
                    mode: CodeMode::Type,
                    candidates: Vec::new(),
                    issued_at: iat,
                    expires_at: exp,
                    scan_attempt: None,
                };
                let _ = ch.is_expired(now);
            }
        }
    }
}

/// A presentation claims map signed by `device` with raw `iat` / `exp` values, as a forger
/// would write it (the wallet's own signer refuses such times).
fn forged_presentation(device: &SigningKey, credential_id: &[u8], iat: i128, exp: i128) -> String {
    let int = |i: i64| Value::Integer(i.into());
    let claims = Value::Map(vec![
        (int(-2), Value::Bytes(credential_id.to_vec())),
        (
            int(4),
            Value::Integer(exp.try_into().expect("CBOR integer")),
        ),
        (
            int(6),
            Value::Integer(iat.try_into().expect("CBOR integer")),
        ),
        (int(7), Value::Bytes(vec![7u8; presentation::NONCE_LEN])),
    ]);
    let mut payload = Vec::new();
    ciborium::into_writer(&claims, &mut payload).expect("cbor");
    let cose = qr::cose::sign(device, None, &payload, presentation::EXTERNAL_AAD).expect("sign");
    presentation::encode_text(&cose)
}

#[test]
fn qr_times_at_the_ends_of_i64_are_refused_without_overflow() {
    let device = SigningKey::make().expect("key");
    let wide: [i128; 6] = [
        i128::from(i64::MIN),
        -1,
        0,
        i128::from(i64::MAX),
        i128::from(u64::MAX),
        i128::from(i64::MAX) + 1,
    ];
    for iat in wide {
        for exp in wide {
            let text = forged_presentation(&device, &[1u8; 8], iat, exp);
            for now in EXTREMES {
                let clock = Arc::new(ManualClock::new(now));
                let verifier = Verifier::new(Vec::new(), clock);
                let r = verifier.verify(&text);
                match r {
                    // Only a short window that holds `now` may pass.
                    Ok(qr::Verified::RedeemOnline(f)) => {
                        assert!(f.expires_at > f.issued_at && f.issued_at >= 0);
                        assert!(f.expires_at - f.issued_at <= 600, "{iat} {exp} {now}");
                    }
                    Err(QrError::BadPresentation(_) | QrError::Expired | QrError::NotYetValid) => {}
                    other => panic!("iat {iat} exp {exp} now {now}: {other:?}"),
                }
                let r = qr::verify::verify_with_device_key(&text, &device.public_key(), now);
                if let Ok(f) = r {
                    assert!(f.expires_at > f.issued_at && f.issued_at >= 0);
                }
            }
        }
    }
}

#[test]
fn credential_times_at_the_ends_of_i64_are_checked_without_overflow() {
    let issuer = SigningKey::make().expect("key");
    let device = SigningKey::make().expect("key");
    for (issued_at, expires_at) in [(0, i64::MAX), (i64::MAX - 1, i64::MAX), (0, 1)] {
        let claims = CredentialClaims {
            issuer: "https://idp.example.fr".into(),
            subject: "ins-1".into(),
            given_name: "Camille".into(),
            family_name: "Martin".into(),
            credential_id: vec![1u8; 8],
            issued_at,
            expires_at,
        };
        let bytes = credential::issue(&issuer, &claims, &device.public_key()).expect("issue");
        for now in EXTREMES {
            for skew in [0, 30, u32::MAX] {
                let r = credential::verify(&bytes, &[issuer.public_key()], now, skew);
                if let Err(e) = r {
                    assert!(
                        matches!(
                            e,
                            QrError::CredentialExpired | QrError::CredentialNotYetValid
                        ),
                        "{issued_at} {expires_at} {now} {skew}: {e:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_presentation_window_past_the_end_of_i64_is_refused_not_cut_short() {
    let device = SigningKey::make().expect("key");
    let id = [1u8; 8];
    let validity = 120u32;
    let last = i64::MAX - i64::from(validity);
    let text = qr::present(
        &device,
        qr::PresentationSource::Online(&id),
        last,
        validity,
        None,
    )
    .expect("the last window that fits");
    let facts = qr::verify::verify_with_device_key(&text, &device.public_key(), last)
        .expect("verifies at its own time");
    assert_eq!(facts.expires_at, i64::MAX);
    for now in [last + 1, i64::MAX, i64::MIN, -1] {
        assert_eq!(
            qr::present(
                &device,
                qr::PresentationSource::Online(&id),
                now,
                validity,
                None
            )
            .err(),
            Some(QrError::BadPresentation("iat")),
            "{now}"
        );
    }
}
