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
    PATH_ANSWER, PATH_AUTHORIZE, PATH_CHALLENGES, PATH_CIBA, PATH_DISCOVERY, PATH_END_SESSION,
    PATH_ENROL, PATH_ENROL_NONCE, PATH_ISSUER_KEYS, PATH_JWKS, PATH_KEY_ROLLOVER, PATH_LOGIN,
    PATH_LOGIN_CONTINUE, PATH_LOGIN_OFFLINE, PATH_LOGIN_RETRY, PATH_LOGIN_STATIC,
    PATH_LOGIN_STATUS, PATH_PIN_CONFIRM, PATH_PIN_GUESS, PATH_REDEEM, PATH_TOKEN, PATH_USERINFO,
};

use crate::api::{ApiError, PATH_OPENAPI};
use crate::state::Shared;
use crate::{browser, device, oidc, openapi, ops, qr};

/// Builds the application router over `shared`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let timeout = Duration::from_secs(shared.config.request_timeout_secs.max(1));
    let limit = shared.config.body_limit_bytes;
    let per_ip = || from_fn_with_state(Arc::clone(&shared), device::enrol_per_ip);
    let timed = Router::new()
        .route(PATH_DISCOVERY, get(oidc::discovery))
        .route(PATH_JWKS, get(oidc::jwks))
        .route(
            PATH_AUTHORIZE,
            get(browser::authorize).post(browser::authorize),
        )
        .route(PATH_LOGIN, get(browser::show).post(browser::submit))
        .route(PATH_LOGIN_RETRY, post(browser::retry))
        .route(PATH_LOGIN_CONTINUE, get(browser::finish))
        .route(
            PATH_LOGIN_OFFLINE,
            get(browser::offline_show).post(browser::offline_submit),
        )
        .route(PATH_LOGIN_STATIC, get(browser::static_file))
        .route(PATH_CIBA, post(oidc::ciba))
        .route(PATH_TOKEN, post(oidc::token))
        .route(
            PATH_USERINFO,
            get(oidc::userinfo_get).post(oidc::userinfo_post),
        )
        .route(
            PATH_END_SESSION,
            get(oidc::logout_get).post(oidc::logout_post),
        )
        .route(PATH_ENROL_NONCE, post(device::enrol_nonce).layer(per_ip()))
        .route(PATH_ENROL, post(device::enrol).layer(per_ip()))
        .route(PATH_OPENAPI, get(openapi::serve))
        .route(PATH_ANSWER, post(device::answer))
        .route(PATH_PIN_GUESS, post(device::pin_guess))
        .route(PATH_PIN_CONFIRM, post(device::pin_confirm))
        .route(
            vistalid_core::push::PATH_PUSH_TOKEN,
            post(device::push_token),
        )
        .route(PATH_REDEEM, post(qr::redeem))
        .route(PATH_ISSUER_KEYS, get(qr::issuer_keys))
        .route(ops::PATH_HEALTH, get(ops::health))
        .route(ops::PATH_READY, get(ops::ready))
        .route(PATH_KEY_ROLLOVER, get(device::key_rollover))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ));
    // The long-poll has its own cap (`max_wait_secs`), so it is outside the timeout layer.
    let long_poll = Router::new()
        .route(PATH_CHALLENGES, get(device::challenges))
        .route(PATH_LOGIN_STATUS, get(browser::status));
    // `/metrics` on the public listener only with a token and no admin listener.
    let public_metrics =
        shared.config.metrics_token.is_some() && shared.config.metrics_bind.is_none();
    let timed = if public_metrics {
        timed.route(ops::PATH_METRICS, get(ops::scrape_public))
    } else {
        timed
    };
    timed
        .merge(long_poll)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(from_fn_with_state(Arc::clone(&shared), ops::observe))
        .with_state(shared)
}

/// The admin listener's router (`metrics_bind`): the probes and `/metrics`, with the same
/// request id and metrics layer.
pub(crate) fn admin_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(ops::PATH_HEALTH, get(ops::health))
        .route(ops::PATH_READY, get(ops::ready))
        .route(ops::PATH_METRICS, get(ops::scrape_admin))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(Arc::clone(&shared), ops::observe))
        .with_state(shared)
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
