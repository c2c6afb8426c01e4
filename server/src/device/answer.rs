// SPDX-License-Identifier: Apache-2.0
//! A device's signed answer to one of its challenges: the signature is checked with the key
//! enrolled for the device the answer names, and, for a device with a hardware key, the
//! hardware key's co-signature over the same JWS (ADR 0001; an App Attest counter must rise,
//! and the store moves it with a compare-and-set in the answer's transaction); for a
//! scan-mode challenge, the MAC of the scanned secret (`scan_mac`, issue 16); then the
//! store records the answer once.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use vistalid_core::jws::{self, JwsError};
use vistalid_core::keys::PublicKey;
use vistalid_core::protocol::{
    AnswerClaims, AnswerRequest, AnswerResponse, AnswerStatus, Decision, ErrorCode, TYP_ANSWER,
};

use super::SKEW_SECS;
use crate::api::{ApiError, JsonBody, PathParam};
use crate::attestation::{AttestationError, AttestationRefusal};
use crate::domain::{AnswerOutcome, RefusalStage, Stored as _};
use crate::refusals::refuse;
use crate::state::Shared;
use crate::store::{AnswerRefusal, AnswerTry, Answered, CounterStep, DeviceKey};

/// POST: a signed answer to challenge `id`.
pub(crate) async fn answer(
    State(s): State<Arc<Shared>>,
    PathParam(id): PathParam<String>,
    JsonBody(req): JsonBody<AnswerRequest>,
) -> Result<Json<AnswerResponse>, ApiError> {
    let (claims, device) = verified(&s, &req.answer).await?;
    let counter = co_signature(&s, &device, &req).await?;
    let now = s.clock.now();
    check_claims(&claims, &id, now)?;
    super::scan_mac::check(&s, &claims).await?;
    let device_id = claims.device_id.clone();
    let answered = s
        .store
        .requests()
        .answer(AnswerTry {
            challenge_id: id,
            device_id: claims.device_id,
            account_id: device.account_id,
            decision: claims.decision,
            code: claims.code,
            now,
            policy: s.config.guard_policy(),
            counter,
        })
        .await?;
    let outcome = match answered {
        Answered::Recorded {
            outcome,
            request_id,
            flow,
        } => {
            // The browser login's page waits for this request (its status long-poll).
            s.answered(&request_id);
            let outcome_name = match outcome {
                AnswerOutcome::Approved => "approved",
                AnswerOutcome::WrongCode => "wrong_code",
                AnswerOutcome::Declined => "denied",
                AnswerOutcome::Reported => "reported",
            };
            s.metrics
                .logins
                .get_or_create(&[("mode", flow.as_stored()), ("outcome", outcome_name)])
                .inc();
            outcome
        }
        Answered::Refused(AnswerRefusal::CounterReplayed) => {
            let replayed = AttestationRefusal::Invalid(AttestationError::Counter);
            return Err(refuse(&s, RefusalStage::Answer, &replayed).await);
        }
        Answered::Refused(why) => return Err(refusal(why)),
    };
    Ok(Json(AnswerResponse {
        status: status(outcome, &device_id)?,
    }))
}

/// The hardware co-signature a device with a hardware key puts on every answer (ADR 0001),
/// checked: the App Attest counter step it takes, if any; refused (and counted) when absent
/// or invalid.
async fn co_signature(
    s: &Shared,
    device: &DeviceKey,
    req: &AnswerRequest,
) -> Result<Option<CounterStep>, ApiError> {
    let Some(key) = &device.hardware_key else {
        return Ok(None);
    };
    match key.check_co_signature(&req.answer, req.hardware_signature.as_ref()) {
        Ok(next) => Ok(next.map(|next| CounterStep {
            last: key.counter,
            next,
        })),
        Err(refusal) => Err(refuse(s, RefusalStage::Answer, &refusal).await),
    }
}

/// The signed claims agree with the request: the path's challenge, an `iat` not in the
/// future, a code with every approval.
fn check_claims(claims: &AnswerClaims, id: &str, now: i64) -> Result<(), ApiError> {
    if claims.challenge_id != id {
        return Err(ApiError::bad_request(
            "the signed challenge_id differs from the path",
        ));
    }
    if claims.iat > now.saturating_add(SKEW_SECS) {
        return Err(ApiError::bad_request("the answer's iat is in the future"));
    }
    if claims.decision == Decision::Approve && claims.code.is_none() {
        return Err(ApiError::bad_request("an approval must carry the code"));
    }
    Ok(())
}

/// The wallet's answer status for a recorded outcome; a wrong code is a 403 (the login was
/// denied). Reports and wrong codes are logged with the device id.
fn status(outcome: AnswerOutcome, device_id: &str) -> Result<AnswerStatus, ApiError> {
    match outcome {
        AnswerOutcome::Approved => Ok(AnswerStatus::Approved),
        AnswerOutcome::Declined => Ok(AnswerStatus::Denied),
        AnswerOutcome::Reported => {
            tracing::warn!(%device_id, "user reported a login request as not theirs");
            Ok(AnswerStatus::Reported)
        }
        AnswerOutcome::WrongCode => {
            tracing::warn!(%device_id, "wrong code picked; login denied");
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::WrongCode,
                "the code does not match the login page; the login was denied",
            ))
        }
    }
}

/// The answer's claims, verified with the key of the device they name, and that device's
/// record (account, hardware key).
async fn verified(s: &Shared, answer: &str) -> Result<(AnswerClaims, DeviceKey), ApiError> {
    let unsigned = peek_answer(answer)
        .ok_or_else(|| ApiError::bad_request("answer is not a compact JWS of the answer claims"))?;
    let unauthorized = |e: ErrorCode, d: &str| ApiError::new(StatusCode::UNAUTHORIZED, e, d);
    let Some(device) = s.store.accounts().device_key(&unsigned.device_id).await? else {
        return Err(unauthorized(
            ErrorCode::UnknownDevice,
            "no device has this id",
        ));
    };
    if device.revoked {
        return Err(unauthorized(
            ErrorCode::DeviceRevoked,
            "this device was revoked; enrol again",
        ));
    }
    let key = PublicKey::from_sec1(&device.public_key).map_err(|e| ApiError::internal(&e))?;
    let claims: AnswerClaims =
        jws::verify_json(answer, &key, Some(TYP_ANSWER)).map_err(|e| match e {
            JwsError::BadSignature => unauthorized(
                ErrorCode::InvalidSignature,
                "the answer is not signed by this device",
            ),
            JwsError::UnsupportedHeader => {
                ApiError::bad_request("the answer must be ES256 with the answer typ")
            }
            _ => ApiError::bad_request("answer is not a compact JWS of the answer claims"),
        })?;
    if claims.device_id != unsigned.device_id {
        return Err(ApiError::bad_request("device_id changed between reads"));
    }
    Ok((claims, device))
}

/// The error answer to an answer that was not recorded.
fn refusal(why: AnswerRefusal) -> ApiError {
    match why {
        AnswerRefusal::UnknownChallenge => ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownChallenge,
            "no such challenge",
        ),
        AnswerRefusal::WrongDevice => ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::WrongDevice,
            "this challenge was queued for another device",
        ),
        AnswerRefusal::AlreadyAnswered => ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::ChallengeAlreadyAnswered,
            "this challenge was already answered",
        ),
        AnswerRefusal::Expired => ApiError::new(
            StatusCode::GONE,
            ErrorCode::ChallengeExpired,
            "this challenge has expired",
        ),
        // Answered (and counted) by the caller, as the attestation refusal it is.
        AnswerRefusal::CounterReplayed => ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::AttestationInvalid,
            AttestationError::Counter.to_string(),
        ),
    }
}

/// Reads the claims of an answer JWS without checking the signature, only to find which
/// device key to check it with.
fn peek_answer(token: &str) -> Option<AnswerClaims> {
    if token.len() > jws::MAX_TOKEN_LEN {
        return None;
    }
    let payload = token.split('.').nth(1)?;
    let bytes = B64URL.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn peek_answer_never_panics(input in ".{0,256}") {
            let _ = peek_answer(&input);
        }
    }

    #[test]
    fn peek_reads_an_answer_payload() {
        let claims = AnswerClaims {
            challenge_id: "c".into(),
            device_id: "d".into(),
            decision: Decision::Deny,
            code: None,
            iat: 1,
            scan_mac: None,
        };
        let key = vistalid_core::keys::SigningKey::make().expect("key");
        let token = jws::sign_json(&key, TYP_ANSWER, &claims).expect("sign");
        assert_eq!(peek_answer(&token), Some(claims));
        assert_eq!(peek_answer("a.!!.c"), None);
    }
}
