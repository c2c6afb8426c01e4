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
    // The authorization endpoint exists; without a client it shows an error page (it
    // cannot redirect anywhere, RFC 6749 §4.1.2.1).
    let auth = d["authorization_endpoint"].as_str().expect("string");
    let r = h.http.get(auth).send().await.expect("auth");
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .expect("body")
        .contains("data-state=\"error\""));

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
    assert_eq!(
        e.identity.subject_name_id, "810101010101",
        "the national id: 8 + RPPS"
    );
    assert_eq!(e.login_id.as_deref(), Some("810101010101"));
    assert_eq!(e.identity.given_name, "Jeanne");
    assert_eq!(e.identity.profession.as_deref(), Some("10"));
    assert_eq!(e.poll_token.len(), 43, "256-bit token");
    assert!(e.credential.is_none() && e.issuer_key.is_none());
    let pinned = vistalid_core::keys::PublicKey::from_jwk(&e.server_key).expect("key");
    // The challenge key wallets pin is a key of its own, not the JWKS's ID-token key: the two
    // rotate apart (issue 19, docs/key-rotation.md).
    assert_ne!(pinned, h.server_key().await);
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
    assert!(
        a.add_practitioner("1", "J", "M", "10").is_err(),
        "11 digits"
    );
    assert!(a.add_practitioner("10000000001", "", "M", "10").is_err());
    a.add_practitioner("10000000001", "J", "M", "10")
        .expect("ok");
    assert!(matches!(
        a.add_practitioner("10000000001", "J", "M", "10"),
        Err(vistalid_server::ServerError::DuplicateAccount)
    ));
    assert!(a.new_activation_code("404").is_err());
    assert!(a.revoke_device("nope").is_err());
    // A second code kills the first unused one.
    let first = a.new_activation_code("10000000001").expect("code");
    let second = a.new_activation_code("10000000001").expect("code");
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
