// SPDX-License-Identifier: Apache-2.0
//! The push-token registration (issue 20, `vistalid_core::push::PATH_PUSH_TOKEN`): a device
//! sets, replaces or removes the token the server wakes it with.
//!
//! Guarantees: only a request signed by the device's registered device-tier key (the key
//! that signs its PIN guesses), fresh (`iat` within the PIN-guard skew) and single-use
//! (`jti` spent in the same transaction as the change) changes the device's token; a revoked
//! device gets none. Every refusal is a typed 4xx naming the rule, never the token: unknown
//! device 404 `unknown_device`, revoked 403 `device_revoked`, bad signature 401
//! `invalid_signature`, stale 400 `stale_request`, malformed or a token not of its
//! platform's shape 400 `invalid_request`, reused `jti` 409 `replayed_request`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use vistalid_core::protocol::{ErrorCode, PinGuardRequest, PIN_GUARD_MAX_SKEW_SECS};
use vistalid_core::push::{self, PushTokenError, PushTokenRequest, PushTokenResponse};

use super::pin_guard::{keys_of, stored_key};
use crate::api::{ApiError, JsonBody};
use crate::state::Shared;
use crate::store::{PushRegistration, RegisterOutcome, StoredPushToken};

/// POST: registers, replaces or removes the device's push token.
pub(crate) async fn push_token(
    State(s): State<Arc<Shared>>,
    JsonBody(req): JsonBody<PushTokenRequest>,
) -> Result<Json<PushTokenResponse>, ApiError> {
    let as_guard = PinGuardRequest {
        device_id: req.device_id.clone(),
        request: String::new(),
    };
    let keys = keys_of(&s, &as_guard).await?;
    let now = s.clock.now();
    let claims =
        push::check_registration(&req, &stored_key(&keys.unlock_key)?, now).map_err(refusal)?;
    let outcome = s
        .store
        .push_tokens()
        .register(PushRegistration {
            device_id: claims.device_id.clone(),
            token: claims.push.map(|p| StoredPushToken {
                platform: p.platform,
                token: p.token,
            }),
            jti: claims.jti,
            jti_expires_at: now.saturating_add(2 * PIN_GUARD_MAX_SKEW_SECS),
            now,
        })
        .await?;
    match outcome {
        RegisterOutcome::Applied { registered } => {
            tracing::info!(device_id = %claims.device_id, registered, "push token registration");
            Ok(Json(PushTokenResponse { registered }))
        }
        RegisterOutcome::Replayed => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::ReplayedRequest,
            "this request id (jti) was used before",
        )),
        RegisterOutcome::NoDevice => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::DeviceRevoked,
            "this device was revoked",
        )),
    }
}

fn refusal(e: PushTokenError) -> ApiError {
    use PushTokenError as E;
    match e {
        E::Malformed => ApiError::bad_request(
            "request must be an ES256 JWS of the push-token claims (typ included)",
        ),
        E::BadSignature => ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidSignature,
            "the request is not signed by the device's registered key",
        ),
        E::WrongDevice => ApiError::bad_request("the signed device_id differs from the body's"),
        E::BadJti => ApiError::bad_request("jti must be 16 to 64 base64url characters"),
        E::Stale => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::StaleRequest,
            "the request's iat is too far from the server time",
        ),
        E::BadToken => ApiError::bad_request(
            "token must be of its platform's shape (fcm: 1-1024 of [A-Za-z0-9_:.-]; apns: 64-200 lowercase hex)",
        ),
    }
}
