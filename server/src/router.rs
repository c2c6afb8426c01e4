// SPDX-License-Identifier: Apache-2.0
//! The top of the server's chain: the one place that names paths and the handlers serving
//! them, with the layers every route shares.
//!
//! Guarantees: every route except the device long-poll has a request timeout (408); every
//! body is capped at `body_limit_bytes` (413); an unknown path is 404 `not_found` and a
//! wrong method 405 `method_not_allowed`, both JSON `ErrorBody`; nonce and enrolment share
//! the per-IP enrolment budget.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use tower_http::timeout::TimeoutLayer;
use vistalid_core::protocol::{
    PATH_ANSWER, PATH_AUTHORIZE, PATH_CHALLENGES, PATH_CIBA, PATH_DISCOVERY, PATH_ENROL,
    PATH_ENROL_NONCE, PATH_ISSUER_KEYS, PATH_JWKS, PATH_REDEEM, PATH_TOKEN,
};

use crate::api::{ApiError, PATH_OPENAPI};
use crate::state::Shared;
use crate::{device, oidc, openapi, qr};

/// Builds the application router over `shared`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let timeout = Duration::from_secs(shared.config.request_timeout_secs.max(1));
    let limit = shared.config.body_limit_bytes;
    let per_ip = || from_fn_with_state(Arc::clone(&shared), device::enrol_per_ip);
    let timed = Router::new()
        .route(PATH_DISCOVERY, get(oidc::discovery))
        .route(PATH_JWKS, get(oidc::jwks))
        .route(PATH_AUTHORIZE, get(oidc::authorize).post(oidc::authorize))
        .route(PATH_CIBA, post(oidc::ciba))
        .route(PATH_TOKEN, post(oidc::token))
        .route(PATH_ENROL_NONCE, post(device::enrol_nonce).layer(per_ip()))
        .route(PATH_ENROL, post(device::enrol).layer(per_ip()))
        .route(PATH_OPENAPI, get(openapi::serve))
        .route(PATH_ANSWER, post(device::answer))
        .route(PATH_REDEEM, post(qr::redeem))
        .route(PATH_ISSUER_KEYS, get(qr::issuer_keys))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ));
    // The long-poll has its own cap (`max_wait_secs`), so it is outside the timeout layer.
    let long_poll = Router::new().route(PATH_CHALLENGES, get(device::challenges));
    timed
        .merge(long_poll)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(shared)
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
