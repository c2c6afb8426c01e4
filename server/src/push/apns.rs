// SPDX-License-Identifier: Apache-2.0
//! The APNs provider API sender: HTTP/2 to the production or development host, with a
//! provider token (ES256 JWT, `kid` the key id, `iss` the team id).
//!
//! Guarantees:
//! - The provider token is made once and reused until it is `token_refresh_secs` old
//!   (20 to 55 minutes); it is never replaced sooner than [`APNS_MIN_REFRESH_SECS`] after
//!   the previous one, even when APNs answers `ExpiredProviderToken` (then this push is
//!   retried after the wait, or given up).
//! - Each request carries `apns-topic`, `apns-push-type: alert`, `apns-priority: 10`,
//!   `apns-expiration` (the challenge's expiry) and `apns-collapse-id` (the challenge id);
//!   a payload over 4 KB is never sent.
//! - Answers map onto [`Outcome`]: 200 delivered; 410 `Unregistered` (and 400
//!   `BadDeviceToken`, a token that can never work) unregistered; 429 and 5xx retry,
//!   honouring `Retry-After`; other refusals are permanent. No token or key is logged.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Mutex;
use vistalid_core::clock::Clock;
use zeroize::Zeroizing;

use super::config::{ApnsSettings, APNS_MIN_REFRESH_SECS};
use super::jwt::{pem_pkcs8, Es256};
use super::payload::{apns_payload, Wake, APNS_MAX_PAYLOAD};
use super::queue::{retry_after, Outcome};

/// Why the APNs sender could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ApnsError {
    /// A file could not be read (names which).
    #[error("APNs {0}: {1:?}")]
    Io(&'static str, std::io::ErrorKind),
    /// The key or a certificate is not of the expected shape.
    #[error("APNs {0}")]
    Shape(String),
    /// The HTTP client could not be built.
    #[error("APNs HTTP client: {0}")]
    Client(String),
}

struct Provider {
    token: Zeroizing<String>,
    issued_at: i64,
}

/// The APNs sender of one team key and app.
pub(crate) struct ApnsSender {
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    signer: Es256,
    key_id: String,
    team_id: String,
    topic: String,
    base_url: String,
    refresh_secs: i64,
    provider: Mutex<Option<Provider>>,
}

impl std::fmt::Debug for ApnsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsSender")
            .field("base_url", &self.base_url)
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl ApnsSender {
    /// Reads the team key (and the extra roots, if any) and builds the HTTP/2 client.
    pub(crate) fn new(
        settings: &ApnsSettings,
        clock: Arc<dyn Clock>,
        timeout: Duration,
    ) -> Result<Self, ApnsError> {
        let pem = Zeroizing::new(
            std::fs::read_to_string(&settings.key_file)
                .map_err(|e| ApnsError::Io("key file", e.kind()))?,
        );
        let der = pem_pkcs8(&pem, "APNs key file").map_err(|e| ApnsError::Shape(e.to_string()))?;
        let signer = Es256::from_pkcs8(&der, "APNs key file")
            .map_err(|e| ApnsError::Shape(e.to_string()))?;
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .use_rustls_tls()
            .http2_prior_knowledge()
            .http2_keep_alive_interval(Duration::from_secs(600))
            .pool_idle_timeout(None);
        if let Some(path) = &settings.extra_roots_pem {
            let pem = std::fs::read(path).map_err(|e| ApnsError::Io("extra roots", e.kind()))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|_| ApnsError::Shape("extra roots: not PEM certificates".into()))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| ApnsError::Client(e.to_string()))?;
        Ok(Self {
            http,
            clock,
            signer,
            key_id: settings.key_id.clone(),
            team_id: settings.team_id.clone(),
            topic: settings.topic.clone(),
            base_url: settings.base_url(),
            refresh_secs: i64::try_from(settings.token_refresh_secs).unwrap_or(2400),
            provider: Mutex::new(None),
        })
    }

    /// The provider token: the current one until it is `refresh_secs` old (or, when
    /// `expired` says APNs refused it, until it is [`APNS_MIN_REFRESH_SECS`] old); `None`
    /// when a refused token is too young to be replaced.
    async fn provider_token(&self, expired: bool) -> Result<Option<Zeroizing<String>>, Outcome> {
        let mut current = self.provider.lock().await;
        let now = self.clock.now();
        let min = i64::try_from(APNS_MIN_REFRESH_SECS).unwrap_or(1200);
        if let Some(p) = current.as_ref() {
            let age = now.saturating_sub(p.issued_at);
            let keep = if expired {
                age < min
            } else {
                age < self.refresh_secs
            };
            if keep {
                return Ok((!expired).then(|| p.token.clone()));
            }
        }
        let token = self
            .signer
            .sign(
                &json!({ "alg": "ES256", "kid": self.key_id }),
                &json!({ "iss": self.team_id, "iat": now }),
            )
            .map_err(|_| Outcome::Rejected("provider token signing failed"))?;
        let token = Zeroizing::new(token);
        *current = Some(Provider {
            token: token.clone(),
            issued_at: now,
        });
        Ok(Some(token))
    }

    /// Sends one wake-up to device token `token` (hex).
    pub(crate) async fn send(&self, token: &str, w: &Wake) -> Outcome {
        self.send_once(token, w, false).await
    }

    async fn send_once(&self, token: &str, w: &Wake, expired: bool) -> Outcome {
        let payload = apns_payload(w);
        if payload.len() > APNS_MAX_PAYLOAD {
            return Outcome::Rejected("payload over 4 KB");
        }
        let provider = match self.provider_token(expired).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                return Outcome::retry(
                    Some(Duration::from_secs(APNS_MIN_REFRESH_SECS)),
                    "APNs refused a provider token too young to replace",
                )
            }
            Err(o) => return o,
        };
        let resp = match self
            .http
            .post(format!("{}/3/device/{token}", self.base_url))
            .header("authorization", format!("bearer {}", provider.as_str()))
            .header("apns-topic", &self.topic)
            .header("apns-push-type", "alert")
            .header("apns-priority", "10")
            .header("apns-expiration", w.expires_at.max(0).to_string())
            .header("apns-collapse-id", &w.payload.challenge_id)
            .header("content-type", "application/json")
            .body(payload)
            .send()
            .await
        {
            Ok(r) => r,
            Err(_) => return Outcome::retry(None, "APNs unreachable"),
        };
        let status = resp.status().as_u16();
        let after = retry_after(resp.headers());
        let body = resp.bytes().await.unwrap_or_default();
        let reason = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["reason"].as_str().map(str::to_owned))
            .unwrap_or_default();
        match (status, reason.as_str()) {
            (200, _) => Outcome::Delivered,
            (410, _) | (400, "BadDeviceToken") => Outcome::Unregistered,
            (403, "ExpiredProviderToken") if !expired => {
                Box::pin(self.send_once(token, w, true)).await
            }
            (403, "ExpiredProviderToken") => Outcome::retry(
                Some(Duration::from_secs(APNS_MIN_REFRESH_SECS)),
                "APNs refused the new provider token",
            ),
            (429, _) => Outcome::retry(after, "APNs throttled"),
            (s, _) if s >= 500 => Outcome::retry(after, "APNs unavailable"),
            _ => {
                tracing::warn!(status, %reason, "APNs refused the notification");
                Outcome::Rejected("APNs refused the notification")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::config::ApnsEnvironment;
    use base64::Engine as _;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use vistalid_core::clock::ManualClock;

    const T0: i64 = 1_800_000_000;

    fn sender(dir: &std::path::Path, clock: Arc<ManualClock>) -> ApnsSender {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .expect("key");
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref())
        );
        let key_file = dir.join("AuthKey_ABC123DEFG.p8");
        std::fs::write(&key_file, pem).expect("write key");
        let settings = ApnsSettings {
            key_file,
            key_id: "ABC123DEFG".into(),
            team_id: "TEAM123456".into(),
            topic: "fr.example.vistalid".into(),
            environment: ApnsEnvironment::Development,
            endpoint: None,
            extra_roots_pem: None,
            token_refresh_secs: 2400,
        };
        ApnsSender::new(&settings, clock, Duration::from_secs(5)).expect("sender")
    }

    /// The `iat` of a provider token.
    fn iat(token: &str) -> i64 {
        let claims = token.split('.').nth(1).expect("claims");
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .expect("b64");
        serde_json::from_slice::<serde_json::Value>(&claims).expect("json")["iat"]
            .as_i64()
            .expect("iat")
    }

    /// The provider token is reused until `token_refresh_secs` old, then renewed (the injected
    /// clock moves, nothing sleeps); a refused token younger than Apple's 20 minutes is not
    /// replaced (`None`: the push waits), an older one is.
    #[tokio::test]
    async fn the_provider_token_is_reused_within_its_window_and_never_renewed_too_fast() {
        let dir = tempfile::tempdir().expect("dir");
        let clock = Arc::new(ManualClock::new(T0));
        let s = sender(dir.path(), Arc::clone(&clock));
        let first = s.provider_token(false).await.expect("ok").expect("token");
        assert_eq!(iat(&first), T0);
        clock.set(T0 + 2399);
        let same = s.provider_token(false).await.expect("ok").expect("token");
        assert_eq!(same.as_str(), first.as_str(), "reused inside the window");
        // APNs said ExpiredProviderToken, but the token is under 20 minutes old: keep it.
        clock.set(T0 + 1199);
        assert!(s.provider_token(true).await.expect("ok").is_none());
        assert_eq!(
            s.provider_token(false)
                .await
                .expect("ok")
                .expect("token")
                .as_str(),
            first.as_str(),
            "a refusal of a young token changed nothing"
        );
        clock.set(T0 + 2400);
        let renewed = s.provider_token(false).await.expect("ok").expect("token");
        assert_eq!(iat(&renewed), T0 + 2400, "renewed once the window passed");
        // A refusal of the renewed token 20 minutes later replaces it; sooner, not.
        clock.set(T0 + 2400 + 1199);
        assert!(s.provider_token(true).await.expect("ok").is_none());
        clock.set(T0 + 2400 + 1200);
        let again = s.provider_token(true).await.expect("ok").expect("token");
        assert_eq!(iat(&again), T0 + 3600);
    }
}
