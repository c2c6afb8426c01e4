// SPDX-License-Identifier: Apache-2.0
//! GET `/metrics`: the Prometheus (OpenMetrics text) metrics.
//!
//! Guarantees:
//! - With `metrics_token` set, a request without `Authorization: Bearer <token>` (compared
//!   in constant time) gets 401 and no figure, on either listener.
//! - The public listener serves `/metrics` only when a token is set and no separate
//!   `metrics_bind` is configured (elsewhere it is 404, as an unknown path); the admin
//!   listener (`metrics_bind`) serves it, with the token check when one is set.
//! - The figures read from the database at each scrape (pending requests and challenges)
//!   come from partial indexes holding only pending rows; a failed read is logged and the
//!   last figures stay.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::api::ApiError;
use crate::secrets::ct_eq;
use crate::state::Shared;

/// The public listener's `/metrics` (routed only when a token is set and no admin listener).
pub(crate) async fn scrape_public(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    scrape(&s, &headers).await
}

/// The admin listener's `/metrics`.
pub(crate) async fn scrape_admin(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    scrape(&s, &headers).await
}

async fn scrape(s: &Shared, headers: &HeaderMap) -> Response {
    if let Some(token) = &s.config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !ct_eq(given.as_bytes(), token.expose()) {
            let mut resp = ApiError::new(
                StatusCode::UNAUTHORIZED,
                vistalid_core::protocol::ErrorCode::InvalidToken,
                "the metrics need the configured bearer token",
            )
            .into_response();
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return resp;
        }
    }
    refresh(s).await;
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        s.metrics.encode(),
    )
        .into_response()
}

/// Reads the store's figures into the gauges.
async fn refresh(s: &Shared) {
    let m = &s.metrics;
    let f = s.store.upkeep().figures();
    for (name, value) in [
        ("readers", f.readers),
        ("reader_waits", f.reader_waits),
        ("writer_queue", f.writer_queue),
        ("write_batches", f.write_batches),
        ("write_jobs", f.write_jobs),
        ("write_busy_micros", f.write_busy_micros),
    ] {
        m.store
            .get_or_create(&[("figure", name)])
            .set(i64::try_from(value).unwrap_or(i64::MAX));
    }
    match s.store.upkeep().pending(s.clock.now()).await {
        Ok(p) => {
            let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            for (mode, state, n) in [
                ("ciba", "pending", p.ciba_pending),
                ("browser", "pending", p.browser_pending),
                ("ciba", "expired_unanswered", p.ciba_expired),
                ("browser", "expired_unanswered", p.browser_expired),
            ] {
                m.requests_pending
                    .get_or_create(&[("mode", mode), ("state", state)])
                    .set(gauge(n));
            }
            m.challenges_pending.set(gauge(p.challenges));
        }
        Err(e) => tracing::warn!(error = %e, "metrics: pending counts not read"),
    }
    if let Some(d) = &s.delivery {
        let c = d.counts();
        for (outcome, n) in [
            ("queued", c.queued),
            ("dropped", c.dropped),
            ("skipped", c.skipped),
            ("delivered", c.delivered),
            ("retried", c.retried),
            ("unregistered", c.unregistered),
            ("rejected", c.rejected),
            ("gave_up", c.gave_up),
        ] {
            m.push
                .get_or_create(&[("outcome", outcome)])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
}
