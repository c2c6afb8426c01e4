// SPDX-License-Identifier: Apache-2.0
//! The QR issuer's keys with their validity windows (issue 19), and the verifier's cache of
//! them that refreshes itself.
//!
//! A key signs credentials from `not_before` until `retired_at` (none while it is the current
//! key); it stays trusted for the credentials it signed until `not_after` (none: no end known
//! yet), which the server sets to its retirement plus the longest credential lifetime. The
//! server lists them at [`crate::protocol::PATH_ISSUER_KEYS`], each a JWK with these members
//! added (a client that knows only JWKs still reads the set).
//!
//! Guarantees:
//! - [`IssuerKey::admits`] accepts a credential only if its `iat` lies in the key's signing
//!   window (± skew) and the key is still trusted at the time of verification: a retired
//!   key's credentials pass until they expire, one it signed after retirement (a stolen
//!   key) or before its window never does.
//! - [`IssuerKeyCache`] fetches the keys when it has none, when they are older than its
//!   maximum age, or when a presentation names a key it does not know; in that last case it
//!   fetches **once** per unknown key id per [`IssuerKeyCache::with_retry_after`] (default
//!   5 minutes), however many presentations carry it, and concurrent callers share one fetch.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::credential::issuer_kid;
use super::verify::{Verified, Verifier};
use super::QrError;
use crate::clock::Clock;
use crate::keys::{Jwk, KeyError, PublicKey};

/// One issuer key and its windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuerKey {
    /// The public key.
    pub key: PublicKey,
    /// It signs credentials from then on (seconds since the epoch).
    pub not_before: i64,
    /// It signs no more from then on; `None` while it is the current key.
    pub retired_at: Option<i64>,
    /// Its credentials are trusted until then; `None`: no end known yet.
    pub not_after: Option<i64>,
}

impl IssuerKey {
    /// A key with no window: trusted for any credential at any time (what a verifier given
    /// bare keys, or keys saved before windows existed, uses).
    pub fn unbounded(key: PublicKey) -> Self {
        Self {
            key,
            not_before: i64::MIN,
            retired_at: None,
            not_after: None,
        }
    }

    /// Whether a credential issued at `issued_at` may be trusted under this key at `now`,
    /// with `skew` seconds of clock difference (see the module's guarantees).
    pub fn admits(&self, issued_at: i64, now: i64, skew: i64) -> bool {
        issued_at >= self.not_before.saturating_sub(skew)
            && self
                .retired_at
                .is_none_or(|r| issued_at < r.saturating_add(skew))
            && self
                .not_after
                .is_none_or(|end| now <= end.saturating_add(skew))
    }

    /// Whether the key is still trusted at `now` (its `not_after` not past).
    pub fn is_current(&self, now: i64) -> bool {
        self.not_after.is_none_or(|end| now <= end)
    }
}

/// One key as the issuer-keys endpoint lists it: a JWK with its windows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerKeyEntry {
    /// The key.
    #[serde(flatten)]
    pub jwk: Jwk,
    /// See [`IssuerKey::not_before`]; absent: no start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// See [`IssuerKey::retired_at`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
    /// See [`IssuerKey::not_after`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<i64>,
}

/// The issuer-keys document, `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IssuerKeySet {
    /// The keys.
    pub keys: Vec<IssuerKeyEntry>,
}

impl IssuerKeyEntry {
    /// The entry of `key`.
    pub fn from_key(key: &IssuerKey) -> Self {
        Self {
            jwk: key.key.to_jwk(),
            not_before: (key.not_before != i64::MIN).then_some(key.not_before),
            retired_at: key.retired_at,
            not_after: key.not_after,
        }
    }

    /// The key, validated.
    pub fn to_key(&self) -> Result<IssuerKey, KeyError> {
        Ok(IssuerKey {
            key: PublicKey::from_jwk(&self.jwk)?,
            not_before: self.not_before.unwrap_or(i64::MIN),
            retired_at: self.retired_at,
            not_after: self.not_after,
        })
    }
}

impl IssuerKeySet {
    /// Every key of the set, validated; the first invalid one is the error.
    pub fn to_keys(&self) -> Result<Vec<IssuerKey>, KeyError> {
        self.keys.iter().map(IssuerKeyEntry::to_key).collect()
    }

    /// The set of `keys`.
    pub fn from_keys(keys: &[IssuerKey]) -> Self {
        Self {
            keys: keys.iter().map(IssuerKeyEntry::from_key).collect(),
        }
    }
}

/// Where an [`IssuerKeyCache`] gets the keys (the server's endpoint, through
/// [`crate::client::ServerClient::issuer_key_set`]).
pub trait IssuerKeySource: Send + Sync {
    /// Fetches the current keys.
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Vec<IssuerKey>, QrError>> + Send + '_>>;
}

/// Default most age of the cached keys before a refresh, in seconds (a day).
pub const DEFAULT_MAX_AGE_SECS: i64 = 24 * 3600;
/// Default seconds before an unknown key id may cause another fetch.
pub const DEFAULT_RETRY_AFTER_SECS: i64 = 300;

struct CacheState {
    keys: Vec<IssuerKey>,
    fetched_at: Option<i64>,
    /// Key ids that were still unknown after a fetch, with when.
    unknown: Vec<([u8; 4], i64)>,
}

/// A verifier's cache of one issuer's keys, refreshing itself (see the module's guarantees).
pub struct IssuerKeyCache {
    source: Arc<dyn IssuerKeySource>,
    clock: Arc<dyn Clock>,
    state: Mutex<CacheState>,
    fetch_lock: tokio::sync::Mutex<()>,
    max_age: i64,
    retry_after: i64,
    audience: Option<String>,
}

impl IssuerKeyCache {
    /// A cache over `source`, starting with `keys` fetched at `fetched_at` (`None`: fetch at
    /// first use).
    pub fn new(
        source: Arc<dyn IssuerKeySource>,
        clock: Arc<dyn Clock>,
        keys: Vec<IssuerKey>,
        fetched_at: Option<i64>,
    ) -> Self {
        Self {
            source,
            clock,
            state: Mutex::new(CacheState {
                keys,
                fetched_at,
                unknown: Vec::new(),
            }),
            fetch_lock: tokio::sync::Mutex::new(()),
            max_age: DEFAULT_MAX_AGE_SECS,
            retry_after: DEFAULT_RETRY_AFTER_SECS,
            audience: None,
        }
    }

    /// Refreshes keys older than `secs`.
    pub fn with_max_age_secs(mut self, secs: i64) -> Self {
        self.max_age = secs;
        self
    }

    /// An unknown key id causes at most one fetch per `secs`.
    pub fn with_retry_after(mut self, secs: i64) -> Self {
        self.retry_after = secs;
        self
    }

    /// Presentations must be addressed to `audience` (see [`Verifier::with_audience`]).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The keys held now, and when they were fetched.
    pub fn keys(&self) -> (Vec<IssuerKey>, Option<i64>) {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        (s.keys.clone(), s.fetched_at)
    }

    /// Verifies `text` with the cached keys, fetching them first when missing or stale, and
    /// once more when it names an unknown key (bounded as the module says).
    pub async fn verify(&self, text: &str) -> Result<Verified, QrError> {
        let now = self.clock.now();
        let stale = {
            let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.fetched_at
                .is_none_or(|at| now.saturating_sub(at) > self.max_age)
        };
        if stale {
            // A failed refresh of stale keys keeps the old ones: offline, they still serve.
            let _ = self.refresh(None).await;
        }
        match self.verify_now(text) {
            Err(QrError::UnknownIssuer) => {
                let Some(kid) = super::presentation::issuer_kid_of(text) else {
                    return Err(QrError::UnknownIssuer);
                };
                if self.refresh(Some(kid)).await? {
                    self.verify_now(text)
                } else {
                    Err(QrError::UnknownIssuer)
                }
            }
            other => other,
        }
    }

    fn verify_now(&self, text: &str) -> Result<Verified, QrError> {
        let keys = self
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys
            .clone();
        let mut v = Verifier::with_issuer_keys(keys, Arc::clone(&self.clock));
        if let Some(a) = &self.audience {
            v = v.with_audience(a.clone());
        }
        v.verify(text)
    }

    /// Fetches the keys, unless (for `kid`) another caller's fetch already brought it or it
    /// was fetched for in vain less than `retry_after` ago; whether a fetch happened or the
    /// keys now hold `kid`.
    async fn refresh(&self, kid: Option<[u8; 4]>) -> Result<bool, QrError> {
        let _one = self.fetch_lock.lock().await;
        let now = self.clock.now();
        if let Some(kid) = kid {
            let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if s.keys.iter().any(|k| issuer_kid(&k.key) == kid) {
                return Ok(true);
            }
            if s.unknown
                .iter()
                .any(|(k, at)| *k == kid && now.saturating_sub(*at) < self.retry_after)
            {
                return Ok(false);
            }
        }
        let keys = self.source.fetch().await?;
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.keys = keys;
        s.fetched_at = Some(now);
        let retry_after = self.retry_after;
        s.unknown
            .retain(|(_, at)| now.saturating_sub(*at) < retry_after);
        if let Some(kid) = kid {
            if !s.keys.iter().any(|k| issuer_kid(&k.key) == kid) {
                s.unknown.push((kid, now));
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;
    use crate::qr::credential::{self, CredentialClaims};

    fn credential_at(issuer: &SigningKey, iat: i64) -> Vec<u8> {
        let device = SigningKey::make().expect("key").public_key();
        let claims = CredentialClaims {
            issuer: "https://idp.example.fr".into(),
            subject: "ps-1".into(),
            given_name: "Léa".into(),
            family_name: "Bernard".into(),
            credential_id: vec![1; 16],
            issued_at: iat,
            expires_at: iat + 1000,
        };
        credential::issue(issuer, &claims, &device).expect("issue")
    }

    fn check(bytes: &[u8], keys: &[IssuerKey], now: i64) -> Result<(), QrError> {
        crate::qr::credential::ParsedCredential::parse(bytes)?
            .check(keys, now, 0)
            .map(|_| ())
    }

    #[test]
    fn a_retired_key_admits_its_credentials_until_they_expire_and_nothing_signed_later() {
        let old = SigningKey::make().expect("key");
        let key = IssuerKey {
            key: old.public_key(),
            not_before: 100,
            retired_at: Some(200),
            not_after: Some(1300),
        };
        // Signed in the window, checked after retirement: accepted.
        assert_eq!(check(&credential_at(&old, 150), &[key], 900), Ok(()));
        // Signed after retirement (a stolen retired key), or before the window: refused.
        assert_eq!(
            check(&credential_at(&old, 250), &[key], 900),
            Err(QrError::IssuerKeyNotValid)
        );
        assert_eq!(
            check(&credential_at(&old, 50), &[key], 900),
            Err(QrError::IssuerKeyNotValid)
        );
        // Past the key's trust: refused even though the credential itself has not expired.
        let short = IssuerKey {
            not_after: Some(1000),
            ..key
        };
        assert_eq!(
            check(&credential_at(&old, 150), &[short], 1001),
            Err(QrError::IssuerKeyNotValid)
        );
        // A key without a window is the old behaviour.
        let bare = IssuerKey::unbounded(old.public_key());
        assert_eq!(check(&credential_at(&old, 5000), &[bare], 5001), Ok(()));
    }

    #[test]
    fn the_listed_shape_round_trips_and_plain_jwks_still_read() {
        let k = IssuerKey {
            key: SigningKey::make().expect("key").public_key(),
            not_before: 1,
            retired_at: Some(2),
            not_after: Some(3),
        };
        let json = serde_json::to_string(&IssuerKeySet::from_keys(&[k])).expect("json");
        let back: IssuerKeySet = serde_json::from_str(&json).expect("parse");
        assert_eq!(back.to_keys().expect("keys"), vec![k]);
        // A plain JWK set (an older server) reads as unbounded keys, and old readers ignore
        // the windows.
        let plain = crate::keys::JwkSet::from_public_keys(&[k.key]).to_json();
        let set: IssuerKeySet = serde_json::from_str(&plain).expect("plain");
        assert_eq!(
            set.to_keys().expect("keys"),
            vec![IssuerKey::unbounded(k.key)]
        );
        assert_eq!(
            crate::keys::JwkSet::parse_public_keys(&json).expect("old reader"),
            vec![k.key]
        );
    }
}
