// SPDX-License-Identifier: Apache-2.0
//! Abuse limits: fixed-window request counters per key (a relying party's client id, or a
//! peer IP address), and the middleware that applies the per-IP one to enrolment.
//!
//! Guarantees:
//! - A key gets at most `max` accepted requests per window of `window_secs` seconds of the
//!   server's clock; beyond that the caller answers 429 with a `Retry-After` header.
//! - Memory is bounded: at most [`MAX_KEYS`] keys are tracked; when full, expired windows are
//!   dropped first, and if none expired the new key is refused (fails closed, 429).
//! - Peer addresses come from the accepted TCP connection (never from a header such as
//!   `X-Forwarded-For`), so a client cannot pick its own key; IPv6 peers are keyed by /64.
//!   Requests without a peer address (in-process use) share one key. Behind a reverse
//!   proxy every client shares the proxy's address: raise the limit there.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::ApiError;
use crate::Shared;

/// Most keys a limiter tracks at once.
pub(crate) const MAX_KEYS: usize = 100_000;

/// A fixed-window counter per key.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    max: u32,
    window_secs: i64,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimiter {
    /// At most `max` requests per `window_secs` per key.
    pub(crate) fn new(max: u32, window_secs: u64) -> Self {
        Self {
            max,
            window_secs: i64::try_from(window_secs.max(1)).unwrap_or(i64::MAX),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request of `key` at `now`; `Err(retry_after_secs)` when over the limit.
    pub(crate) fn check(&self, key: &str, now: i64) -> Result<(), u64> {
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(key) && map.len() >= MAX_KEYS {
            let window = self.window_secs;
            map.retain(|_, (start, _)| now.saturating_sub(*start) < window);
            if map.len() >= MAX_KEYS {
                return Err(u64::try_from(window).unwrap_or(1));
            }
        }
        let entry = map.entry(key.to_owned()).or_insert((now, 0));
        if now.saturating_sub(entry.0) >= self.window_secs || now < entry.0 {
            *entry = (now, 0);
        }
        if entry.1 >= self.max {
            let left = entry.0.saturating_add(self.window_secs).saturating_sub(now);
            return Err(u64::try_from(left.max(1)).unwrap_or(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// A 429 answer with `error` and a `Retry-After` of `retry_after` seconds.
pub(crate) fn too_many(error: &'static str, retry_after: u64) -> Response {
    let mut resp = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        error,
        "too many requests, retry later",
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The peer IP address of a request, if it came over TCP.
pub(crate) fn peer_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip())
}

/// The limiter key of a peer: IPv4 addresses (IPv4-mapped IPv6 included) as such, IPv6 by
/// their /64 prefix (one subscriber usually holds a whole /64, so per-address keys would
/// not limit anything).
pub(crate) fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Middleware: the per-IP enrolment limit (nonce and enrol share one budget).
pub(crate) async fn enrol_per_ip(
    State(s): State<Arc<Shared>>,
    req: Request,
    next: Next,
) -> Response {
    let key = peer_ip(&req).map_or_else(|| "in-process".to_owned(), ip_key);
    match s.enrol_limiter.check(&key, s.clock.now()) {
        Ok(()) => next.run(req).await,
        Err(retry) => too_many("too_many_requests", retry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_counts_and_resets() {
        let l = RateLimiter::new(2, 60);
        assert_eq!(l.check("a", 100), Ok(()));
        assert_eq!(l.check("a", 110), Ok(()));
        assert_eq!(l.check("a", 120), Err(40));
        assert_eq!(l.check("b", 120), Ok(()), "keys are independent");
        assert_eq!(l.check("a", 160), Ok(()), "a new window starts");
        assert_eq!(
            l.check("a", 50),
            Ok(()),
            "a clock going back starts a new window"
        );
    }

    #[test]
    fn ip_keys_group_ipv6_by_64_and_unmap_ipv4() {
        let k = |s: &str| ip_key(s.parse().expect("ip"));
        assert_eq!(k("192.0.2.1"), "192.0.2.1");
        assert_eq!(k("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(k("2001:db8:1:2:aaaa::1"), k("2001:db8:1:2:bbbb::2"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
        assert_eq!(k("::1"), "0:0:0:0::/64");
    }

    #[test]
    fn full_table_still_admits_a_new_key() {
        let l = RateLimiter::new(1, 60);
        for i in 0..MAX_KEYS {
            assert!(l.check(&i.to_string(), 0).is_ok());
        }
        assert_eq!(l.check("new", 10), Ok(()), "the oldest entry is evicted");
        assert!(l.check("new", 11).is_err(), "the new key is counted");
    }

    #[test]
    fn key_table_is_bounded() {
        let l = RateLimiter::new(1, 60);
        for i in 0..MAX_KEYS {
            assert!(l.check(&i.to_string(), 0).is_ok());
        }
        assert!(
            l.check("new", 10).is_err(),
            "full table of live windows refuses"
        );
        assert!(l.check("new", 61).is_ok(), "expired windows are evicted");
    }
}
