// SPDX-License-Identifier: Apache-2.0
//! The push delivery's settings (docs/push.md): which providers, their key files, the
//! queue's bounds and the retry policy. With no provider configured the server wakes devices
//! by long-poll only.
//!
//! Guarantees: [`PushDelivery::validate`] refuses settings outside their documented bounds,
//! naming the setting; a provider URL must be `https`, or `http` on a loopback host (tests);
//! no `Debug` prints a key.

use std::path::PathBuf;

/// The push delivery's settings.
#[derive(Debug, Clone)]
pub struct PushDelivery {
    /// Firebase Cloud Messaging (Android), if configured.
    pub fcm: Option<FcmSettings>,
    /// Apple Push Notification service (iOS), if configured.
    pub apns: Option<ApnsSettings>,
    /// Wake-ups waiting for the worker (default 1024, 1..=100 000); beyond it a wake-up is
    /// dropped and counted (the long-poll still wakes the device).
    pub queue_capacity: usize,
    /// Deliveries in flight at once (default 16, 1..=256).
    pub max_in_flight: usize,
    /// Tries per wake-up, the first included (default 5, 1..=10).
    pub max_attempts: u32,
    /// First back-off after a 429 or 5xx, in milliseconds, doubled at each retry (default
    /// 500); a longer `Retry-After` is honoured.
    pub backoff_base_ms: u64,
    /// Longest back-off, `Retry-After` included, in milliseconds (default 60 000); a retry
    /// never goes past the challenge's expiry.
    pub backoff_max_ms: u64,
    /// Time limit of one request to a provider, in milliseconds (default 10 000).
    pub request_timeout_ms: u64,
}

impl Default for PushDelivery {
    fn default() -> Self {
        Self {
            fcm: None,
            apns: None,
            queue_capacity: 1024,
            max_in_flight: 16,
            max_attempts: 5,
            backoff_base_ms: 500,
            backoff_max_ms: 60_000,
            request_timeout_ms: 10_000,
        }
    }
}

/// FCM HTTP v1 settings.
#[derive(Debug, Clone)]
pub struct FcmSettings {
    /// The service account's key file (JSON, as the Firebase console downloads it): its
    /// `project_id`, `client_email`, `private_key_id`, `private_key` and `token_uri` are used.
    pub service_account_file: PathBuf,
    /// The FCM API's base URL (default `https://fcm.googleapis.com`).
    pub endpoint: String,
}

impl FcmSettings {
    /// Settings reading `service_account_file`, with Google's endpoint.
    pub fn new(service_account_file: impl Into<PathBuf>) -> Self {
        Self {
            service_account_file: service_account_file.into(),
            endpoint: "https://fcm.googleapis.com".to_owned(),
        }
    }
}

/// Which APNs host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApnsEnvironment {
    /// `api.push.apple.com` (App Store and TestFlight builds).
    Production,
    /// `api.sandbox.push.apple.com` (development builds).
    Development,
}

/// APNs provider API settings (token-based authentication).
#[derive(Debug, Clone)]
pub struct ApnsSettings {
    /// The team's signing key file (`AuthKey_<key id>.p8`, PEM PKCS#8 P-256).
    pub key_file: PathBuf,
    /// The key's id (10 characters, the JWT's `kid`).
    pub key_id: String,
    /// The developer team id (10 characters, the JWT's `iss`).
    pub team_id: String,
    /// The app's bundle id (`apns-topic`).
    pub topic: String,
    /// Production or development host.
    pub environment: ApnsEnvironment,
    /// A base URL replacing the environment's host (tests: a loopback stand-in).
    pub endpoint: Option<String>,
    /// Extra trusted root certificates (PEM) for the connection (tests: the stand-in's CA).
    pub extra_roots_pem: Option<PathBuf>,
    /// Age at which the provider token is replaced, in seconds (default 2400 = 40 min;
    /// 1200..=3300: Apple refuses tokens older than an hour and updates more often than every
    /// 20 minutes).
    pub token_refresh_secs: u64,
}

impl ApnsSettings {
    /// The base URL of the configured host.
    pub(crate) fn base_url(&self) -> String {
        match (&self.endpoint, self.environment) {
            (Some(e), _) => e.trim_end_matches('/').to_owned(),
            (None, ApnsEnvironment::Production) => "https://api.push.apple.com".to_owned(),
            (None, ApnsEnvironment::Development) => "https://api.sandbox.push.apple.com".to_owned(),
        }
    }
}

/// Shortest provider-token age before a replacement (Apple: at most one update per 20 min).
pub(crate) const APNS_MIN_REFRESH_SECS: u64 = 1200;
/// Longest provider-token age kept (Apple refuses tokens older than an hour).
pub(crate) const APNS_MAX_REFRESH_SECS: u64 = 3300;

/// Whether `url` is `https`, or `http` on a loopback host.
pub(crate) fn acceptable_url(url: &str) -> bool {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "https" => true,
        Ok(u) if u.scheme() == "http" => match u.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        },
        _ => false,
    }
}

impl PushDelivery {
    /// Refuses settings outside their bounds (the message names the setting).
    pub fn validate(&self) -> Result<(), String> {
        let bad = |m: &str| Err(m.to_owned());
        if !(1..=100_000).contains(&self.queue_capacity) {
            return bad("push queue_capacity must be in 1..=100000");
        }
        if !(1..=256).contains(&self.max_in_flight) {
            return bad("push max_in_flight must be in 1..=256");
        }
        if !(1..=10).contains(&self.max_attempts) {
            return bad("push max_attempts must be in 1..=10");
        }
        if self.backoff_base_ms == 0 || self.backoff_base_ms > self.backoff_max_ms {
            return bad("push backoff_base_ms must be in 1..=backoff_max_ms");
        }
        if self.request_timeout_ms == 0 || self.request_timeout_ms > 60_000 {
            return bad("push request_timeout_ms must be in 1..=60000");
        }
        if let Some(f) = &self.fcm {
            if !acceptable_url(&f.endpoint) {
                return bad("push fcm endpoint must be https (http only on loopback)");
            }
        }
        if let Some(a) = &self.apns {
            if !acceptable_url(&a.base_url()) {
                return bad("push apns endpoint must be https (http only on loopback)");
            }
            if !(APNS_MIN_REFRESH_SECS..=APNS_MAX_REFRESH_SECS).contains(&a.token_refresh_secs) {
                return bad("push apns token_refresh_secs must be in 1200..=3300");
            }
            let ten = |s: &str| s.len() == 10 && s.bytes().all(|b| b.is_ascii_alphanumeric());
            if !ten(&a.key_id) || !ten(&a.team_id) {
                return bad("push apns key_id and team_id must be 10 letters or digits");
            }
            if a.topic.is_empty() {
                return bad("push apns topic (the bundle id) must be set");
            }
        }
        Ok(())
    }
}
