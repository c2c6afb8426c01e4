// SPDX-License-Identifier: Apache-2.0
//! Discovery, JWKS and enrolment over real HTTP with a real SQLite file.

mod common;

use common::{enrol_raw, expect_err, proof, Device, Harness};
use serde_json::Value;
use vistalid_core::jws;
use vistalid_core::keys::SigningKey;
use vistalid_core::protocol::{
    AccountKind, CIBA_GRANT_TYPE, PATH_CIBA, PATH_DISCOVERY, PATH_ENROL, PATH_JWKS, PATH_TOKEN,
};

#[tokio::test]
async fn discovery_and_jwks() {
    let h = Harness::start().await;
    let d: Value = h
        .http
        .get(h.url(PATH_DISCOVERY))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    let base = h.server.base_url();
    assert_eq!(d["issuer"], base);
    assert_eq!(d["jwks_uri"], format!("{base}{PATH_JWKS}"));
    assert_eq!(d["token_endpoint"], format!("{base}{PATH_TOKEN}"));
    assert_eq!(
        d["backchannel_authentication_endpoint"],
        format!("{base}{PATH_CIBA}")
    );
    assert_eq!(d["backchannel_token_delivery_modes_supported"][0], "poll");
    assert_eq!(d["backchannel_user_code_parameter_supported"], false);
    assert_eq!(d["id_token_signing_alg_values_supported"][0], "ES256");
    assert_eq!(
        d["token_endpoint_auth_methods_supported"][0],
        "client_secret_basic"
    );
    assert!(d["grant_types_supported"]
        .as_array()
        .expect("array")
        .contains(&Value::from(CIBA_GRANT_TYPE)));
    assert!(d["claims_supported"]
        .as_array()
        .expect("array")
        .contains(&Value::from("SubjectNameID")));
    // The authorization endpoint exists and says why it cannot be used.
    let auth = d["authorization_endpoint"].as_str().expect("string");
    let r = h.http.get(auth).send().await.expect("auth");
    let e = expect_err(
        common::read::<Value>(r).await,
        400,
        "unsupported_response_type",
    );
    assert!(e.body.error_description.expect("text").contains("CIBA"));

    // JWKS: one ES256 key whose kid is its thumbprint, and it signs what the server sends.
    let key = h.server_key().await;
    let jwks: Value = h
        .http
        .get(h.url(PATH_JWKS))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert_eq!(jwks["keys"].as_array().expect("keys").len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], key.thumbprint());
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part");
}

#[tokio::test]
async fn server_key_is_stable_across_restarts() {
    let h = Harness::start().await;
    let before = h.server_key().await;
    let h = h.restart().await;
    assert_eq!(h.server_key().await, before);
}

#[tokio::test]
async fn enrolment_happy_path() {
    let h = Harness::start().await;
    let code = h
        .admin()
        .add_practitioner("10101010101", "Jeanne", "Martin", "10")
        .expect("account");
    assert_eq!(code.len(), 14, "XXXX-XXXX-XXXX");
    // Typed in lower case without dashes: still accepted.
    let typed = code.replace('-', "").to_lowercase();
    let dev = Device::enrol(&h, &typed).await.expect("enrol");
    let e = &dev.enrolment;
    assert_eq!(e.kind, AccountKind::Practitioner);
    assert_eq!(e.identity.subject_name_id, "10101010101");
    assert_eq!(e.identity.given_name, "Jeanne");
    assert_eq!(e.identity.profession.as_deref(), Some("10"));
    assert_eq!(e.poll_token.len(), 43, "256-bit token");
    assert!(e.credential.is_none() && e.issuer_key.is_none());
    let pinned = vistalid_core::keys::PublicKey::from_jwk(&e.server_key).expect("key");
    assert_eq!(pinned, h.server_key().await);
    let devices = h.admin().list_devices("10101010101").expect("list");
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].device_id, e.device_id);
    assert_eq!(devices[0].key_thumbprint, dev.key.public_key().thumbprint());
    assert!(devices[0].revoked_at.is_none());

    // An insured account enrols too.
    let code = h
        .admin()
        .add_insured("INS-7f3a", "Paul", "Durand")
        .expect("insured");
    let ins = Device::enrol(&h, &code).await.expect("enrol insured");
    assert_eq!(ins.enrolment.kind, AccountKind::Insured);
    assert!(ins.enrolment.identity.profession.is_none());
}

#[tokio::test]
async fn wrong_unknown_and_malformed_codes_are_refused() {
    let h = Harness::start().await;
    let code = h
        .admin()
        .add_practitioner("10101010101", "Jeanne", "Martin", "10")
        .expect("account");
    // Right lookup, wrong secret: counted.
    let wrong = format!("{}0000-0000", &code[..5]);
    let wrong = if wrong == *code {
        format!("{}1111-1111", &code[..5])
    } else {
        wrong
    };
    let f = expect_err(
        Device::enrol(&h, &wrong).await.map(|_| ()),
        403,
        "invalid_activation_code",
    );
    // Issue 13 item 9: no "N tries left" (it told a live lookup from an unknown one).
    assert_eq!(
        f.body.error_description.as_deref(),
        Some("the activation code is wrong")
    );
    assert!(
        !format!("{f:?}").contains(&code[5..]),
        "the error never echoes the secret"
    );
    // Unknown lookup, too short, and non-base32.
    for bad in ["ZZZZ-ZZZZ-ZZZZ", "ABC", "UUUU-UUUU-UUUU", ""] {
        if bad.starts_with(&code[..4]) {
            continue;
        }
        expect_err(
            Device::enrol(&h, bad).await.map(|_| ()),
            403,
            "invalid_activation_code",
        );
    }
    // The right code still works (4 tries were left).
    Device::enrol(&h, &code).await.expect("enrol");
}

#[tokio::test]
async fn expired_code_is_refused() {
    let h = Harness::start().await;
    let code = h
        .admin()
        .add_practitioner("10101010101", "Jeanne", "Martin", "10")
        .expect("account");
    h.clock.advance(15 * 60);
    expect_err(
        Device::enrol(&h, &code).await.map(|_| ()),
        403,
        "activation_code_expired",
    );
    // A new code works and kills nothing else.
    let fresh = h
        .admin()
        .new_activation_code("10101010101")
        .expect("new code");
    Device::enrol(&h, &fresh).await.expect("enrol");
}

#[tokio::test]
async fn five_wrong_tries_kill_the_code() {
    let h = Harness::start().await;
    let code = h
        .admin()
        .add_practitioner("10101010101", "Jeanne", "Martin", "10")
        .expect("account");
    let lookup = &code[..5];
    let mut wrongs = Vec::new();
    for s in [
        "0000-0000",
        "1111-1111",
        "2222-2222",
        "3333-3333",
        "4444-4444",
        "5555-5555",
    ] {
        let w = format!("{lookup}{s}");
        if w != *code {
            wrongs.push(w);
        }
    }
    // Issue 13 item 9: every wrong try answers alike (no count, no "locked" for a wrong
    // secret); only the right secret learns the code is dead.
    for w in wrongs.iter().take(5) {
        expect_err(
            Device::enrol(&h, w).await.map(|_| ()),
            403,
            "invalid_activation_code",
        );
    }
    // Dead: even the right code is refused now.
    expect_err(
        Device::enrol(&h, &code).await.map(|_| ()),
        403,
        "activation_code_locked",
    );
}

#[tokio::test]
async fn used_code_cannot_be_reused() {
    let h = Harness::start().await;
    let code = h
        .admin()
        .add_practitioner("10101010101", "Jeanne", "Martin", "10")
        .expect("account");
    Device::enrol(&h, &code).await.expect("first");
    expect_err(
        Device::enrol(&h, &code).await.map(|_| ()),
        403,
        "activation_code_used",
    );
}

#[tokio::test]
async fn bad_proofs_are_refused_without_spending_the_code() {
    let h = Harness::start().await;
    let code = h
        .admin()
        .add_practitioner("10101010101", "Jeanne", "Martin", "10")
        .expect("account");
    let key = SigningKey::make().expect("key");
    let other = SigningKey::make().expect("key");
    let base = h.server.base_url().to_owned();

    // Signed by another key than the one enrolled.
    let nonce = h.nonce().await;
    let p = proof(&other, &nonce, &base, h.now());
    expect_err(enrol_raw(&h, &key, &code, &p).await, 400, "invalid_proof");
    // Wrong audience.
    let nonce = h.nonce().await;
    let p = proof(&key, &nonce, "https://evil.example", h.now());
    expect_err(enrol_raw(&h, &key, &code, &p).await, 400, "invalid_proof");
    // Stale iat.
    let nonce = h.nonce().await;
    let p = proof(&key, &nonce, &base, h.now() - 3600);
    expect_err(enrol_raw(&h, &key, &code, &p).await, 400, "invalid_proof");
    // Wrong typ.
    let nonce = h.nonce().await;
    let claims = vistalid_core::protocol::EnrolProofClaims {
        nonce,
        aud: base.clone(),
        iat: h.now(),
    };
    let p = jws::sign_json(&key, "JWT", &claims).expect("sign");
    expect_err(enrol_raw(&h, &key, &code, &p).await, 400, "invalid_proof");
    // Not a JWS at all.
    expect_err(
        enrol_raw(&h, &key, &code, "a.b").await,
        400,
        "invalid_proof",
    );
    // Unknown nonce.
    let p = proof(&key, "never-issued", &base, h.now());
    expect_err(enrol_raw(&h, &key, &code, &p).await, 400, "invalid_nonce");
    // Expired nonce.
    let nonce = h.nonce().await;
    h.clock.advance(121);
    let p = proof(&key, &nonce, &base, h.now());
    expect_err(enrol_raw(&h, &key, &code, &p).await, 400, "invalid_nonce");
    // A nonce works once: the failed try above spent it... use a fresh one twice.
    let nonce = h.nonce().await;
    let p = proof(&key, &nonce, &base, h.now());
    enrol_raw(&h, &key, &code, &p).await.expect("enrol");
    let code2 = h.admin().new_activation_code("10101010101").expect("code");
    expect_err(enrol_raw(&h, &key, &code2, &p).await, 400, "invalid_nonce");
}

#[tokio::test]
async fn malformed_enrolment_bodies_get_json_errors() {
    let h = Harness::start().await;
    let post = |body: &'static str, ct: &'static str| {
        h.http
            .post(h.url(PATH_ENROL))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = post("{not json", "application/json").await.expect("send");
    expect_err(common::read::<Value>(r).await, 400, "invalid_request");
    let r = post(r#"{"activation_code":"x"}"#, "application/json")
        .await
        .expect("send");
    expect_err(common::read::<Value>(r).await, 400, "invalid_request");
    let r = post("{}", "text/plain").await.expect("send");
    expect_err(common::read::<Value>(r).await, 415, "invalid_request");
    // A JWK off the curve.
    let key = SigningKey::make().expect("key");
    let mut jwk = key.public_key().to_jwk();
    jwk.y = jwk.x.clone();
    let body = serde_json::json!({
        "activation_code": "AAAA-AAAA-AAAA", "public_key": jwk, "proof": "a.b.c",
        "device_name": "x"
    });
    let r = h
        .http
        .post(h.url(PATH_ENROL))
        .json(&body)
        .send()
        .await
        .expect("send");
    expect_err(common::read::<Value>(r).await, 400, "invalid_request");
    // Oversized.
    let big = format!(r#"{{"activation_code":"{}"}}"#, "A".repeat(100_000));
    let r = h
        .http
        .post(h.url(PATH_ENROL))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    expect_err(common::read::<Value>(r).await, 413, "request_too_large");
    // Unknown path and wrong method.
    let r = h.http.get(h.url("/nope")).send().await.expect("send");
    expect_err(common::read::<Value>(r).await, 404, "not_found");
    let r = h.http.get(h.url(PATH_ENROL)).send().await.expect("send");
    expect_err(common::read::<Value>(r).await, 405, "method_not_allowed");
}

#[tokio::test]
async fn admin_refuses_bad_input_and_duplicates() {
    let h = Harness::start().await;
    let a = h.admin();
    assert!(a.add_practitioner("12ab", "J", "M", "10").is_err());
    assert!(a.add_practitioner("1", "", "M", "10").is_err());
    a.add_practitioner("1", "J", "M", "10").expect("ok");
    assert!(matches!(
        a.add_practitioner("1", "J", "M", "10"),
        Err(vistalid_server::ServerError::DuplicateAccount)
    ));
    assert!(a.new_activation_code("404").is_err());
    assert!(a.revoke_device("nope").is_err());
    // A second code kills the first unused one.
    let first = a.new_activation_code("1").expect("code");
    let second = a.new_activation_code("1").expect("code");
    expect_err(
        Device::enrol(&h, &first).await.map(|_| ()),
        403,
        "activation_code_locked",
    );
    Device::enrol(&h, &second).await.expect("enrol");
}

#[tokio::test]
async fn garbage_never_gets_a_server_error() {
    use vistalid_core::protocol::{PATH_CHALLENGES, PATH_ENROL_NONCE};
    let h = Harness::start().await;
    let (id, secret) = h
        .admin()
        .add_client("rp", vistalid_core::protocol::CodeMode::Pick)
        .expect("client");
    let deep = "[".repeat(5000);
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{\"answer\": 5}".to_vec(),
        b"{\"answer\": \"a.b.c\"}".to_vec(),
        b"{\"answer\": \"eyJhbGciOiJFUzI1NiJ9.eyJ9.AAAA\"}".to_vec(),
        deep.into_bytes(),
        vec![0xff, 0xfe, 0x00, 0x80],
        b"grant_type=%ZZ&auth_req_id=\x01".to_vec(),
        b"scope=openid&login_hint=%00%01".to_vec(),
    ];
    let posts = [
        PATH_ENROL.to_owned(),
        PATH_ENROL_NONCE.to_owned(),
        PATH_CIBA.to_owned(),
        PATH_TOKEN.to_owned(),
        "/device/challenges/x/answer".to_owned(),
        "/device/challenges/%FF%00/answer".to_owned(),
    ];
    for path in &posts {
        for body in &bodies {
            for ct in [
                "application/json",
                "application/x-www-form-urlencoded",
                "text/plain",
            ] {
                let r = h
                    .http
                    .post(h.url(path))
                    .basic_auth(&id, Some(secret.as_str()))
                    .header("content-type", ct)
                    .body(body.clone())
                    .send()
                    .await
                    .expect("send");
                let status = r.status();
                assert!(
                    status.is_success() || status.is_client_error(),
                    "{path} {ct} {status}"
                );
                if !status.is_success() {
                    common::read::<Value>(r).await.expect_err("ErrorBody");
                }
            }
        }
    }
    for q in [
        "?wait=-1",
        "?wait=99999999999999999999",
        "?wait=1&wait=2",
        "?%zz",
    ] {
        let r = h
            .http
            .get(format!("{}{q}", h.url(PATH_CHALLENGES)))
            .bearer_auth("x")
            .send()
            .await
            .expect("send");
        assert!(r.status().is_client_error(), "{q}");
        common::read::<Value>(r).await.expect_err("ErrorBody");
    }
}

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
    enrol_raw(&h, &key, &code, &p).await.expect("enrol at the skew edge");
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
                attestation: None,
            };
            let r = h
                .http
                .post(h.url(PATH_ENROL))
                .json(&req)
                .send()
                .await
                .expect("send");
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
    assert!(text.contains("invalid_request") && !text.contains(MARK), "{text}");
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
            attestation: None,
        };
        let r = h
            .http
            .post(h.url(PATH_ENROL))
            .json(&req)
            .send()
            .await
            .expect("send");
        expect_err(common::read::<Value>(r).await, 400, "invalid_request");
    }
    Device::enrol(&h, &code).await.expect("a plain name still enrols");
}

/// Issue 13 item 8: names typed by the admin refuse format and separator characters.
#[tokio::test]
async fn admin_names_refuse_format_and_separator_characters() {
    let h = Harness::start().await;
    let a = h.admin();
    for bad in ["Dossier\u{2028}patient", "Dossier \u{202E}tneitap", "x\u{2066}"] {
        assert!(a
            .add_client(bad, vistalid_core::protocol::CodeMode::Pick)
            .is_err());
        assert!(a.add_practitioner("1", bad, "Martin", "10").is_err());
        assert!(a.add_practitioner("1", "Jeanne", bad, "10").is_err());
        assert!(a.add_insured("ps-1", bad, "Bernard").is_err());
        assert!(a.add_insured(bad, "Léa", "Bernard").is_err());
    }
    a.add_practitioner("1", "Jérôme", "N’Diaye", "10")
        .expect("plain names pass");
}
