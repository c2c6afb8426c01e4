// SPDX-License-Identifier: Apache-2.0
//! Enrolment: single-use nonces, the enrolment itself (proof of possession, the device's
//! attestation under the deployment's policy, activation code, device record with its
//! hardware key and its PIN guard, and the QR credential of insured accounts), and the per-IP
//! budget both share. The attestation is checked before the activation code, so a refused
//! device spends no try of the code.
//!
//! A request with `pin_guard` gets a new OPRF key for the device, created in the same
//! transaction as the device, and answered in `oprf`; the insured credential then binds the
//! device-tier key (`pin_guard.unlock_key`), which signs the presentations (docs/pin-guard.md).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use vistalid_core::jws::{self, JwsError};
use vistalid_core::keys::PublicKey;
use vistalid_core::oprf::OprfServerKey;
use vistalid_core::protocol::{
    AccountKind, EnrolProofClaims, EnrolRequest, EnrolResponse, ErrorCode, KeyStorage,
    NonceResponse, OfflineOtpInfo, OprfInfo, OPRF_MODE, OPRF_SUITE, TYP_ENROL_PROOF,
};
use vistalid_core::totp;
use zeroize::Zeroizing;

use super::SKEW_SECS;
use crate::api::{too_many, ApiError, JsonBody};
use crate::credentials;
use crate::domain::activation::CodeKey;
use crate::domain::{secs, RefusalStage};
use crate::keyring::Purpose;
use crate::limits::{ip_key, peer_ip};
use crate::refusals::refuse;
use crate::secrets;
use crate::state::Shared;
use crate::store::offline::NewOfflineSecret;
use crate::store::{CodeRedeem, CodeRefusal, Enrolled, Enrolment, NewDevice, NewPinGuard};

/// Longest device name accepted (characters).
const MAX_DEVICE_NAME: usize = 100;

/// Middleware: the per-IP enrolment limit (nonce and enrol share one budget).
pub(crate) async fn enrol_per_ip(
    State(s): State<Arc<Shared>>,
    req: Request,
    next: Next,
) -> Response {
    let key = peer_ip(&req).map_or_else(|| "in-process".to_owned(), ip_key);
    match s.enrol_limiter.check(&key, s.clock.now()) {
        Ok(()) => next.run(req).await,
        Err(retry) => too_many(ErrorCode::TooManyRequests, retry),
    }
}

/// POST: a fresh single-use enrolment nonce.
pub(crate) async fn enrol_nonce(
    State(s): State<Arc<Shared>>,
) -> Result<Json<NonceResponse>, ApiError> {
    let nonce = secrets::make_token()?;
    let ttl = s.config.enrol_nonce_ttl_secs;
    let expires_at = s.clock.now().saturating_add(secs(ttl));
    s.store.codes().add_nonce(&nonce, expires_at).await?;
    Ok(Json(NonceResponse {
        nonce,
        expires_in: ttl,
    }))
}

/// POST: enrol a device with an activation code.
pub(crate) async fn enrol(
    State(s): State<Arc<Shared>>,
    JsonBody(req): JsonBody<EnrolRequest>,
) -> Result<Json<EnrolResponse>, ApiError> {
    let now = s.clock.now();
    let evidence = req.device_attestation.clone();
    let Checked {
        public,
        presentation_key,
        mut enrolment,
        poll_token,
        oprf,
        offline_otp,
    } = check(&s, req, now)?;
    // The attestation before the code: a refused device spends no try of the code.
    let checked = s.attestation.check_enrolment(
        evidence.as_ref(),
        &enrolment.nonce,
        &public,
        s.software_allowed,
        now,
    );
    enrolment.device.hardware_key = match checked {
        Ok(key) => key,
        Err(refusal) => return Err(refuse(&s, RefusalStage::Enrolment, &refusal).await),
    };
    let device_id = enrolment.device.id.clone();
    let Enrolled {
        account_id,
        kind,
        identity,
        login_id,
    } = match s.store.codes().redeem(enrolment).await? {
        CodeRedeem::Enrolled(enrolled) => enrolled,
        CodeRedeem::Refused(why) => return Err(refusal(why)),
    };
    let (issuer_key, credential) = match kind {
        AccountKind::Insured => {
            let (bytes, issuer_jwk) =
                credentials::issue(&s, &account_id, &device_id, &identity, &presentation_key)
                    .await?;
            (Some(issuer_jwk), Some(B64URL.encode(bytes)))
        }
        AccountKind::Practitioner => (None, None),
    };
    tracing::info!(%account_id, %device_id, "device enrolled");
    Ok(Json(EnrolResponse {
        account_id,
        device_id,
        kind,
        identity,
        server_key: s.keys.signer(Purpose::Challenge, s.clock.now()).jwk.clone(),
        issuer_key,
        poll_token,
        credential,
        oprf,
        login_id,
        offline_otp,
    }))
}

/// A checked enrolment request, ready to redeem.
struct Checked {
    /// The device key (the account key the answers are signed with, and the attestation's
    /// challenge binds).
    public: PublicKey,
    /// The key the insured credential binds: the device-tier key with a PIN guard, else the
    /// device key.
    presentation_key: PublicKey,
    /// The enrolment to redeem.
    enrolment: Enrolment,
    /// The new poll token.
    poll_token: String,
    /// The answer's `oprf`, with a PIN guard.
    oprf: Option<OprfInfo>,
    /// The answer's `offline_otp` (issue 16).
    offline_otp: Option<OfflineOtpInfo>,
}

/// Checks an enrolment request (key, proof, name, PIN-guard keys, code shape) and prepares
/// the device record with its PIN guard (without its hardware key: the caller checks the
/// attestation).
fn check(s: &Shared, req: EnrolRequest, now: i64) -> Result<Checked, ApiError> {
    let invalid_proof =
        |d: &str| ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidProof, d);
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
    // `iat` is the client's: `abs_diff` cannot overflow whatever it is (`(iat - now).abs()`
    // panicked in debug builds and let `now + i64::MIN` pass in release).
    if proof.iat.abs_diff(now) > SKEW_SECS.unsigned_abs() {
        return Err(invalid_proof(
            "the proof's iat is too far from the server time",
        ));
    }
    let name = device_name(&req.device_name)?;
    let code = CodeKey::parse(&req.activation_code).ok_or_else(wrong_code)?;
    let (presentation_key, pin_guard, oprf) = match &req.pin_guard {
        Some(keys) => {
            let jwk = |j, field: &str| {
                PublicKey::from_jwk(j).map_err(|_| {
                    ApiError::bad_request(format!("pin_guard.{field} is not a valid EC P-256 JWK"))
                })
            };
            let unlock = jwk(&keys.unlock_key, "unlock_key")?;
            let confirm = jwk(&keys.confirm_key, "confirm_key")?;
            let oprf_key = OprfServerKey::make().map_err(|e| ApiError::internal(&e))?;
            let key_id = secrets::make_id()?;
            let info = OprfInfo {
                suite: OPRF_SUITE.into(),
                mode: OPRF_MODE.into(),
                key_id: key_id.clone(),
                public_key: oprf_key.public_key().to_base64url(),
                guess_limit: s.config.pin_guess_limit,
            };
            let guard = NewPinGuard {
                key_id,
                // EXPOSE: the OPRF key goes into the store, which keeps it per device.
                secret_key: Zeroizing::new(oprf_key.to_bytes().to_vec()),
                unlock_key: unlock.as_sec1().to_vec(),
                confirm_key: confirm.as_sec1().to_vec(),
                guess_limit: s.config.pin_guess_limit,
            };
            (unlock, Some(guard), Some(info))
        }
        None => (public, None, None),
    };
    let poll_token = secrets::make_token()?;
    let device_id = secrets::make_id()?;
    // The offline code (issue 16): only for a wallet with a PIN guard (which keeps the
    // secret masked by its PIN), and only when a key to seal it at rest is configured.
    let (offline, offline_otp) = match (&pin_guard, s.config.offline_code_keys.is_enabled()) {
        (Some(_), true) => {
            let mut bytes = Zeroizing::new([0u8; totp::SECRET_LEN]);
            secrets::fill(bytes.as_mut())?;
            let secret = totp::TotpSecret::new(*bytes);
            let (key_id, sealed) = s
                .config
                .offline_code_keys
                .seal(&device_id, &secret)
                .map_err(|e| ApiError::internal(&e))?;
            let info = OfflineOtpInfo {
                // EXPOSE: sent once, in the enrolment answer, over the enrolment channel.
                secret: B64URL.encode(secret.expose()),
                algorithm: totp::ALGORITHM.into(),
                digits: totp::DIGITS,
                period: totp::PERIOD_SECS,
            };
            (Some(NewOfflineSecret { key_id, sealed }), Some(info))
        }
        _ => (None, None),
    };
    let device = NewDevice {
        id: device_id,
        name,
        public_key: public.as_sec1().to_vec(),
        // Set by the caller once the attestation is checked.
        hardware_key: None,
        poll_token_hash: secrets::hash(poll_token.as_bytes()),
        // A wallet older than the field reported nothing: software, the weaker claim.
        key_storage: req.key_storage.unwrap_or(KeyStorage::Software),
        pin_guard,
        offline,
    };
    let enrolment = Enrolment {
        nonce: proof.nonce,
        code,
        now,
        device,
    };
    Ok(Checked {
        public,
        presentation_key,
        enrolment,
        poll_token,
        oprf,
        offline_otp,
    })
}

/// The device name, trimmed: 1 to 100 display-safe characters.
fn device_name(given: &str) -> Result<String, ApiError> {
    let name = given.trim();
    if name.is_empty()
        || name.chars().count() > MAX_DEVICE_NAME
        || !vistalid_core::text::is_display_safe(name)
    {
        return Err(ApiError::bad_request(
            "device_name must be 1 to 100 characters, without control, format or \
             line-separator characters",
        ));
    }
    Ok(name.to_owned())
}

/// The one answer to a wrong activation code: unknown lookup, or any wrong secret.
fn wrong_code() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::InvalidActivationCode,
        "the activation code is wrong",
    )
}

/// The answer to a redemption that enrolled nothing.
fn refusal(why: CodeRefusal) -> ApiError {
    let forbidden = |e, d: &str| ApiError::new(StatusCode::FORBIDDEN, e, d);
    match why {
        CodeRefusal::InvalidNonce => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidNonce,
            "the nonce is unknown, used or expired; ask for a new one",
        ),
        CodeRefusal::WrongCode => wrong_code(),
        CodeRefusal::Used => forbidden(
            ErrorCode::ActivationCodeUsed,
            "this activation code was already used; ask for a new one",
        ),
        CodeRefusal::Expired => forbidden(
            ErrorCode::ActivationCodeExpired,
            "this activation code has expired; ask for a new one",
        ),
        CodeRefusal::Locked => forbidden(
            ErrorCode::ActivationCodeLocked,
            "too many wrong tries; this activation code is dead, ask for a new one",
        ),
    }
}
