// SPDX-License-Identifier: Apache-2.0
//! QR credentials for insured accounts: issuance at enrolment, the issuer's public keys, and
//! single-use online redemption.
//!
//! Guarantees:
//! - A credential binds the account's identity to the enrolled device key and is signed by
//!   the issuer key (a key of its own, not the OIDC key); its id is recorded with the device.
//! - Redemption is for registered clients only (HTTP Basic), checks the presentation's device
//!   signature with the key bound at enrolment (a revoked device's presentations are refused)
//!   and its time window, and accepts each presentation (by nonce) once: a second redemption
//!   answers 409 `already_redeemed`, even across restarts (the nonce is in SQLite).
//! - Redemption is bound to the audience: a client registered with an audience (admin
//!   `add-client --audience`) redeems only presentations addressed to exactly that audience;
//!   a client without one redeems only presentations that name no audience. Anything else is
//!   403 `wrong_audience`, checked after the device signature and before the single use is
//!   spent, so a QR shown to one professional cannot be burnt (or read) by another.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use rusqlite::OptionalExtension as _;
use vistalid_core::keys::PublicKey;
use vistalid_core::protocol::{Identity, RedeemRequest, RedeemResponse};
use vistalid_core::qr::credential::{self, CredentialClaims};
use vistalid_core::qr::{verify, QrError};

use crate::http::{ApiError, JsonBody};
use crate::{clients, Shared};

/// Validity of an issued credential: one year, then the insured enrols again.
const CREDENTIAL_VALIDITY_SECS: i64 = 365 * 24 * 3600;
/// Longest QR text accepted for redemption.
const MAX_QR_TEXT: usize = 4096;

/// Issues and records the credential of an insured account's newly enrolled device.
pub(crate) async fn issue_credential(
    s: &Arc<Shared>,
    account_id: &str,
    device_id: &str,
    identity: &Identity,
    device_key: &PublicKey,
) -> Result<Vec<u8>, ApiError> {
    let now = s.clock.now();
    let id = credential::make_credential_id().map_err(|e| ApiError::internal(&e))?;
    let claims = CredentialClaims {
        issuer: s.issuer.clone(),
        subject: identity.subject_name_id.clone(),
        given_name: identity.given_name.clone(),
        family_name: identity.family_name.clone(),
        credential_id: id.to_vec(),
        issued_at: now,
        expires_at: now.saturating_add(CREDENTIAL_VALIDITY_SECS),
    };
    let bytes = credential::issue(&s.issuer_key, &claims, device_key)
        .map_err(|e| ApiError::internal(&e))?;
    let (account, device, expires_at) = (
        account_id.to_owned(),
        device_id.to_owned(),
        claims.expires_at,
    );
    s.db.write(move |tx| -> Result<(), ApiError> {
        tx.prepare_cached(
            "INSERT INTO credentials (id, account_id, device_id, issued_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(rusqlite::params![
            id.to_vec(),
            account,
            device,
            now,
            expires_at
        ])?;
        Ok(())
    })
    .await?;
    Ok(bytes)
}

/// GET the issuer's public keys (JWKS shape): what verifiers trust.
pub(crate) async fn issuer_keys(State(s): State<Arc<Shared>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "keys": [s.issuer_jwk] }))
}

fn qr_error(e: &QrError) -> ApiError {
    match e {
        QrError::Expired => ApiError::new(
            StatusCode::GONE,
            "presentation_expired",
            "the QR code has expired; show a new one",
        ),
        QrError::NotYetValid => ApiError::new(
            StatusCode::BAD_REQUEST,
            "presentation_not_yet_valid",
            "the QR code is dated in the future",
        ),
        QrError::BadDeviceSignature => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "the QR code is not signed by the enrolled device",
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_qr",
            "the text is not a valid Vistalid QR code",
        ),
    }
}

/// POST redeem: single-use online check of a presentation by a registered client.
pub(crate) async fn redeem(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<RedeemRequest>,
) -> Result<Json<RedeemResponse>, ApiError> {
    let client = clients::authenticate(&s, &headers).await?;
    if req.qr.len() > MAX_QR_TEXT {
        return Err(ApiError::bad_request("qr is too long"));
    }
    let credential_id = verify::credential_id(&req.qr).map_err(|e| qr_error(&e))?;
    let lookup = credential_id.clone();
    let row =
        s.db.read(move |conn| -> Result<_, ApiError> {
            Ok(conn
                .prepare_cached(
                    "SELECT d.public_key, d.revoked_at, c.expires_at, a.subject_name_id,
                            a.given_name, a.family_name
                     FROM credentials c JOIN devices d ON d.id = c.device_id
                     JOIN accounts a ON a.id = c.account_id WHERE c.id = ?1",
                )?
                .query_row([&lookup], |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, i64>(2)?,
                        Identity {
                            subject_name_id: r.get(3)?,
                            given_name: r.get(4)?,
                            family_name: r.get(5)?,
                            profession: None,
                        },
                    ))
                })
                .optional()?)
        })
        .await?;
    let unknown = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_credential",
            "no such credential",
        )
    };
    let (sec1, revoked_at, cred_expires_at, identity) = row.ok_or_else(unknown)?;
    if revoked_at.is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "device_revoked",
            "the device that showed this QR code was revoked",
        ));
    }
    let now = s.clock.now();
    if now >= cred_expires_at {
        return Err(ApiError::new(
            StatusCode::GONE,
            "credential_expired",
            "the credential has expired; the insured must enrol again",
        ));
    }
    let key = PublicKey::from_sec1(&sec1).map_err(|e| ApiError::internal(&e))?;
    let facts = verify::verify_with_device_key(&req.qr, &key, now).map_err(|e| qr_error(&e))?;
    // Before the single use is spent: a presentation meant for someone else must stay
    // redeemable by its audience.
    if facts.audience != client.audience {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_audience",
            "this QR code is addressed to another audience than the one registered for this \
             client",
        ));
    }
    let nonce = facts.nonce.to_vec();
    let (client_id, cid, exp) = (
        client.client_id.clone(),
        credential_id.clone(),
        facts.expires_at,
    );
    let fresh = s
        .db
        .write(move |tx| -> Result<bool, ApiError> {
            tx.prepare_cached("DELETE FROM redemptions WHERE expires_at < ?1")?
                .execute([now.saturating_sub(3600)])?;
            let inserted = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO redemptions (nonce, credential_id, client_id, redeemed_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(rusqlite::params![nonce, cid, client_id, now, exp])?;
            Ok(inserted == 1)
        })
        .await?;
    if !fresh {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_redeemed",
            "this QR code was already used; ask for a new one",
        ));
    }
    Ok(Json(RedeemResponse {
        identity,
        credential_id: B64URL.encode(credential_id),
    }))
}
