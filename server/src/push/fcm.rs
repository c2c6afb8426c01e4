// SPDX-License-Identifier: Apache-2.0
//! The FCM HTTP v1 sender: an OAuth 2.0 access token obtained with a signed JWT assertion
//! (RFC 7523, RS256, to the key file's `token_uri`), cached until shortly before it expires,
//! and `POST {endpoint}/v1/projects/{project}/messages:send`.
//!
//! Guarantees:
//! - One access token is fetched at a time and reused by every push until
//!   [`TOKEN_MARGIN_SECS`] before its expiry; a 401 from FCM drops it (the next try fetches
//!   a new one).
//! - Answers map onto [`Outcome`]: 200 delivered; 404, or an `UNREGISTERED` error code,
//!   unregistered (the token is removed by the queue); 429 and 5xx retry, honouring
//!   `Retry-After`; any other status is a permanent refusal. No token, key or message body
//!   is logged.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;
use vistalid_core::clock::Clock;
use zeroize::Zeroizing;

use super::config::{acceptable_url, FcmSettings};
use super::jwt::{pem_pkcs8, Rs256};
use super::payload::{fcm_message, Wake};
use super::queue::{retry_after, Outcome};

/// The OAuth scope FCM's send endpoint needs.
pub(crate) const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// The assertion's grant type (RFC 7523 §2.1).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// An access token is replaced this long before its expiry, in seconds.
pub(crate) const TOKEN_MARGIN_SECS: i64 = 60;
/// Lifetime asked for the assertion (Google's maximum), in seconds.
const ASSERTION_SECS: i64 = 3600;

/// Why the FCM sender could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum FcmError {
    /// The key file could not be read.
    #[error("FCM service account file: {0}")]
    Io(std::io::ErrorKind),
    /// The key file is not a service-account key (names the field).
    #[error("FCM service account file: {0}")]
    Shape(String),
    /// The HTTP client could not be built.
    #[error("FCM HTTP client: {0}")]
    Client(String),
}

fn zeroizing<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Zeroizing<String>, D::Error> {
    String::deserialize(d).map(Zeroizing::new)
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: String,
    project_id: String,
    private_key_id: String,
    #[serde(deserialize_with = "zeroizing")]
    private_key: Zeroizing<String>,
    client_email: String,
    token_uri: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(deserialize_with = "zeroizing")]
    access_token: Zeroizing<String>,
    expires_in: i64,
}

struct Cached {
    token: Zeroizing<String>,
    expires_at: i64,
}

/// The FCM sender of one service account.
pub(crate) struct FcmSender {
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    signer: Rs256,
    key_id: String,
    client_email: String,
    token_uri: String,
    send_url: String,
    cached: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for FcmSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmSender")
            .field("send_url", &self.send_url)
            .finish_non_exhaustive()
    }
}

impl FcmSender {
    /// Reads the service account's key file and builds the sender.
    pub(crate) fn new(
        settings: &FcmSettings,
        clock: Arc<dyn Clock>,
        timeout: Duration,
    ) -> Result<Self, FcmError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(Path::new(&settings.service_account_file))
                .map_err(|e| FcmError::Io(e.kind()))?,
        );
        let key: KeyFile = serde_json::from_str(&text).map_err(|e| {
            FcmError::Shape(format!("not a service-account key ({:?})", e.classify()))
        })?;
        if key.kind != "service_account" {
            return Err(FcmError::Shape("type must be service_account".into()));
        }
        if !acceptable_url(&key.token_uri) {
            return Err(FcmError::Shape("token_uri must be https".into()));
        }
        let project_ok = !key.project_id.is_empty()
            && key
                .project_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !project_ok {
            return Err(FcmError::Shape("project_id is not a project id".into()));
        }
        let der = pem_pkcs8(&key.private_key, "FCM private_key")
            .map_err(|e| FcmError::Shape(e.to_string()))?;
        let signer = Rs256::from_pkcs8(&der, "FCM private_key")
            .map_err(|e| FcmError::Shape(e.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .use_rustls_tls()
            .build()
            .map_err(|e| FcmError::Client(e.to_string()))?;
        Ok(Self {
            http,
            clock,
            signer,
            key_id: key.private_key_id,
            client_email: key.client_email,
            token_uri: key.token_uri,
            send_url: format!(
                "{}/v1/projects/{}/messages:send",
                settings.endpoint.trim_end_matches('/'),
                key.project_id
            ),
            cached: Mutex::new(None),
        })
    }

    /// A live access token: the cached one, or a new one from `token_uri`.
    async fn access_token(&self) -> Result<Zeroizing<String>, Outcome> {
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        if let Some(c) = cached.as_ref() {
            if now < c.expires_at.saturating_sub(TOKEN_MARGIN_SECS) {
                return Ok(c.token.clone());
            }
        }
        let assertion = self
            .signer
            .sign(
                &json!({ "alg": "RS256", "typ": "JWT", "kid": self.key_id }),
                &json!({
                    "iss": self.client_email,
                    "scope": FCM_SCOPE,
                    "aud": self.token_uri,
                    "iat": now,
                    "exp": now.saturating_add(ASSERTION_SECS),
                }),
            )
            .map_err(|_| Outcome::Rejected("assertion signing failed"))?;
        let resp = self
            .http
            .post(&self.token_uri)
            .form(&[
                ("grant_type", JWT_BEARER),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|_| Outcome::retry(None, "OAuth token endpoint unreachable"))?;
        let status = resp.status().as_u16();
        if status == 429 || status >= 500 {
            return Err(Outcome::retry(
                retry_after(resp.headers()),
                "OAuth token endpoint busy",
            ));
        }
        if status != 200 {
            tracing::warn!(
                status,
                "FCM: the OAuth token endpoint refused the assertion"
            );
            return Err(Outcome::Rejected("OAuth assertion refused"));
        }
        let answer: TokenAnswer = resp
            .json()
            .await
            .map_err(|_| Outcome::retry(None, "OAuth token answer malformed"))?;
        if answer.expires_in <= TOKEN_MARGIN_SECS {
            return Err(Outcome::Rejected("OAuth token lifetime too short"));
        }
        *cached = Some(Cached {
            token: answer.access_token.clone(),
            expires_at: now.saturating_add(answer.expires_in),
        });
        Ok(answer.access_token)
    }

    /// Sends one wake-up to `token`.
    pub(crate) async fn send(&self, token: &str, w: &Wake) -> Outcome {
        let bearer = match self.access_token().await {
            Ok(t) => t,
            Err(o) => return o,
        };
        let ttl = w.expires_at.saturating_sub(self.clock.now());
        let resp = match self
            .http
            .post(&self.send_url)
            .bearer_auth(bearer.as_str())
            .json(&fcm_message(token, w, ttl))
            .send()
            .await
        {
            Ok(r) => r,
            Err(_) => return Outcome::retry(None, "FCM unreachable"),
        };
        let status = resp.status().as_u16();
        let after = retry_after(resp.headers());
        let body = resp.bytes().await.unwrap_or_default();
        let error_code = error_code(&body);
        match status {
            200 => Outcome::Delivered,
            404 => Outcome::Unregistered,
            _ if error_code.as_deref() == Some("UNREGISTERED") => Outcome::Unregistered,
            401 => {
                // The access token was refused: forget it, the retry fetches another.
                *self.cached.lock().await = None;
                Outcome::retry(None, "FCM refused the access token")
            }
            429 => Outcome::retry(after, "FCM quota exceeded"),
            s if s >= 500 => Outcome::retry(after, "FCM unavailable"),
            _ => Outcome::Rejected("FCM refused the message"),
        }
    }
}

/// The `errorCode` of an FCM error's `google.firebase.fcm.v1.FcmError` detail, if any.
fn error_code(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v["error"]["details"]
        .as_array()?
        .iter()
        .find_map(|d| d["errorCode"].as_str().map(str::to_owned))
}
