// SPDX-License-Identifier: Apache-2.0
//! The probes. `/health`: the process is alive and serving (always 200 `ok` while the accept
//! loop runs). `/ready`: 200 `ready` when the database answers a read and a write within
//! 2 s, the signing keys are loaded and the server is not stopping; else 503 with the
//! reason as plain text (`database unreachable`, `database too slow`, `keys not loaded`,
//! `stopping`), so a load balancer takes the instance out before it stops.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::state::Shared;

/// How long the readiness probe waits for the database.
const READY_WITHIN: Duration = Duration::from_secs(2);

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// GET `/health`: 200 `ok`.
pub(crate) async fn health() -> Response {
    text(StatusCode::OK, "ok\n")
}

/// GET `/ready`: 200 `ready`, or 503 with the reason.
pub(crate) async fn ready(State(s): State<Arc<Shared>>) -> Response {
    if *s.shutdown.borrow() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "stopping\n");
    }
    let loaded = crate::keyring::Purpose::ALL
        .iter()
        .all(|&p| !s.keys.all(p).is_empty());
    if !loaded {
        return text(StatusCode::SERVICE_UNAVAILABLE, "keys not loaded\n");
    }
    match tokio::time::timeout(READY_WITHIN, s.store.upkeep().ping()).await {
        Ok(Ok(())) => text(StatusCode::OK, "ready\n"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            text(StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
        }
        Err(_) => text(StatusCode::SERVICE_UNAVAILABLE, "database too slow\n"),
    }
}
