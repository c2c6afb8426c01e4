// SPDX-License-Identifier: Apache-2.0
//! The layer every request passes: a request id, a tracing span carrying it, and the
//! request metrics.
//!
//! Guarantees:
//! - Every request gets a request id: the trusted proxy's header (`request_id_header`) when
//!   configured and its value is 1 to 64 characters of `A-Z a-z 0-9 - _ . :`, else one drawn
//!   here (a random per-process prefix and a counter: unique within the process, and across
//!   restarts with overwhelming probability). It is returned in `x-request-id` and is a field
//!   of the span around the request, so every log line written while serving it carries it.
//! - The span holds the method and the route template only: never the query string, a
//!   header value or a body, so no code, token or secret reaches a log through it.
//! - Metrics (counted after the response head is ready): requests by route template and
//!   status class, latency by route template, refusals (answers carrying an API error
//!   code) by route and code, enrolments by outcome. Costs: a few atomic increments and a
//!   scan of about 25 route names; no allocation besides the id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;
use vistalid_core::protocol::{
    PATH_ANSWER, PATH_AUTHORIZE, PATH_CHALLENGES, PATH_CIBA, PATH_DISCOVERY, PATH_END_SESSION,
    PATH_ENROL, PATH_ENROL_NONCE, PATH_ISSUER_KEYS, PATH_JWKS, PATH_LOGIN, PATH_LOGIN_CONTINUE,
    PATH_LOGIN_RETRY, PATH_LOGIN_STATIC, PATH_LOGIN_STATUS, PATH_PIN_CONFIRM, PATH_PIN_GUESS,
    PATH_REDEEM, PATH_TOKEN, PATH_USERINFO,
};

use super::{PATH_HEALTH, PATH_METRICS, PATH_READY};
use crate::api::{RefusalCode, PATH_OPENAPI};
use crate::state::Shared;

/// The response header carrying the request id.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route templates metrics name (anything else is `other`, so a scan of random paths
/// cannot grow the series).
const ROUTES: &[&str] = &[
    PATH_TOKEN,
    PATH_CHALLENGES,
    PATH_ANSWER,
    PATH_CIBA,
    PATH_LOGIN_STATUS,
    PATH_LOGIN,
    PATH_AUTHORIZE,
    PATH_LOGIN_CONTINUE,
    PATH_LOGIN_RETRY,
    PATH_LOGIN_STATIC,
    PATH_USERINFO,
    PATH_END_SESSION,
    PATH_ENROL_NONCE,
    PATH_ENROL,
    PATH_PIN_GUESS,
    PATH_PIN_CONFIRM,
    PATH_REDEEM,
    PATH_ISSUER_KEYS,
    PATH_DISCOVERY,
    PATH_JWKS,
    PATH_OPENAPI,
    PATH_HEALTH,
    PATH_READY,
    PATH_METRICS,
];

/// The static name of the matched route.
fn route_of(req: &Request) -> &'static str {
    req.extensions()
        .get::<MatchedPath>()
        .and_then(|m| ROUTES.iter().find(|r| **r == m.as_str()))
        .copied()
        .unwrap_or("other")
}

/// A drawn request id: the process prefix and a counter.
fn drawn_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let prefix = PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 6];
        // A failed draw leaves a fixed prefix: ids stay unique within the process.
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    });
    format!("{prefix}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Whether `v` may be taken as a request id.
fn acceptable(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The request id of `req` (see the module guarantees).
fn request_id(s: &Shared, req: &Request) -> String {
    s.config
        .request_id_header
        .as_deref()
        .and_then(|name| req.headers().get(name))
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(drawn_id, str::to_owned)
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The middleware (see the module guarantees).
pub(crate) async fn observe(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_of(&req);
    let id = request_id(&s, &req);
    let span = tracing::info_span!("request", id = %id, method = %req.method(), route);
    let mut resp = next.run(req).instrument(span).await;
    let m = &s.metrics;
    let status = resp.status().as_u16();
    m.requests
        .get_or_create(&[("route", route), ("status", status_class(status))])
        .inc();
    m.latency
        .get_or_create(&[("route", route)])
        .observe(started.elapsed().as_secs_f64());
    let refusal = resp.extensions().get::<RefusalCode>().map(|c| c.0);
    if let Some(code) = refusal {
        m.refusals
            .get_or_create(&[("route", route), ("error", code)])
            .inc();
    }
    if route == PATH_ENROL {
        let outcome = match (resp.status().is_success(), refusal) {
            (true, _) => "enrolled",
            (false, Some(code)) => code,
            (false, None) => "error",
        };
        m.enrolments.get_or_create(&[("outcome", outcome)]).inc();
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_short_ids_are_taken_from_the_proxy() {
        assert!(acceptable("req-1234_abcd.ef:01"));
        assert!(!acceptable(""));
        assert!(!acceptable(&"a".repeat(65)));
        assert!(!acceptable("id with space"));
        assert!(!acceptable("id\"quote"));
    }

    #[test]
    fn drawn_ids_differ() {
        let a = drawn_id();
        let b = drawn_id();
        assert_ne!(a, b);
        assert!(acceptable(&a), "{a}");
    }
}
