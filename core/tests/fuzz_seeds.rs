// SPDX-License-Identifier: Apache-2.0
//! Seed corpora of the fuzz targets (`fuzz/corpus/<target>/`), made from real messages
//! produced by this crate: signed challenges and tokens, protocol JSON, JWK/COSE keys, vault
//! files, relying-party forms for the server target, and QR credentials and presentations.
//!
//! `UPDATE_FUZZ_SEEDS=1 cargo test -p vistalid-core --test fuzz_seeds` rewrites them.
//! Without it, the test checks that each target has seeds and that the signed seeds still
//! verify with the fixed seed key (`fuzz/seed-key.pkcs8.hex`), so a format change that makes
//! them stale fails here.
//!
//! Each seed's first byte is the target's selector (see each target's docs).

mod vault_common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vistalid_core::challenge::verify_challenge;
use vistalid_core::jws;
use vistalid_core::keys::SigningKey;
use vistalid_core::keystore::{MemoryKeystore, PlatformKeystore};
use vistalid_core::protocol::*;
use vistalid_core::qr::{self, CredentialClaims, PresentationSource};
use vistalid_core::vault::{Argon2Params, VaultConfig};

const NOW: i64 = 1_800_000_000;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn seed_key() -> SigningKey {
    let hex_text =
        std::fs::read_to_string(fuzz_dir().join("seed-key.pkcs8.hex")).expect("seed key file");
    SigningKey::from_pkcs8(&hex::decode(hex_text.trim()).expect("hex")).expect("pkcs8")
}

fn with_sel(sel: u8, bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![sel];
    v.extend_from_slice(bytes);
    v
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("serialise")
}

fn claims() -> ChallengeClaims {
    ChallengeClaims {
        id: "ch-1".into(),
        account_id: "acc".into(),
        device_id: "dev".into(),
        service: "Dossier patient".into(),
        binding_message: "Connexion à DMP".into(),
        context: RequestContext {
            ip: Some("192.0.2.7".into()),
            user_agent: Some("Firefox".into()),
            place: Some("Lyon, FR".into()),
        },
        mode: CodeMode::Pick,
        candidates: vec!["42".into(), "17".into(), "93".into()],
        iat: NOW - 10,
        exp: NOW + 110,
        scan: None,
    }
}

/// All seeds, by target name.
fn seeds() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let key = seed_key();
    let public = key.public_key();
    let c = claims();
    let token = jws::sign_json(&key, TYP_CHALLENGE, &c).expect("sign");
    let mut typed = claims();
    typed.mode = CodeMode::Type;
    typed.candidates.clear();

    // Selector 0x50: raw token, recipient acc/dev, now = NOW; 0x51: claims signed by the target.
    let challenge = vec![
        with_sel(0x50, token.as_bytes()),
        with_sel(0x51, &json(&c)),
        with_sel(0x51, &json(&typed)),
    ];

    let answer = AnswerClaims {
        challenge_id: "ch-1".into(),
        device_id: "dev".into(),
        decision: Decision::Approve,
        code: Some("42".into()),
        iat: NOW,
        scan_mac: None,
    };
    let device_key = SigningKey::make().expect("key");
    let answer_token = jws::sign_json(&device_key, TYP_ANSWER, &answer).expect("sign");
    let jwt = jws::sign(&key, "JWT", br#"{"sub":"x"}"#).expect("sign");
    let jws_seeds = vec![
        with_sel(0, token.as_bytes()),
        with_sel(1, jwt.as_bytes()),
        with_sel(0, answer_token.as_bytes()),
        with_sel(0xff, &json(&c)),
    ];

    let jwk = public.to_jwk();
    let identity = Identity {
        subject_name_id: "10101010101".into(),
        given_name: "Jeanne".into(),
        family_name: "Martin".into(),
        profession: Some("10".into()),
    };
    let enrol_req = EnrolRequest {
        activation_code: "ABCD-EFGH-JKMN".into(),
        public_key: device_key.public_key().to_jwk(),
        proof: jws::sign_json(
            &device_key,
            TYP_ENROL_PROOF,
            &EnrolProofClaims {
                nonce: "bm9uY2U".into(),
                aud: "http://127.0.0.1:8080".into(),
                iat: NOW,
            },
        )
        .expect("sign"),
        device_name: "Pixel".into(),
        device_attestation: None,
        key_storage: None,
        pin_guard: None,
    };
    let enrol_resp = EnrolResponse {
        account_id: "acc".into(),
        device_id: "dev".into(),
        kind: AccountKind::Practitioner,
        identity: identity.clone(),
        server_key: jwk.clone(),
        issuer_key: Some(jwk.clone()),
        poll_token: "cG9sbA".into(),
        credential: None,
        oprf: None,
        login_id: None,
        offline_otp: None,
    };
    let protocol = vec![
        with_sel(0, br#"{"nonce":"bm9uY2U","expires_in":120}"#),
        with_sel(3, &json(&enrol_req)),
        with_sel(5, &json(&enrol_resp)),
        with_sel(8, &json(&c)),
        with_sel(
            9,
            &json(&ChallengesResponse {
                challenges: vec![token.clone()],
            }),
        ),
        with_sel(11, &json(&answer)),
        with_sel(
            14,
            br#"{"auth_req_id":"r1","expires_in":120,"interval":5,"dynamic_code":"42"}"#,
        ),
        with_sel(15, br#"{"error":"slow_down","error_description":"later"}"#),
    ];

    let keys = vec![
        with_sel(0, &json(&jwk)),
        with_sel(1, &public.to_cose_key()),
        with_sel(2, public.as_sec1()),
    ];

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vault");
    let ks: Arc<dyn PlatformKeystore> = Arc::new(MemoryKeystore::new());
    let config = VaultConfig {
        argon2: Argon2Params::insecure_fast_for_tests(),
        backoff: false,
        ..VaultConfig::default()
    };
    let (vault, _guard) =
        vault_common::create(dir.path(), &path, ks, config, "482613").expect("create");
    vault.set_device_state(b"device state").expect("device");
    let mut vault_seeds = Vec::new();
    for (i, name) in ["vault.hdr", "counter.bin", "device.bin", "secrets.1.bin"]
        .iter()
        .enumerate()
    {
        let bytes = std::fs::read(path.join(name)).expect("vault file");
        let i = u8::try_from(i).expect("small");
        vault_seeds.push(with_sel(i, &bytes));
        vault_seeds.push(with_sel(0x80 | i, &bytes));
    }

    // The server target's selectors: 0 CIBA form (valid Basic), 1 token form (valid Basic),
    // 2/3 CIBA/token with the first line as Authorization, 4 enrol JSON, 5 answer (first line
    // the id), 6 long-poll (first line the bearer token, rest the query), 7 nonce, 8 any path.
    let server = vec![
        with_sel(
            0,
            b"scope=openid&login_hint=10101010101&binding_message=Connexion&vistalid_ip=192.0.2.7",
        ),
        with_sel(
            1,
            b"grant_type=urn%3Aopenid%3Aparams%3Agrant-type%3Aciba&auth_req_id=abc",
        ),
        with_sel(2, b"Basic cnA6c2VjcmV0\nscope=openid&login_hint=1"),
        with_sel(4, &json(&enrol_req)),
        with_sel(
            5,
            format!(
                "ch-1\n{}",
                String::from_utf8(json(&AnswerRequest {
                    answer: answer_token.clone(),
                    hardware_signature: None,
                }))
                .expect("utf8")
            )
            .as_bytes(),
        ),
        with_sel(6, b"cG9sbA\nwait=0"),
        with_sel(7, b""),
        with_sel(8, b".well-known/openid-configuration\n\x00"),
    ];
    // The token endpoint's grants (fuzz/fuzz_targets/token_request.rs): the selector's low two
    // bits pick the form's shape, the next two the client authentication.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let token_request = vec![
        with_sel(
            0,
            format!("c0dE\nhttp://127.0.0.1:9/callback\n{verifier}").as_bytes(),
        ),
        with_sel(4 + 1, b"r3fr3sh\nopenid"),
        with_sel(
            8 + 2,
            b"authorization_code\ncode\nx\ncode_verifier\nshort\nredirect_uri\n\nscope\nopenid",
        ),
        with_sel(
            12 + 3,
            b"grant_type=refresh_token&refresh_token=a&refresh_token=b",
        ),
    ];

    // QR: the seed key is both the trusted issuer and the device key; NOW is the fuzz clock.
    let claims = CredentialClaims {
        issuer: "https://vl.example".into(),
        subject: "ins-7f3a".into(),
        given_name: "Camille".into(),
        family_name: "Durand".into(),
        credential_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
        issued_at: NOW - 3600,
        expires_at: NOW + 86_400,
    };
    let cred = qr::credential::issue(&key, &claims, &public).expect("credential");
    let offline = qr::present(&key, PresentationSource::Offline(&cred), NOW, 120, None)
        .expect("offline presentation");
    let online = qr::present(
        &key,
        PresentationSource::Online(&claims.credential_id),
        NOW,
        120,
        Some("rp"),
    )
    .expect("online presentation");
    let offline_cose = qr::presentation::decode_text(&offline, qr::PREFIX).expect("decode");
    let qr_text = vec![
        with_sel(0, offline.as_bytes()),
        with_sel(1, online.as_bytes()),
        with_sel(2, offline.as_bytes()),
        with_sel(3, offline.trim_start_matches(qr::PREFIX).as_bytes()),
        with_sel(4, online.as_bytes()),
    ];
    let cred_payload = qr::cose::Sign1::parse(&cred)
        .expect("parse")
        .payload()
        .to_vec();
    let pres_payload = qr::cose::Sign1::parse(&offline_cose)
        .expect("parse")
        .payload()
        .to_vec();
    let qr_bytes = vec![
        with_sel(
            0,
            &miniz_oxide::deflate::compress_to_vec_zlib(&offline_cose, 6),
        ),
        with_sel(1, &offline_cose),
        with_sel(2, &cred),
        with_sel(3, &offline_cose),
        with_sel(4, &cred_payload),
        with_sel(5, &pres_payload),
        with_sel(6, &claims.credential_id),
    ];

    vec![
        ("qr_text", qr_text),
        ("qr_bytes", qr_bytes),
        ("challenge", challenge),
        ("jws", jws_seeds),
        ("protocol", protocol),
        ("keys", keys),
        ("vault", vault_seeds),
        ("server_http", server),
        ("token_request", token_request),
    ]
}

#[test]
fn fuzz_seeds_are_present_and_real() {
    let corpus = fuzz_dir().join("corpus");
    let update = std::env::var_os("UPDATE_FUZZ_SEEDS").is_some();
    for (target, files) in seeds() {
        let dir = corpus.join(target);
        if update {
            std::fs::create_dir_all(&dir).expect("corpus dir");
            for (i, bytes) in files.iter().enumerate() {
                std::fs::write(dir.join(format!("seed-{i:02}")), bytes).expect("write seed");
            }
        }
        let count = std::fs::read_dir(&dir)
            .unwrap_or_else(|_| panic!("{target}: no corpus; run with UPDATE_FUZZ_SEEDS=1"))
            .count();
        assert!(count >= files.len(), "{target}: missing seeds");
    }
    // The checked-in challenge seed is a real challenge under the fixed seed key.
    let seed = std::fs::read(corpus.join("challenge/seed-00")).expect("challenge seed");
    let token = std::str::from_utf8(&seed[1..]).expect("utf8");
    let public = seed_key().public_key();
    verify_challenge(token, &public, "acc", "dev", &HashSet::new(), NOW)
        .expect("the checked-in challenge seed verifies");
    // And the QR seed is a real offline presentation under it.
    let seed = std::fs::read(corpus.join("qr_text/seed-00")).expect("qr seed");
    let text = std::str::from_utf8(&seed[1..]).expect("utf8");
    let verifier = qr::Verifier::new(
        vec![public],
        std::sync::Arc::new(vistalid_core::clock::ManualClock::new(NOW)),
    );
    assert!(matches!(
        verifier
            .verify(text)
            .expect("the checked-in QR seed verifies"),
        qr::Verified::Offline(_)
    ));
}
