// SPDX-License-Identifier: Apache-2.0
//! The wallet side: enrolment, the challenge long-poll, and signed answers.
//!
//! Guarantees:
//! - Enrolment needs a live single-use nonce, a proof of possession of the new key bound to
//!   this server (`aud`) and that nonce, and a valid activation code. Codes are stored as
//!   hashes, compared in constant time, die after the configured number of wrong tries or
//!   at expiry, and work once.
//! - A device sees only its own pending, unexpired challenges, and only with its poll token
//!   while it is not revoked.
//! - An answer counts only if signed by the device the challenge was queued for, for that
//!   challenge id, before expiry, once. A wrong code denies the login and is counted; "not
//!   me" denies it and files a fraud report; both feed the account's login guard (`guard`).
//! - A wrong activation code answers the same (403 `invalid_activation_code`, same
//!   description) whether its lookup is unknown or known with a wrong secret, in any state; a
//!   wrong secret costs a try of a live code. Only the right secret learns that a code is
//!   used, expired or locked.
//! - Device-signed times are compared without overflow, whatever value they hold.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use rusqlite::OptionalExtension as _;
use serde::Deserialize;
use vistalid_core::jws::{self, JwsError};
use vistalid_core::keys::PublicKey;
use vistalid_core::protocol::{
    AccountKind, AnswerClaims, AnswerRequest, AnswerResponse, ChallengesResponse, Decision,
    EnrolProofClaims, EnrolRequest, EnrolResponse, Identity, NonceResponse, TYP_ANSWER,
    TYP_ENROL_PROOF,
};

use crate::http::{ApiError, JsonBody, PathParam, QueryParams};
use crate::{guard, secrets, Shared};

/// Clock skew tolerated on device-signed `iat` values, in seconds.
const SKEW_SECS: i64 = 300;
/// Longest device name accepted (characters).
const MAX_DEVICE_NAME: usize = 100;
/// Longest attestation accepted (base64url characters).
const MAX_ATTESTATION: usize = 12 * 1024;
/// Characters of the lookup part of an activation code (not secret; 20 bits).
pub(crate) const CODE_LOOKUP_LEN: usize = 4;
/// Characters of the secret part of an activation code (40 bits).
pub(crate) const CODE_SECRET_LEN: usize = 8;

/// POST: a fresh single-use enrolment nonce.
pub(crate) async fn enrol_nonce(
    State(s): State<Arc<Shared>>,
) -> Result<Json<NonceResponse>, ApiError> {
    let nonce = secrets::make_token()?;
    let ttl = s.config.enrol_nonce_ttl_secs;
    let expires_at = s
        .clock
        .now()
        .saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    let n = nonce.clone();
    s.db.write(move |tx| -> Result<(), ApiError> {
        tx.prepare_cached("INSERT INTO enrol_nonces (nonce, expires_at) VALUES (?1, ?2)")?
            .execute(rusqlite::params![n, expires_at])?;
        Ok(())
    })
    .await?;
    Ok(Json(NonceResponse {
        nonce,
        expires_in: ttl,
    }))
}

fn forbidden(error: &'static str, d: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, error, d)
}

/// Compared with the given secret's hash when the lookup is unknown, so both paths do the
/// same work before answering.
const UNKNOWN_CODE_HASH: [u8; 32] = [0; 32];

/// The one answer to a wrong activation code: unknown lookup, or any wrong secret.
fn wrong_code() -> ApiError {
    forbidden("invalid_activation_code", "the activation code is wrong")
}

/// POST: enrol a device with an activation code.
pub(crate) async fn enrol(
    State(s): State<Arc<Shared>>,
    JsonBody(req): JsonBody<EnrolRequest>,
) -> Result<Json<EnrolResponse>, ApiError> {
    let invalid_proof = |d: &str| ApiError::new(StatusCode::BAD_REQUEST, "invalid_proof", d);
    let public = PublicKey::from_jwk(&req.public_key)
        .map_err(|_| ApiError::bad_request("public_key is not a valid EC P-256 JWK"))?;
    let proof: EnrolProofClaims = jws::verify_json(&req.proof, &public, Some(TYP_ENROL_PROOF))
        .map_err(|e| match e {
            JwsError::BadSignature => invalid_proof("the proof is not signed by public_key"),
            JwsError::UnsupportedHeader => {
                invalid_proof("the proof must be ES256 with the enrol typ")
            }
            _ => invalid_proof("the proof is not a well-formed JWS of the enrolment claims"),
        })?;
    if proof.aud.trim_end_matches('/') != s.issuer {
        return Err(invalid_proof("the proof is for another server (aud)"));
    }
    let now = s.clock.now();
    // `iat` is the client's: `abs_diff` cannot overflow whatever it is (`(iat - now).abs()`
    // panicked in debug builds and let `now + i64::MIN` pass in release).
    if proof.iat.abs_diff(now) > SKEW_SECS.unsigned_abs() {
        return Err(invalid_proof(
            "the proof's iat is too far from the server time",
        ));
    }
    let name = req.device_name.trim().to_owned();
    if name.is_empty()
        || name.chars().count() > MAX_DEVICE_NAME
        || !vistalid_core::text::is_display_safe(&name)
    {
        return Err(ApiError::bad_request(
            "device_name must be 1 to 100 characters, without control, format or \
             line-separator characters",
        ));
    }
    if let Some(a) = &req.attestation {
        if a.len() > MAX_ATTESTATION || B64URL.decode(a).is_err() {
            return Err(ApiError::bad_request(
                "attestation must be base64url, at most 12 KiB",
            ));
        }
    }
    let code = secrets::normalise_base32(&req.activation_code)
        .filter(|c| c.len() == CODE_LOOKUP_LEN + CODE_SECRET_LEN)
        .ok_or_else(wrong_code)?;
    let (lookup, secret) = code.split_at(CODE_LOOKUP_LEN);
    let lookup = lookup.to_owned();
    let secret_hash = secrets::hash(secret.as_bytes());

    let device_id = secrets::make_id()?;
    let poll_token = secrets::make_token()?;
    let poll_hash = secrets::hash(poll_token.as_bytes()).to_vec();
    let sec1 = public.as_sec1().to_vec();
    let attestation = req.attestation;
    let nonce = proof.nonce;
    let did = device_id.clone();
    let (account_id, kind, identity) =
        s.db.write(
            move |tx| -> Result<Result<(String, AccountKind, Identity), ApiError>, ApiError> {
                // The nonce is spent whatever happens next.
                let nonce_exp: Option<i64> = tx
                    .prepare_cached(
                        "DELETE FROM enrol_nonces WHERE nonce = ?1 RETURNING expires_at",
                    )?
                    .query_row([&nonce], |r| r.get(0))
                    .optional()?;
                if nonce_exp.is_none_or(|exp| now >= exp) {
                    return Ok(Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_nonce",
                        "the nonce is unknown, used or expired; ask for a new one",
                    )));
                }
                let row = tx
                    .prepare_cached(
                        "SELECT account_id, secret_hash, expires_at, tries_left, used_at
                     FROM activation_codes WHERE lookup = ?1",
                    )?
                    .query_row([&lookup], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Vec<u8>>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, Option<i64>>(4)?,
                        ))
                    })
                    .optional()?;
                // A wrong secret answers exactly as an unknown lookup, whatever the code's
                // state: only the right secret learns that a code is used, expired or dead,
                // so an attacker cannot tell a live lookup from a free one.
                let Some((account_id, stored, expires_at, tries_left, used_at)) = row else {
                    let _ = secrets::ct_eq(&UNKNOWN_CODE_HASH, &secret_hash);
                    return Ok(Err(wrong_code()));
                };
                let live = used_at.is_none() && now < expires_at && tries_left > 0;
                if !secrets::ct_eq(&stored, &secret_hash) {
                    if live {
                        tx.prepare_cached(
                            "UPDATE activation_codes SET tries_left = tries_left - 1
                             WHERE lookup = ?1",
                        )?
                        .execute([&lookup])?;
                    }
                    return Ok(Err(wrong_code()));
                }
                if used_at.is_some() {
                    return Ok(Err(forbidden(
                        "activation_code_used",
                        "this activation code was already used; ask for a new one",
                    )));
                }
                if now >= expires_at {
                    return Ok(Err(forbidden(
                        "activation_code_expired",
                        "this activation code has expired; ask for a new one",
                    )));
                }
                if tries_left <= 0 {
                    return Ok(Err(forbidden(
                        "activation_code_locked",
                        "too many wrong tries; this activation code is dead, ask for a new one",
                    )));
                }
                tx.prepare_cached("UPDATE activation_codes SET used_at = ?2 WHERE lookup = ?1")?
                    .execute(rusqlite::params![lookup, now])?;
                tx.prepare_cached(
                    "INSERT INTO devices (id, account_id, name, public_key, attestation,
                     poll_token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(rusqlite::params![
                    did,
                    account_id,
                    name,
                    sec1,
                    attestation,
                    poll_hash,
                    now
                ])?;
                let (kind, identity) = tx
                    .prepare_cached(
                        "SELECT kind, subject_name_id, given_name, family_name, profession
                     FROM accounts WHERE id = ?1",
                    )?
                    .query_row([&account_id], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            Identity {
                                subject_name_id: r.get(1)?,
                                given_name: r.get(2)?,
                                family_name: r.get(3)?,
                                profession: r.get(4)?,
                            },
                        ))
                    })?;
                Ok(Ok((account_id, crate::account_kind(&kind), identity)))
            },
        )
        .await??;
    let (issuer_key, credential) = match kind {
        AccountKind::Insured => {
            let bytes =
                crate::qr::issue_credential(&s, &account_id, &device_id, &identity, &public)
                    .await?;
            (Some(s.issuer_jwk.clone()), Some(B64URL.encode(bytes)))
        }
        AccountKind::Practitioner => (None, None),
    };
    tracing::info!(%account_id, %device_id, "device enrolled");
    Ok(Json(EnrolResponse {
        account_id,
        device_id,
        kind,
        identity,
        server_key: s.jwk.clone(),
        issuer_key,
        poll_token,
        credential,
    }))
}

/// Query of the long-poll.
#[derive(Debug, Deserialize)]
pub(crate) struct WaitQuery {
    wait: Option<u64>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?;
    (!t.is_empty() && t.len() <= 128).then_some(t.trim())
}

/// GET: the device's pending challenges, waiting up to `wait` seconds for one.
pub(crate) async fn challenges(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<WaitQuery>,
) -> Result<Json<ChallengesResponse>, ApiError> {
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "missing, unknown or revoked device poll token",
        )
        .with_challenge("Bearer realm=\"vistalid\"")
    };
    let token = bearer(&headers).ok_or_else(unauthorized)?;
    let hash = secrets::hash(token.as_bytes()).to_vec();
    let device_id =
        s.db.read(move |c| -> Result<Option<String>, ApiError> {
            Ok(c.prepare_cached(
                "SELECT id FROM devices WHERE poll_token_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([&hash], |r| r.get(0))
            .optional()?)
        })
        .await?
        .ok_or_else(unauthorized)?;
    let wait = q.wait.unwrap_or(0).min(s.config.max_wait_secs);

    let handle = s.notifier.subscribe(&device_id);
    let result = async {
        let notified = handle.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let first = pending(&s, &device_id).await?;
        if !first.is_empty() || wait == 0 {
            return Ok(first);
        }
        let mut stop = s.shutdown.clone();
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep(Duration::from_secs(wait)) => {}
            _ = stop.wait_for(|v| *v) => {}
        }
        pending(&s, &device_id).await
    }
    .await;
    s.notifier.release(&device_id, handle);
    Ok(Json(ChallengesResponse {
        challenges: result?,
    }))
}

async fn pending(s: &Arc<Shared>, device_id: &str) -> Result<Vec<String>, ApiError> {
    let now = s.clock.now();
    let id = device_id.to_owned();
    s.db.read(move |c| -> Result<Vec<String>, ApiError> {
        Ok(c.prepare_cached(
            "SELECT c.jws FROM challenges c JOIN auth_requests r ON r.id = c.auth_req_id
                 WHERE c.device_id = ?1 AND c.status = 'pending' AND c.exp > ?2
                   AND r.status = 'pending'
                 ORDER BY c.rowid",
        )?
        .query_map(rusqlite::params![id, now], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?)
    })
    .await
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

/// Stored key (SEC1), revocation time and account of a device.
type DeviceRow = (Vec<u8>, Option<i64>, String);

enum Outcome {
    Approved,
    Denied,
    Reported,
    WrongCode,
}

/// POST: a signed answer to challenge `id`.
pub(crate) async fn answer(
    State(s): State<Arc<Shared>>,
    PathParam(id): PathParam<String>,
    JsonBody(req): JsonBody<AnswerRequest>,
) -> Result<Json<AnswerResponse>, ApiError> {
    let unsigned = peek_answer(&req.answer)
        .ok_or_else(|| ApiError::bad_request("answer is not a compact JWS of the answer claims"))?;
    let device_id = unsigned.device_id;
    let lookup = device_id.clone();
    let device =
        s.db.read(move |c| -> Result<Option<DeviceRow>, ApiError> {
            Ok(c.prepare_cached(
                "SELECT public_key, revoked_at, account_id FROM devices WHERE id = ?1",
            )?
            .query_row([&lookup], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
        })
        .await?;
    let unauthorized = |e: &'static str, d: &str| ApiError::new(StatusCode::UNAUTHORIZED, e, d);
    let Some((sec1, revoked, account_id)) = device else {
        return Err(unauthorized("unknown_device", "no device has this id"));
    };
    if revoked.is_some() {
        return Err(unauthorized(
            "device_revoked",
            "this device was revoked; enrol again",
        ));
    }
    let key = PublicKey::from_sec1(&sec1).map_err(|e| ApiError::internal(&e))?;
    let claims: AnswerClaims =
        jws::verify_json(&req.answer, &key, Some(TYP_ANSWER)).map_err(|e| match e {
            JwsError::BadSignature => unauthorized(
                "invalid_signature",
                "the answer is not signed by this device",
            ),
            JwsError::UnsupportedHeader => {
                ApiError::bad_request("the answer must be ES256 with the answer typ")
            }
            _ => ApiError::bad_request("answer is not a compact JWS of the answer claims"),
        })?;
    if claims.challenge_id != id {
        return Err(ApiError::bad_request(
            "the signed challenge_id differs from the path",
        ));
    }
    if claims.device_id != device_id {
        return Err(ApiError::bad_request("device_id changed between reads"));
    }
    let now = s.clock.now();
    if claims.iat > now.saturating_add(SKEW_SECS) {
        return Err(ApiError::bad_request("the answer's iat is in the future"));
    }
    if claims.decision == Decision::Approve && claims.code.is_none() {
        return Err(ApiError::bad_request("an approval must carry the code"));
    }

    let did = device_id.clone();
    let decision = claims.decision;
    let code = claims.code;
    let policy = guard::Policy::of(&s.config);
    let (outcome, auth_req_id) =
        s.db.write(move |tx| -> Result<(Outcome, String), ApiError> {
            let row = tx
                .prepare_cached(
                    "SELECT c.device_id, c.status, c.exp, c.auth_req_id, r.status, r.code,
                            r.client_id, r.expires_at
                     FROM challenges c JOIN auth_requests r ON r.id = c.auth_req_id
                     WHERE c.id = ?1",
                )?
                .query_row([&id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, i64>(7)?,
                    ))
                })
                .optional()?;
            let Some((owner, c_status, exp, req_id, r_status, right_code, client_id, r_exp)) = row
            else {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "unknown_challenge",
                    "no such challenge",
                ));
            };
            if owner != did {
                return Err(forbidden(
                    "wrong_device",
                    "this challenge was queued for another device",
                ));
            }
            if c_status != "pending" || r_status != "pending" {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "challenge_already_answered",
                    "this challenge was already answered",
                ));
            }
            if now >= exp || now >= r_exp {
                return Err(ApiError::new(
                    StatusCode::GONE,
                    "challenge_expired",
                    "this challenge has expired",
                ));
            }
            let (outcome, r_new, reason) = match decision {
                Decision::Approve => {
                    let given = code.as_deref().unwrap_or_default();
                    if secrets::ct_eq(given.as_bytes(), right_code.as_bytes()) {
                        (Outcome::Approved, "approved", None)
                    } else {
                        (Outcome::WrongCode, "denied", Some("wrong_code"))
                    }
                }
                Decision::Deny => (Outcome::Denied, "denied", Some("declined")),
                Decision::NotMe => (Outcome::Reported, "denied", Some("not_me")),
            };
            // Close every challenge of the request (the other devices' too).
            tx.prepare_cached(
                "UPDATE challenges SET status = CASE WHEN id = ?2 THEN 'answered' ELSE 'closed' END,
                     answered_at = ?3 WHERE auth_req_id = ?1 AND status = 'pending'",
            )?
            .execute(rusqlite::params![req_id, id, now])?;
            tx.prepare_cached(
                "UPDATE auth_requests SET status = ?2, reason = ?3, auth_time = ?4, answered_by = ?5
                 WHERE id = ?1",
            )?
            .execute(rusqlite::params![req_id, r_new, reason, now, did])?;
            let answered = match outcome {
                Outcome::Approved => guard::Answered::RightCode,
                Outcome::WrongCode => guard::Answered::WrongCode,
                Outcome::Reported => guard::Answered::NotMe,
                Outcome::Denied => guard::Answered::Declined,
            };
            guard::record(tx, policy, &account_id, answered, now)?;
            match outcome {
                Outcome::WrongCode => {
                    tx.prepare_cached(
                        "UPDATE accounts SET wrong_codes = wrong_codes + 1 WHERE id = ?1",
                    )?
                    .execute([&account_id])?;
                }
                Outcome::Reported => {
                    tx.prepare_cached(
                        "INSERT INTO fraud_reports (account_id, device_id, auth_req_id, client_id,
                             reported_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(rusqlite::params![account_id, did, req_id, client_id, now])?;
                    tx.prepare_cached(
                        "UPDATE accounts SET fraud_reports = fraud_reports + 1 WHERE id = ?1",
                    )?
                    .execute([&account_id])?;
                }
                Outcome::Approved | Outcome::Denied => {}
            }
            Ok((outcome, req_id))
        })
        .await?;
    let _ = auth_req_id;
    let status = match outcome {
        Outcome::Approved => "approved",
        Outcome::Denied => "denied",
        Outcome::Reported => {
            tracing::warn!(%device_id, "user reported a login request as not theirs");
            "reported"
        }
        Outcome::WrongCode => {
            tracing::warn!(%device_id, "wrong code picked; login denied");
            return Err(forbidden(
                "wrong_code",
                "the code does not match the login page; the login was denied",
            ));
        }
    };
    Ok(Json(AnswerResponse {
        status: status.to_owned(),
    }))
}

/// Deletes spent nonces and old requests every minute. Requests are kept a day after expiry
/// (token polls and audits), fraud reports forever.
pub(crate) async fn cleanup_loop(s: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let now = s.clock.now();
        let result =
            s.db.write(move |tx| -> Result<usize, ApiError> {
                let mut n = tx
                    .prepare_cached("DELETE FROM enrol_nonces WHERE expires_at < ?1")?
                    .execute([now])?;
                let horizon = now.saturating_sub(86_400);
                n += tx
                    .prepare_cached(
                        "DELETE FROM challenges WHERE auth_req_id IN
                           (SELECT id FROM auth_requests WHERE expires_at < ?1)",
                    )?
                    .execute([horizon])?;
                n += tx
                    .prepare_cached("DELETE FROM auth_requests WHERE expires_at < ?1")?
                    .execute([horizon])?;
                Ok(n)
            })
            .await;
        match result {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "cleanup"),
            Err(e) => tracing::warn!(error = e.error, "cleanup failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn peek_answer_never_panics(input in ".{0,256}") {
            let _ = peek_answer(&input);
        }

        #[test]
        fn bearer_never_panics(input in ".{0,200}") {
            let mut headers = HeaderMap::new();
            if let Ok(v) = axum::http::HeaderValue::from_str(&input) {
                headers.insert(header::AUTHORIZATION, v);
                let _ = bearer(&headers);
            }
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
        };
        let key = vistalid_core::keys::SigningKey::make().expect("key");
        let token = jws::sign_json(&key, TYP_ANSWER, &claims).expect("sign");
        assert_eq!(peek_answer(&token), Some(claims));
        assert_eq!(peek_answer("a.!!.c"), None);
    }
}
