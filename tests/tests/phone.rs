// SPDX-License-Identifier: Apache-2.0
//! The testbed's phone control (the browser tests' phone, `src/bin/testbed/phone.rs`), driven
//! through the real `vistalid-testbed` binary: a relying party starts CIBA logins, the phone
//! answers them over its loopback API, and the relying party's token poll shows that each
//! answer reached the server as the wallet signed it.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use vistalid_core::client::ServerClient;
use vistalid_core::clock::SystemClock;
use vistalid_core::qr::{Verified, Verifier};
use vistalid_e2e::RelyingParty;

/// A running `vistalid-testbed --phone 1`; stopped (stdin closed, then killed) on drop.
struct Testbed {
    child: Child,
    fixture: Value,
    _dir: tempfile::TempDir,
}

impl Testbed {
    fn start() -> Testbed {
        let dir = tempfile::tempdir().unwrap();
        let path: PathBuf = dir.path().join("fixture.json");
        let child = Command::new(env!("CARGO_BIN_EXE_vistalid-testbed"))
            .args(["--fixture", path.to_str().unwrap(), "--count", "1"])
            .args(["--phone", "1"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !path.exists() {
            assert!(Instant::now() < deadline, "the testbed wrote no fixture");
            std::thread::sleep(Duration::from_millis(50));
        }
        let fixture = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        Testbed {
            child,
            fixture,
            _dir: dir,
        }
    }

    fn str(&self, key: &str) -> String {
        self.fixture[key].as_str().unwrap().to_owned()
    }

    fn relying_party(&self, client: &str) -> RelyingParty {
        RelyingParty {
            base: self.str("base_url"),
            id: self.fixture[client]["id"].as_str().unwrap().to_owned(),
            secret: self.fixture[client]["secret"].as_str().unwrap().to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// The login of the phone's first account of `kind`.
    fn login(&self, kind: &str) -> String {
        let accounts = self.fixture["phone_accounts"].as_array().unwrap();
        let account = accounts.iter().find(|a| a["kind"] == kind).unwrap();
        account["login"].as_str().unwrap().to_owned()
    }

    /// `POST /phone/{login}/{action}` with `body`: the status and the JSON answer.
    async fn phone(&self, login: &str, action: &str, body: Value) -> (StatusCode, Value) {
        let url = format!("{}/phone/{login}/{action}", self.str("phone_url"));
        let resp = reqwest::Client::new()
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json().await.unwrap())
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn assert_denied(rp: &RelyingParty, auth_req_id: &str) {
    let (status, body) = rp.token(auth_req_id).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("access_denied")),
        "{body}"
    );
}

#[tokio::test]
async fn the_phone_approves_declines_and_picks_wrong_codes_for_ciba_logins() {
    let tb = Testbed::start();
    let rp = tb.relying_party("pick_client");
    let rpps = tb.login("practitioner");
    assert_eq!(tb.str("phone_pin").len(), 6);

    // Pending: the challenge as the phone shows it.
    let ciba = rp.ciba(&rpps, "Connexion au DMP").await;
    let url = format!("{}/phone/{rpps}/pending?wait=5", tb.str("phone_url"));
    let pending: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    let ch = &pending["challenges"][0];
    assert_eq!(ch["service"], "Dossier Médical Partagé");
    assert_eq!(ch["binding_message"], "Connexion au DMP");
    assert_eq!(ch["mode"], "pick");
    let candidates = ch["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 3);
    assert!(candidates.contains(&json!(ciba.dynamic_code)));
    assert_eq!(
        pending["device_name"],
        tb.fixture["phone_accounts"][0]["device_name"]
    );

    // Approve with the code read "on the page": the relying party gets its ID token.
    let (status, out) = tb
        .phone(&rpps, "approve", json!({ "code": ciba.dynamic_code }))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["outcome"], "approved");
    assert_eq!(out["challenge_id"], ch["id"]);
    let (status, body) = rp.token(&ciba.auth_req_id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["id_token"].is_string());

    // Wrong: another candidate, refused by the server.
    let ciba = rp.ciba(&rpps, "Connexion").await;
    let (status, out) = tb
        .phone(&rpps, "wrong", json!({ "code": ciba.dynamic_code }))
        .await;
    assert_eq!(
        (status, &out["error"]),
        (StatusCode::CONFLICT, &json!("wrong_code"))
    );
    assert_ne!(out["code"], json!(ciba.dynamic_code));
    assert_denied(&rp, &ciba.auth_req_id).await;

    // Deny and not-me.
    for (action, outcome) in [("deny", "denied"), ("not-me", "reported")] {
        let ciba = rp.ciba(&rpps, "Connexion").await;
        let (status, out) = tb.phone(&rpps, action, json!({})).await;
        assert_eq!((status, &out["outcome"]), (StatusCode::OK, &json!(outcome)));
        assert_denied(&rp, &ciba.auth_req_id).await;
    }

    // Type mode: the phone types the code.
    let rp = tb.relying_party("type_client");
    let ciba = rp.ciba(&rpps, "Connexion").await;
    let (status, out) = tb
        .phone(&rpps, "approve", json!({ "code": ciba.dynamic_code }))
        .await;
    assert_eq!(
        (status, &out["outcome"]),
        (StatusCode::OK, &json!("approved"))
    );
    assert_eq!(rp.token(&ciba.auth_req_id).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_phone_reports_errors_and_shows_the_insured_qr() {
    let tb = Testbed::start();
    let rp = tb.relying_party("pick_client");
    let rpps = tb.login("practitioner");

    let (status, out) = tb.phone("00000000000", "deny", json!({})).await;
    assert_eq!(
        (status, &out["error"]),
        (StatusCode::NOT_FOUND, &json!("unknown_account"))
    );
    let (status, out) = tb.phone(&rpps, "approve", json!({ "wait": 0 })).await;
    assert_eq!(
        (status, &out["error"]),
        (StatusCode::NOT_FOUND, &json!("no_pending_challenge"))
    );
    let (status, out) = tb.phone(&rpps, "approve", json!({ "cod": "42" })).await;
    assert_eq!(
        (status, &out["error"]),
        (StatusCode::BAD_REQUEST, &json!("bad_request"))
    );
    let (status, out) = tb.phone(&rpps, "sign", json!({})).await;
    assert_eq!(
        (status, &out["error"]),
        (StatusCode::NOT_FOUND, &json!("unknown_action"))
    );

    // A wrong PIN is the wallet's error; nothing reaches the server.
    let ciba = rp.ciba(&rpps, "Connexion").await;
    let (status, out) = tb
        .phone(
            &rpps,
            "approve",
            json!({ "code": ciba.dynamic_code, "pin": "975310" }),
        )
        .await;
    assert_eq!(
        (status, &out["error"]),
        (StatusCode::CONFLICT, &json!("wrong_pin"))
    );
    assert_eq!(out["tries_left"], 4);
    let (_, body) = rp.token(&ciba.auth_req_id).await;
    assert_eq!(body["error"], "authorization_pending");
    // Asked to avoid a code the phone does not offer, the phone refuses: the test misread it.
    let url = format!("{}/phone/{rpps}/pending?wait=0", tb.str("phone_url"));
    let pending: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    let candidates = pending["challenges"][0]["candidates"].as_array().unwrap();
    let absent = (0..100)
        .map(|i| format!("{i:02}"))
        .find(|c| !candidates.contains(&json!(c)))
        .unwrap();
    let (status, out) = tb.phone(&rpps, "wrong", json!({ "code": absent })).await;
    assert_eq!(
        (status, &out["error"]),
        (StatusCode::BAD_REQUEST, &json!("code_not_offered"))
    );
    // And approving it is the wallet's refusal: nothing reaches the server.
    let (status, out) = tb.phone(&rpps, "approve", json!({ "code": absent })).await;
    assert_eq!(
        (status, &out["error"]),
        (StatusCode::CONFLICT, &json!("invalid_code"))
    );
    let (_, body) = rp.token(&ciba.auth_req_id).await;
    assert_eq!(body["error"], "authorization_pending");

    // The insured's QR: a presentation that the verifier accepts, with its PNG.
    let (status, out) = tb.phone(&tb.login("insured"), "qr", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert!(out["png_base64"].as_str().unwrap().len() > 100);
    let client = ServerClient::new(&tb.str("base_url")).unwrap();
    let verifier = Verifier::new(client.issuer_keys().await.unwrap(), Arc::new(SystemClock));
    let verified = verifier.verify(out["text"].as_str().unwrap()).unwrap();
    assert!(matches!(verified, Verified::Offline(_)));
    // A practitioner has no QR.
    let (status, out) = tb.phone(&rpps, "qr", json!({})).await;
    assert_eq!(
        (status, &out["error"]),
        (StatusCode::CONFLICT, &json!("no_credential"))
    );
}
