// SPDX-License-Identifier: Apache-2.0
//! Enrolment and admin input under attack (issue 13): extreme proof times, the activation-code
//! oracle, rejections that must not echo values, names that must be display-safe.

mod common;

use common::{enrol_raw, expect_err, proof, Device, Harness};
use serde_json::Value;
use vistalid_core::keys::SigningKey;
use vistalid_core::protocol::PATH_ENROL;

/// Issue 13 item 5: extreme `iat` values in the enrolment proof are a typed 400, never an
/// overflow (a panic in debug builds; in release, `now + i64::MIN` passed the skew check).
#[tokio::test]
async fn extreme_proof_times_are_refused_without_overflow() {
    let h = Harness::start_with(|c| c.enrol_per_ip_per_min = 1000).await;
    let code = h
        .admin()
        .add_practitioner("10101010101", "Jeanne", "Martin", "10")
        .expect("account");
    let key = SigningKey::make().expect("key");
    let base = h.server.base_url().to_owned();
    let now = h.now();
    for iat in [
        now.wrapping_add(i64::MIN),
        i64::MIN,
        i64::MIN + 1,
        i64::MAX,
        now.wrapping_add(i64::MAX),
        now - 301,
        now + 301,
    ] {
        let nonce = h.nonce().await;
        let p = proof(&key, &nonce, &base, iat);
        expect_err(enrol_raw(&h, &key, &code, &p).await, 400, "invalid_proof");
    }
    // The code was not spent, and the server still answers.
    let nonce = h.nonce().await;
    let p = proof(&key, &nonce, &base, now + 300);
    enrol_raw(&h, &key, &code, &p)
        .await
        .expect("enrol at the skew edge");
}

/// Issue 13 item 9: a wrong secret on a known lookup answers exactly like an unknown lookup
/// (same status and body), whatever the code's state; tries are still counted per code, and
/// only the right secret learns that a code is used, expired or dead.
#[tokio::test]
async fn wrong_secret_and_unknown_lookup_answer_identically() {
    let h = Harness::start_with(|c| c.enrol_per_ip_per_min = 1000).await;
    let raw = |code: String| {
        let h = &h;
        async move {
            let key = SigningKey::make().expect("key");
            let nonce = h.nonce().await;
            let p = proof(&key, &nonce, h.server.base_url(), h.now());
            let req = vistalid_core::protocol::EnrolRequest {
                activation_code: code,
                public_key: key.public_key().to_jwk(),
                proof: p,
                device_name: "Pixel 9 test".into(),
                device_attestation: None,
                key_storage: None,
                pin_guard: None,
            };
            let r = common::post_enrol(h, &req).await;
            (r.status().as_u16(), r.bytes().await.expect("body").to_vec())
        }
    };
    let wrong_secret = |code: &str| {
        let lookup = &code[..5];
        let w = format!("{lookup}0000-0000");
        if w == code {
            format!("{lookup}1111-1111")
        } else {
            w
        }
    };
    let code = h
        .admin()
        .add_practitioner("10101010101", "Jeanne", "Martin", "10")
        .expect("account");
    // An unknown lookup: a code issued to nobody (redrawn if it collides).
    let unknown = {
        let mut u = "ZZZZ-0000-0000".to_owned();
        if code.starts_with("ZZZZ") {
            u = "YYYY-0000-0000".into();
        }
        u
    };
    let reference = raw(unknown.clone()).await;
    assert_eq!(reference.0, 403);
    let live = raw(wrong_secret(&code)).await;
    assert_eq!(live, reference, "live lookup, wrong secret");
    assert!(!String::from_utf8_lossy(&live.1).contains("left"));
    // Used, expired and locked codes with a wrong secret: the same again.
    let used = h
        .admin()
        .add_practitioner("20202020202", "A", "B", "10")
        .expect("account");
    Device::enrol(&h, &used).await.expect("use it");
    assert_eq!(raw(wrong_secret(&used)).await, reference, "used");
    let locked = h
        .admin()
        .add_practitioner("30303030303", "A", "B", "10")
        .expect("account");
    for _ in 0..5 {
        assert_eq!(raw(wrong_secret(&locked)).await, reference, "counting");
    }
    assert_eq!(raw(wrong_secret(&locked)).await, reference, "locked");
    // Tries were counted: the right secret now learns the code is dead.
    expect_err(
        Device::enrol(&h, &locked).await.map(|_| ()),
        403,
        "activation_code_locked",
    );
    // The first code still has 4 tries and works.
    Device::enrol(&h, &code).await.expect("enrol");
    let expired = h
        .admin()
        .add_practitioner("40404040404", "A", "B", "10")
        .expect("account");
    h.clock.advance(15 * 60);
    assert_eq!(raw(wrong_secret(&expired)).await, reference, "expired");
    expect_err(
        Device::enrol(&h, &expired).await.map(|_| ()),
        403,
        "activation_code_expired",
    );
}

/// Issue 13 item 11: rejections of malformed bodies, queries and paths name the field but
/// never echo the submitted value.
#[tokio::test]
async fn rejections_never_echo_submitted_values() {
    use vistalid_core::protocol::{PATH_CHALLENGES, PATH_CIBA};
    const MARK: &str = "zq7SECRETxv";
    let h = Harness::start().await;
    let (id, secret) = h
        .admin()
        .add_client("rp", vistalid_core::protocol::CodeMode::Pick)
        .expect("client");
    let key = SigningKey::make().expect("key");
    let jwk = serde_json::to_value(key.public_key().to_jwk()).expect("jwk");
    let json_bodies = [
        serde_json::json!({ "activation_code": 5, "public_key": jwk, "proof": MARK, "device_name": MARK }),
        serde_json::json!({ "activation_code": MARK, "public_key": MARK, "proof": "x", "device_name": "x" }),
        serde_json::json!({ "activation_code": "x", "public_key": { "kty": MARK, "crv": 7, "x": "a", "y": "b" }, "proof": "x", "device_name": "x" }),
        serde_json::json!({ "activation_code": [MARK], "public_key": jwk, "proof": "x", "device_name": "x" }),
        serde_json::json!(MARK),
    ];
    let mut checked = 0;
    for body in json_bodies {
        let r = h
            .http
            .post(h.url(PATH_ENROL))
            .json(&body)
            .send()
            .await
            .expect("send");
        let text = r.text().await.expect("body");
        assert!(text.contains("invalid_request"), "{text}");
        assert!(!text.contains(MARK), "{text}");
        checked += 1;
    }
    // A JSON answer with a value of the wrong type names the field, not the value.
    let r = h
        .http
        .post(h.url("/device/challenges/x/answer"))
        .json(&serde_json::json!({ "answer": { "k": MARK } }))
        .send()
        .await
        .expect("send");
    let text = r.text().await.expect("body");
    assert!(text.contains("answer") && !text.contains(MARK), "{text}");
    // Forms and queries.
    let r = h
        .http
        .post(h.url(PATH_CIBA))
        .basic_auth(&id, Some(secret.as_str()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("scope={MARK}&scope={MARK}&login_hint=1"))
        .send()
        .await
        .expect("send");
    let text = r.text().await.expect("body");
    assert!(
        text.contains("invalid_request") && !text.contains(MARK),
        "{text}"
    );
    let r = h
        .http
        .get(format!("{}?wait={MARK}", h.url(PATH_CHALLENGES)))
        .bearer_auth("x")
        .send()
        .await
        .expect("send");
    let text = r.text().await.expect("body");
    assert!(text.contains("wait") && !text.contains(MARK), "{text}");
    assert_eq!(checked, 5);
}

/// Issue 13 item 8: device names given at enrolment refuse format and separator characters.
#[tokio::test]
async fn device_names_refuse_format_and_separator_characters() {
    let h = Harness::start_with(|c| c.enrol_per_ip_per_min = 1000).await;
    let code = h
        .admin()
        .add_practitioner("10101010101", "Jeanne", "Martin", "10")
        .expect("account");
    for bad in ["Pixel\u{2028}9", "Pixel \u{202E}9", "\u{200B}Pixel"] {
        let key = SigningKey::make().expect("key");
        let nonce = h.nonce().await;
        let req = vistalid_core::protocol::EnrolRequest {
            activation_code: code.to_string(),
            public_key: key.public_key().to_jwk(),
            proof: proof(&key, &nonce, h.server.base_url(), h.now()),
            device_name: bad.into(),
            device_attestation: None,
            key_storage: None,
            pin_guard: None,
        };
        let r = common::post_enrol(&h, &req).await;
        expect_err(common::read::<Value>(r).await, 400, "invalid_request");
    }
    Device::enrol(&h, &code)
        .await
        .expect("a plain name still enrols");
}

/// Issue 13 item 8: names typed by the admin refuse format and separator characters.
#[tokio::test]
async fn admin_names_refuse_format_and_separator_characters() {
    let h = Harness::start().await;
    let a = h.admin();
    for bad in [
        "Dossier\u{2028}patient",
        "Dossier \u{202E}tneitap",
        "x\u{2066}",
    ] {
        assert!(a
            .add_client(bad, vistalid_core::protocol::CodeMode::Pick)
            .is_err());
        assert!(a
            .add_practitioner("10000000001", bad, "Martin", "10")
            .is_err());
        assert!(a
            .add_practitioner("10000000001", "Jeanne", bad, "10")
            .is_err());
        assert!(a.add_insured("ps-1", bad, "Bernard").is_err());
        assert!(a.add_insured(bad, "Léa", "Bernard").is_err());
    }
    a.add_practitioner("10000000001", "Jérôme", "N’Diaye", "10")
        .expect("plain names pass");
}
