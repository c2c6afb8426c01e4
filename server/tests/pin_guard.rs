// SPDX-License-Identifier: Apache-2.0
//! The PIN-guard endpoints (issue 18) against hostile input, over loopback HTTP: every bad
//! request is a typed 4xx (the error code asserted), never a 500, and costs no guess.
//!
//! - `enrolment_with_pin_guard_keys_answers_an_oprf_key`: the key, the suite, the limit, and
//!   an insured credential bound to the device-tier key.
//! - `malformed_points_the_identity_and_off_curve_points_are_refused`;
//! - `unsigned_wrongly_signed_and_mistyped_requests_are_refused`;
//! - `replayed_and_stale_requests_are_refused`;
//! - `oversized_and_malformed_bodies_are_refused`;
//! - `unknown_and_revoked_devices_are_refused`;
//! - `the_limit_refuses_and_erases_and_no_confirmation_revives_it`;
//! - `a_confirmation_needs_the_confirmation_key`.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use common::guarded::{element, enrol_guarded, jti, Guarded};
use common::{expect_err, read, Failure, Harness};
use serde_json::{json, Value};
use vistalid_core::jws;
use vistalid_core::keys::SigningKey;
use vistalid_core::oprf::{self, Evaluation};
use vistalid_core::protocol::{
    PinGuessClaims, PinGuessResponse, PATH_PIN_CONFIRM, PATH_PIN_GUESS, TYP_PIN_GUESS,
};

async fn practitioner(h: &Harness) -> Guarded {
    let code = h
        .admin()
        .add_practitioner("10003456789", "Jeanne", "Martin", "10")
        .expect("account");
    enrol_guarded(&h.http, h.server.base_url(), &code, h.now()).await
}

/// Guesses `g`'s guard still allows, as the admin lists it.
fn guesses_left(h: &Harness, g: &Guarded) -> Option<u32> {
    let devices = h.admin().list_devices("10003456789").expect("devices");
    devices
        .iter()
        .find(|d| d.device_id == g.device_id)
        .expect("device")
        .guesses_left
}

/// One well-formed guess by `g` with request id `jti(n)`: the server's answer or refusal.
async fn guess(h: &Harness, g: &Guarded, n: u8) -> Result<PinGuessResponse, Failure> {
    let (_, e) = element();
    read(
        post(
            h,
            PATH_PIN_GUESS,
            &g.guess_body(&g.claims(&e, jti(n), h.now())),
        )
        .await,
    )
    .await
}

async fn post(h: &Harness, path: &str, body: &Value) -> reqwest::Response {
    h.http
        .post(h.url(path))
        .json(body)
        .send()
        .await
        .expect("post")
}

#[tokio::test]
async fn enrolment_with_pin_guard_keys_answers_an_oprf_key() {
    let h = Harness::start().await;
    let g = practitioner(&h).await;
    let oprf = g.enrolled.oprf.clone().expect("oprf");
    assert_eq!(
        (oprf.suite.as_str(), oprf.mode.as_str()),
        ("P256-SHA256", "voprf")
    );
    assert_eq!(oprf.guess_limit, 10);
    assert_eq!(guesses_left(&h, &g), Some(10));
    // One good guess: evaluated under the announced key (the proof verifies), counted.
    let (state, e) = element();
    let r: PinGuessResponse = read(
        post(
            &h,
            PATH_PIN_GUESS,
            &g.guess_body(&g.claims(&e, jti(1), h.now())),
        )
        .await,
    )
    .await
    .expect("guess");
    assert_eq!(r.guesses_left, 9);
    let evaluation = Evaluation::from_bytes(
        &B64URL.decode(&r.evaluated_element).expect("b64"),
        &B64URL.decode(&r.proof).expect("b64"),
    )
    .expect("evaluation");
    state
        .finalize(&evaluation, &g.public)
        .expect("the proof verifies");
    assert_eq!(guesses_left(&h, &g), Some(9));

    // An insured account's credential binds the device-tier key.
    let code = h
        .admin()
        .add_insured("ins-77", "Léa", "Bernard")
        .expect("insured");
    let ins = enrol_guarded(&h.http, h.server.base_url(), &code, h.now()).await;
    let cred = B64URL
        .decode(ins.enrolled.credential.as_deref().expect("credential"))
        .expect("b64");
    let issuer = vistalid_core::keys::PublicKey::from_jwk(
        ins.enrolled.issuer_key.as_ref().expect("issuer key"),
    )
    .expect("issuer");
    let verified =
        vistalid_core::qr::credential::verify(&cred, &[issuer], h.now(), 30).expect("credential");
    assert_eq!(verified.device_key, ins.unlock.public_key());
}

#[tokio::test]
async fn malformed_points_the_identity_and_off_curve_points_are_refused() {
    let h = Harness::start().await;
    let g = practitioner(&h).await;
    let off_curve = (0u8..=255)
        .map(|x| {
            let mut p = [0u8; 33];
            p[0] = 2;
            p[32] = x;
            p
        })
        .find(|p| oprf::BlindedElement::from_bytes(p).is_err())
        .expect("an x off the curve");
    let (_, good) = element();
    let good_bytes = B64URL.decode(&good).expect("b64");
    let mut uncompressed = vec![4u8];
    uncompressed.extend_from_slice(&[1u8; 64]);
    let bad: Vec<String> = vec![
        B64URL.encode([0u8]),             // the identity's SEC1 encoding
        B64URL.encode([0u8; 33]),         // zeros
        B64URL.encode(off_curve),         // not on the curve
        B64URL.encode(&good_bytes[..32]), // truncated
        B64URL.encode([&good_bytes[..], &[0u8]].concat()), // padded
        B64URL.encode(&uncompressed),     // uncompressed form
        "%%% not base64 %%%".into(),
        String::new(),
    ];
    for (i, e) in bad.iter().enumerate() {
        let body = g.guess_body(&g.claims(e, jti(10 + i as u8), h.now()));
        let r = read::<Value>(post(&h, PATH_PIN_GUESS, &body).await).await;
        expect_err(r, 400, "invalid_element");
    }
    assert_eq!(guesses_left(&h, &g), Some(10), "no refused request counts");
}

#[tokio::test]
async fn unsigned_wrongly_signed_and_mistyped_requests_are_refused() {
    let h = Harness::start().await;
    let g = practitioner(&h).await;
    let (_, e) = element();
    let claims = g.claims(&e, jti(1), h.now());
    // Signed by another key, by the confirmation key, or not at all.
    let stranger = SigningKey::make().expect("key");
    let by = |k: &SigningKey| g.body(jws::sign_json(k, TYP_PIN_GUESS, &claims).expect("sign"));
    expect_err(
        read::<Value>(post(&h, PATH_PIN_GUESS, &by(&stranger)).await).await,
        401,
        "invalid_signature",
    );
    expect_err(
        read::<Value>(post(&h, PATH_PIN_GUESS, &by(&g.confirm)).await).await,
        401,
        "invalid_signature",
    );
    let token = jws::sign_json(&g.unlock, TYP_PIN_GUESS, &claims).expect("sign");
    let (head, rest) = token.split_once('.').expect("jws");
    let payload = rest.split('.').next().expect("payload");
    for unsigned in [
        format!("{head}.{payload}."),
        format!("{head}.{payload}"),
        "x".into(),
    ] {
        expect_err(
            read::<Value>(post(&h, PATH_PIN_GUESS, &g.body(unsigned)).await).await,
            400,
            "invalid_request",
        );
    }
    // A guess sent as a confirmation, and the other way round: wrong typ.
    let as_confirm = g.body(jws::sign_json(&g.confirm, TYP_PIN_GUESS, &claims).expect("sign"));
    expect_err(
        read::<Value>(post(&h, PATH_PIN_CONFIRM, &as_confirm).await).await,
        400,
        "invalid_request",
    );
    let confirm = g.confirm_body(&g.unlock, jti(2), h.now());
    expect_err(
        read::<Value>(post(&h, PATH_PIN_GUESS, &confirm).await).await,
        400,
        "invalid_request",
    );
    // The body names another device than the signed claims.
    let mut other = g.guess_body(&claims);
    other["device_id"] = json!("someone-else");
    expect_err(
        read::<Value>(post(&h, PATH_PIN_GUESS, &other).await).await,
        404,
        "unknown_device",
    );
    // Claims for another key id.
    let wrong_key = PinGuessClaims {
        key_id: "not-this-key".into(),
        jti: jti(3),
        ..claims.clone()
    };
    expect_err(
        read::<Value>(post(&h, PATH_PIN_GUESS, &g.guess_body(&wrong_key)).await).await,
        409,
        "unknown_oprf_key",
    );
    // A bad jti.
    let short = PinGuessClaims {
        jti: "abc".into(),
        ..claims.clone()
    };
    expect_err(
        read::<Value>(post(&h, PATH_PIN_GUESS, &g.guess_body(&short)).await).await,
        400,
        "invalid_request",
    );
    assert_eq!(guesses_left(&h, &g), Some(10));
}

#[tokio::test]
async fn replayed_and_stale_requests_are_refused() {
    let h = Harness::start().await;
    let g = practitioner(&h).await;
    let (_, e) = element();
    let body = g.guess_body(&g.claims(&e, jti(1), h.now()));
    read::<PinGuessResponse>(post(&h, PATH_PIN_GUESS, &body).await)
        .await
        .expect("first time");
    expect_err(
        read::<Value>(post(&h, PATH_PIN_GUESS, &body).await).await,
        409,
        "replayed_request",
    );
    assert_eq!(guesses_left(&h, &g), Some(9), "the replay is not counted");
    for iat in [h.now() - 121, h.now() + 121, i64::MIN, i64::MAX] {
        let stale = g.guess_body(&g.claims(&e, jti(2), iat));
        expect_err(
            read::<Value>(post(&h, PATH_PIN_GUESS, &stale).await).await,
            400,
            "stale_request",
        );
    }
    // A confirmation is single-use and fresh too.
    let confirm = g.confirm_body(&g.confirm, jti(3), h.now());
    read::<Value>(post(&h, PATH_PIN_CONFIRM, &confirm).await)
        .await
        .expect("confirm");
    expect_err(
        read::<Value>(post(&h, PATH_PIN_CONFIRM, &confirm).await).await,
        409,
        "replayed_request",
    );
    let stale = g.confirm_body(&g.confirm, jti(4), h.now() - 600);
    expect_err(
        read::<Value>(post(&h, PATH_PIN_CONFIRM, &stale).await).await,
        400,
        "stale_request",
    );
    assert_eq!(guesses_left(&h, &g), Some(10));
}

#[tokio::test]
async fn oversized_and_malformed_bodies_are_refused() {
    let h = Harness::start().await;
    let g = practitioner(&h).await;
    let huge = json!({ "device_id": g.device_id, "request": "a".repeat(64 * 1024) });
    for path in [PATH_PIN_GUESS, PATH_PIN_CONFIRM] {
        expect_err(
            read::<Value>(post(&h, path, &huge).await).await,
            413,
            "request_too_large",
        );
        for bad in [
            json!({}),
            json!({ "device_id": g.device_id }),
            json!({ "device_id": 7, "request": "x" }),
            json!({ "device_id": g.device_id, "request": "x", "extra": 1 }),
            json!([1, 2]),
        ] {
            expect_err(
                read::<Value>(post(&h, path, &bad).await).await,
                400,
                "invalid_request",
            );
        }
        let r = h
            .http
            .post(h.url(path))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .expect("post");
        expect_err(read::<Value>(r).await, 400, "invalid_request");
    }
    assert_eq!(guesses_left(&h, &g), Some(10));
}

#[tokio::test]
async fn unknown_and_revoked_devices_are_refused() {
    let h = Harness::start().await;
    let g = practitioner(&h).await;
    let (_, e) = element();
    let mut unknown = g.guess_body(&g.claims(&e, jti(1), h.now()));
    unknown["device_id"] = json!("no-such-device");
    expect_err(
        read::<Value>(post(&h, PATH_PIN_GUESS, &unknown).await).await,
        404,
        "unknown_device",
    );
    unknown["device_id"] = json!("d".repeat(65));
    expect_err(
        read::<Value>(post(&h, PATH_PIN_GUESS, &unknown).await).await,
        400,
        "invalid_request",
    );
    assert!(h.admin().revoke_device(&g.device_id).expect("revoke"));
    let body = g.guess_body(&g.claims(&e, jti(2), h.now()));
    expect_err(
        read::<Value>(post(&h, PATH_PIN_GUESS, &body).await).await,
        403,
        "device_revoked",
    );
    let confirm = g.confirm_body(&g.confirm, jti(3), h.now());
    expect_err(
        read::<Value>(post(&h, PATH_PIN_CONFIRM, &confirm).await).await,
        403,
        "device_revoked",
    );
}

#[tokio::test]
async fn the_limit_refuses_and_erases_and_no_confirmation_revives_it() {
    let h = Harness::start_with(|c| c.pin_guess_limit = 3).await;
    let g = practitioner(&h).await;
    for n in 0..3u8 {
        let r = guess(&h, &g, n).await.expect("guess");
        assert_eq!(r.guesses_left, u32::from(2 - n));
    }
    expect_err(guess(&h, &g, 9).await, 403, "pin_guard_blocked");
    assert_eq!(guesses_left(&h, &g), Some(0));
    // Erased: the confirmation key cannot bring it back.
    let confirm = g.confirm_body(&g.confirm, jti(10), h.now());
    expect_err(
        read::<Value>(post(&h, PATH_PIN_CONFIRM, &confirm).await).await,
        403,
        "pin_guard_blocked",
    );
    let h = h.restart().await;
    expect_err(guess(&h, &g, 11).await, 403, "pin_guard_blocked");
}

#[tokio::test]
async fn a_confirmation_needs_the_confirmation_key() {
    let h = Harness::start().await;
    let g = practitioner(&h).await;
    for n in 0..4u8 {
        guess(&h, &g, n).await.expect("guess");
    }
    assert_eq!(guesses_left(&h, &g), Some(6));
    // The device-tier key (which a holder of the files and keystore has) does not reset it.
    let by_unlock = g.confirm_body(&g.unlock, jti(20), h.now());
    expect_err(
        read::<Value>(post(&h, PATH_PIN_CONFIRM, &by_unlock).await).await,
        401,
        "invalid_signature",
    );
    assert_eq!(guesses_left(&h, &g), Some(6));
    let by_confirm = g.confirm_body(&g.confirm, jti(21), h.now());
    let r: Value = read(post(&h, PATH_PIN_CONFIRM, &by_confirm).await)
        .await
        .expect("confirm");
    assert_eq!(r["guesses_left"], 10);
    assert_eq!(guesses_left(&h, &g), Some(10));
}
