// SPDX-License-Identifier: Apache-2.0
//! What the push tests share: scripted answers, what the stand-ins saw, the privacy check,
//! and waiting for a stand-in to receive something.
#![allow(dead_code, unreachable_pub)]

pub mod apns;
pub mod fcm;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One scripted answer of a stand-in send endpoint (then 200 once the script is empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Ok,
    /// 400 (FCM `INVALID_ARGUMENT`, APNs `BadDeviceToken`).
    Bad,
    /// FCM 404 `UNREGISTERED`, APNs 410 `Unregistered`.
    Unregistered,
    /// APNs 403 `ExpiredProviderToken`.
    ExpiredProviderToken,
    /// 429 with `Retry-After` seconds (APNs `TooManyProviderTokenUpdates`).
    TooMany(u64),
    /// 503.
    Unavailable,
    /// Waits this long, then 200 (a slow service).
    Slow(Duration),
}

/// One request a send endpoint received: when, its data pairs and the raw body.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub token: String,
    pub data: Vec<(String, String)>,
    pub body: String,
}

/// State shared between a stand-in and its test.
#[derive(Debug, Default)]
pub struct Log {
    pub script: Mutex<VecDeque<Reply>>,
    pub received: Mutex<Vec<Received>>,
    /// Every deviation from the documented contract: the test asserts none.
    pub violations: Mutex<Vec<String>>,
    /// OAuth token requests (FCM) or distinct provider tokens (APNs).
    pub credentials: Mutex<Vec<String>>,
    /// When each of `credentials` was first seen (the stand-in's clock).
    pub credential_times: Mutex<Vec<i64>>,
    /// The clock the stand-in judges times by, when the test shares the server's manual
    /// clock with it ([`Log::share_clock`]); the system clock otherwise.
    pub clock: std::sync::OnceLock<Arc<vistalid_core::clock::ManualClock>>,
}

impl Log {
    /// Judges times by `clock` from now on (the test gives the server the same one).
    pub fn share_clock(&self, clock: Arc<vistalid_core::clock::ManualClock>) {
        assert!(self.clock.set(clock).is_ok(), "the clock is shared once");
    }
    /// The stand-in's time, seconds since the epoch.
    pub fn now(&self) -> i64 {
        use vistalid_core::clock::Clock as _;
        self.clock.get().map_or_else(now, |c| c.now())
    }
    /// Records a new credential at the stand-in's time.
    pub fn new_credential(&self, credential: String) {
        self.credentials.lock().unwrap().push(credential);
        self.credential_times.lock().unwrap().push(self.now());
    }
    pub fn script(&self, replies: &[Reply]) {
        self.script.lock().unwrap().extend(replies.iter().copied());
    }
    pub fn next_reply(&self) -> Reply {
        self.script.lock().unwrap().pop_front().unwrap_or(Reply::Ok)
    }
    pub fn violation(&self, what: impl Into<String>) {
        self.violations.lock().unwrap().push(what.into());
    }
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
    pub fn assert_no_violation(&self) {
        let v = self.violations.lock().unwrap();
        assert!(v.is_empty(), "contract violations: {v:?}");
    }
    /// Waits (at most `limit`) until `n` sends were received.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n || start.elapsed() > limit {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Shared handle.
pub type SharedLog = Arc<Log>;

/// A server with `delivery` on a manual clock at the present time, shared with the
/// stand-in that `log` records (so both judge token ages alike); the clock is returned.
pub async fn clocked_env(
    log: &Log,
    delivery: vistalid_server::PushDelivery,
) -> (vistalid_e2e::Env, Arc<vistalid_core::clock::ManualClock>) {
    use vistalid_core::clock::{Clock as _, ManualClock, SystemClock};
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    log.share_clock(Arc::clone(&clock));
    let shared = Arc::clone(&clock);
    let env = vistalid_e2e::Env::start_one_with(move |c, _| {
        c.push_delivery = Some(delivery);
        c.clock = shared.into();
    })
    .await;
    (env, clock)
}

/// Asserts no received body holds any of `secrets` (service name, binding message, code,
/// names, RPPS) in any case.
///
/// A short number (the code dynamique: two digits in pick mode) is looked for as a word of
/// its own: inside the random ids and the device token it would turn up by chance (the FCM
/// test token `…APA91b…` holds `91`); anything longer is looked for anywhere.
pub fn assert_private(received: &[Received], secrets: &[&str]) {
    assert!(!received.is_empty(), "nothing was received");
    for r in received {
        let body = r.body.to_lowercase();
        let words: Vec<&str> = body
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        for s in secrets {
            let s = s.to_lowercase();
            let short_number = s.len() <= 8 && s.bytes().all(|b| b.is_ascii_digit());
            let carried = if short_number {
                words.contains(&s.as_str())
            } else {
                body.contains(&s)
            };
            assert!(!carried, "a push carried {s:?}: {}", r.body);
        }
        let keys: Vec<&str> = r.data.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["vl_challenge", "vl_device", "vl_v"], "data keys");
    }
}

/// The data pairs of a received push, as the platform hands them to the app.
pub fn pairs(r: &Received) -> Vec<(&str, &str)> {
    r.data
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Decodes a compact JWS's header and claims, and its signing input and signature.
pub fn split_jws(jws: &str) -> Option<(serde_json::Value, serde_json::Value, String, Vec<u8>)> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine as _;
    let mut it = jws.split('.');
    let (h, c, s) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let header = serde_json::from_slice(&B64URL.decode(h).ok()?).ok()?;
    let claims = serde_json::from_slice(&B64URL.decode(c).ok()?).ok()?;
    Some((header, claims, format!("{h}.{c}"), B64URL.decode(s).ok()?))
}

/// The data pairs of a JSON object's string members, sorted, except `skip`.
pub fn string_pairs(v: &serde_json::Value, skip: &[&str]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("<not a string>").to_owned()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
