// SPDX-License-Identifier: Apache-2.0
//! The FCM stand-in: Google's OAuth 2.0 token endpoint (RFC 7523 JWT bearer, RS256) and the
//! FCM HTTP v1 send endpoint, on loopback, checking what Google documents and recording
//! every deviation.

use std::sync::{Arc, OnceLock};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use rsa::pkcs1::EncodeRsaPublicKey as _;
use rsa::pkcs8::EncodePrivateKey as _;
use serde_json::{json, Value};

use super::{split_jws, string_pairs, Log, Received, Reply, SharedLog};

pub const PROJECT: &str = "vistalid-test";
pub const CLIENT_EMAIL: &str = "push@vistalid-test.iam.gserviceaccount.com";
pub const KEY_ID: &str = "0123456789abcdef";
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// Lifetime of the access tokens the token endpoint issues (`expires_in`, as Google's).
pub const ACCESS_TOKEN_SECS: i64 = 3599;

/// The test's service-account key: (PKCS#8 PEM, PKCS#1 public DER), made once per binary
/// (RSA key generation is slow without optimisation).
fn key() -> &'static (String, Vec<u8>) {
    static KEY: OnceLock<(String, Vec<u8>)> = OnceLock::new();
    KEY.get_or_init(|| {
        let k = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let pem = k
            .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
            .to_string();
        let public = k
            .to_public_key()
            .to_pkcs1_der()
            .unwrap()
            .as_bytes()
            .to_vec();
        (pem, public)
    })
}

#[derive(Clone)]
struct St {
    log: SharedLog,
    token_uri: String,
}

/// A running stand-in.
pub struct StandIn {
    pub log: SharedLog,
    pub base: String,
    pub key_file: std::path::PathBuf,
}

impl StandIn {
    /// Starts the stand-in and writes the service-account key file into `dir`.
    pub async fn start(dir: &std::path::Path) -> StandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let token_uri = format!("{base}/token");
        let log: SharedLog = Arc::new(Log::default());
        let app = Router::new()
            .route("/token", post(token))
            .route("/v1/projects/{project}/{action}", post(send))
            .with_state(St {
                log: Arc::clone(&log),
                token_uri: token_uri.clone(),
            });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let key_file = dir.join("service-account.json");
        let file = json!({
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": KEY_ID,
            "private_key": key().0,
            "client_email": CLIENT_EMAIL,
            "client_id": "1",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
        });
        std::fs::write(&key_file, file.to_string()).unwrap();
        StandIn {
            log,
            base,
            key_file,
        }
    }

    /// The delivery settings pointing at this stand-in.
    pub fn settings(&self) -> vistalid_server::FcmSettings {
        let mut s = vistalid_server::FcmSettings::new(&self.key_file);
        s.endpoint = self.base.clone();
        s
    }
}

async fn token(State(st): State<St>, Form(form): Form<Vec<(String, String)>>) -> Response {
    let log = &st.log;
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("grant_type").as_deref() != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        log.violation("token: grant_type");
        return (StatusCode::BAD_REQUEST, "grant_type").into_response();
    }
    let Some((header, claims, input, sig)) = get("assertion").as_deref().and_then(split_jws) else {
        log.violation("token: assertion is not a compact JWS");
        return (StatusCode::BAD_REQUEST, "assertion").into_response();
    };
    let verified = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &key().1)
        .verify(input.as_bytes(), &sig)
        .is_ok();
    let t = log.now();
    let checks = [
        (verified, "RS256 signature under the service-account key"),
        (header["alg"] == "RS256", "alg RS256"),
        (header["kid"] == KEY_ID, "kid = private_key_id"),
        (claims["iss"] == CLIENT_EMAIL, "iss = client_email"),
        (claims["aud"] == st.token_uri.as_str(), "aud = token_uri"),
        (claims["scope"] == SCOPE, "scope firebase.messaging"),
        (
            claims["iat"]
                .as_i64()
                .is_some_and(|i| (t - 60..=t + 5).contains(&i)),
            "iat now",
        ),
        (
            claims["exp"]
                .as_i64()
                .zip(claims["iat"].as_i64())
                .is_some_and(|(e, i)| e > t && e - i <= 3600),
            "exp after now, at most an hour after iat",
        ),
    ];
    for (ok, what) in checks {
        if !ok {
            log.violation(format!("token: {what}"));
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "invalid_grant"})),
            )
                .into_response();
        }
    }
    let issued = format!("ya29.test-{}", log.credentials.lock().unwrap().len() + 1);
    log.new_credential(issued.clone());
    Json(json!({ "access_token": issued, "expires_in": ACCESS_TOKEN_SECS, "token_type": "Bearer" }))
        .into_response()
}

fn fcm_error(status: StatusCode, code: &str, fcm: &str) -> Response {
    (
        status,
        Json(json!({ "error": {
            "code": status.as_u16(), "message": "stand-in", "status": code,
            "details": [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                          "errorCode": fcm }]
        }})),
    )
        .into_response()
}

async fn send(
    State(st): State<St>,
    Path((project, action)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let log = &st.log;
    if project != PROJECT || action != "messages:send" {
        log.violation(format!("send: path {project}/{action}"));
        return StatusCode::NOT_FOUND.into_response();
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    // Issued by the token endpoint, and not past its `expires_in`.
    let issued_at = bearer.as_ref().and_then(|b| {
        let i = log
            .credentials
            .lock()
            .unwrap()
            .iter()
            .position(|c| c == b)?;
        log.credential_times.lock().unwrap().get(i).copied()
    });
    if issued_at.is_some_and(|at| log.now() >= at + ACCESS_TOKEN_SECS) {
        log.violation("send: an access token used after its expiry");
        return fcm_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "THIRD_PARTY_AUTH_ERROR",
        );
    }
    if issued_at.is_none() {
        log.violation("send: bearer is not an issued access token");
        return fcm_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "THIRD_PARTY_AUTH_ERROR",
        );
    }
    let m = &body["message"];
    let android = &m["android"];
    let top: Vec<&str> = body
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let keys: Vec<&str> = m
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let ttl_ok = android["ttl"]
        .as_str()
        .and_then(|t| t.strip_suffix('s'))
        .and_then(|t| t.parse::<u64>().ok())
        .is_some_and(|t| (1..=600).contains(&t));
    let data_ok = m["data"]
        .as_object()
        .is_some_and(|d| d.values().all(Value::is_string));
    let checks = [
        (top == ["message"], "body is {message}"),
        (
            keys.iter()
                .all(|k| ["token", "data", "android"].contains(k)),
            "message keys",
        ),
        (
            m["token"].as_str().is_some_and(|t| !t.is_empty()),
            "message.token",
        ),
        (data_ok, "data values are strings"),
        (android["priority"] == "high", "android.priority high"),
        (ttl_ok, "android.ttl as seconds within the challenge's life"),
    ];
    for (ok, what) in checks {
        if !ok {
            log.violation(format!("send: {what}"));
            return fcm_error(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                "INVALID_ARGUMENT",
            );
        }
    }
    log.received.lock().unwrap().push(Received {
        at: std::time::Instant::now(),
        token: m["token"].as_str().unwrap_or_default().to_owned(),
        data: string_pairs(&m["data"], &[]),
        body: body.to_string(),
    });
    match log.next_reply() {
        Reply::Ok => {
            Json(json!({ "name": format!("projects/{PROJECT}/messages/1") })).into_response()
        }
        Reply::Slow(d) => {
            tokio::time::sleep(d).await;
            Json(json!({ "name": format!("projects/{PROJECT}/messages/2") })).into_response()
        }
        Reply::Bad => fcm_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "INVALID_ARGUMENT",
        ),
        Reply::Unregistered => fcm_error(StatusCode::NOT_FOUND, "NOT_FOUND", "UNREGISTERED"),
        Reply::TooMany(secs) => {
            let mut r = fcm_error(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "QUOTA_EXCEEDED",
            );
            r.headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
            r
        }
        Reply::Unavailable | Reply::ExpiredProviderToken => fcm_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "UNAVAILABLE",
        ),
    }
}
