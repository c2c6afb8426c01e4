// SPDX-License-Identifier: Apache-2.0
//! What the two PIN-guard endpoints share: finding the device's keys, checking a request
//! (core's `pin_guard`), and the answers to each refusal.
//!
//! Guarantees: every bad input is a typed 4xx naming the rule (never the value): an unknown
//! device 404 `unknown_device`, a revoked one 403 `device_revoked`, a bad signature 401
//! `invalid_signature`, a stale request 400 `stale_request`, a bad point 400
//! `invalid_element`, anything malformed 400 `invalid_request`, a reused `jti` 409
//! `replayed_request`, a key the device does not have 409 `unknown_oprf_key`, the limit
//! reached 403 `pin_guard_blocked`.

use axum::http::StatusCode;
use vistalid_core::keys::PublicKey;
use vistalid_core::pin_guard::PinGuardRequestError;
use vistalid_core::protocol::{ErrorCode, PinGuardRequest, PIN_GUARD_MAX_SKEW_SECS};

use crate::api::ApiError;
use crate::state::Shared;
use crate::store::{GuardKeys, GuardRefusal, GuardRequest};

/// The device's guard keys, refusing unknown and revoked devices.
pub(super) async fn keys_of(s: &Shared, req: &PinGuardRequest) -> Result<GuardKeys, ApiError> {
    if req.device_id.is_empty() || req.device_id.len() > 64 {
        return Err(ApiError::bad_request(
            "device_id must be 1 to 64 characters",
        ));
    }
    let keys = s
        .store
        .pin_guards()
        .keys(&req.device_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownDevice,
                "no device with a PIN guard has this id",
            )
        })?;
    if keys.revoked {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::DeviceRevoked,
            "this device was revoked",
        ));
    }
    Ok(keys)
}

/// A stored key (SEC1), or a 500 naming what is corrupt.
pub(super) fn stored_key(sec1: &[u8]) -> Result<PublicKey, ApiError> {
    PublicKey::from_sec1(sec1).map_err(|_| ApiError::internal(&"corrupt PIN-guard key"))
}

/// The store's view of a checked request: its `jti` is remembered until it would be stale.
pub(super) fn guard_request(device_id: &str, key_id: &str, jti: &str, now: i64) -> GuardRequest {
    GuardRequest {
        device_id: device_id.to_owned(),
        key_id: key_id.to_owned(),
        jti: jti.to_owned(),
        jti_expires_at: now.saturating_add(2 * PIN_GUARD_MAX_SKEW_SECS),
        now,
    }
}

/// The answer to a request core's checks refused.
pub(super) fn check_refusal(e: PinGuardRequestError) -> ApiError {
    use PinGuardRequestError as E;
    let bad = |code, d: &str| ApiError::new(StatusCode::BAD_REQUEST, code, d);
    match e {
        E::Malformed => ApiError::bad_request(
            "request must be an ES256 JWS of the endpoint's claims (typ included)",
        ),
        E::BadSignature => ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidSignature,
            "the request is not signed by the device's registered key",
        ),
        E::WrongDevice => ApiError::bad_request("the signed device_id differs from the body's"),
        E::BadJti => ApiError::bad_request("jti must be 16 to 64 base64url characters"),
        E::Stale => bad(
            ErrorCode::StaleRequest,
            "the request's iat is too far from the server time",
        ),
        E::InvalidElement => bad(
            ErrorCode::InvalidElement,
            "blinded_element must be a compressed P-256 point other than the identity",
        ),
    }
}

/// The answer to a request the store refused.
pub(super) fn store_refusal(why: GuardRefusal) -> ApiError {
    match why {
        GuardRefusal::Blocked => ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::PinGuardBlocked,
            "too many wrong PINs: this device's key is erased; enrol again",
        ),
        GuardRefusal::Replayed => ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::ReplayedRequest,
            "this request id (jti) was used before",
        ),
        GuardRefusal::UnknownKey => ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::UnknownOprfKey,
            "the device has no OPRF key with this key_id",
        ),
        GuardRefusal::Unknown => ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownDevice,
            "no device with a PIN guard has this id",
        ),
    }
}
