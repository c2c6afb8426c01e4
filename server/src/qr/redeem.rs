// SPDX-License-Identifier: Apache-2.0
//! Single-use online redemption of a QR presentation by a registered client.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use vistalid_core::keys::PublicKey;
use vistalid_core::protocol::{ErrorCode, RedeemRequest, RedeemResponse};
use vistalid_core::qr::{verify, QrError};

use crate::api::{ApiError, JsonBody};
use crate::clients;
use crate::state::Shared;
use crate::store::{NewRedemption, Presenter, Redemption};

/// Longest QR text accepted for redemption.
const MAX_QR_TEXT: usize = 4096;

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
    let now = s.clock.now();
    let presenter = presenter(&s, &credential_id, now).await?;
    let key = PublicKey::from_sec1(&presenter.public_key).map_err(|e| ApiError::internal(&e))?;
    let facts = verify::verify_with_device_key(&req.qr, &key, now).map_err(|e| qr_error(&e))?;
    // Before the single use is spent: a presentation meant for someone else must stay
    // redeemable by its audience.
    if facts.audience != client.audience {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::WrongAudience,
            "this QR code is addressed to another audience than the one registered for this \
             client",
        ));
    }
    let redemption = NewRedemption {
        nonce: facts.nonce.to_vec(),
        credential_id: credential_id.clone(),
        client_id: client.client_id.clone(),
        now,
        expires_at: facts.expires_at,
    };
    if s.store.credentials().redeem(redemption).await? == Redemption::AlreadyRedeemed {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::AlreadyRedeemed,
            "this QR code was already used; ask for a new one",
        ));
    }
    Ok(Json(RedeemResponse {
        identity: presenter.identity,
        credential_id: B64URL.encode(credential_id),
    }))
}

/// Who credential `id` was issued to, if it exists, its device is not revoked and it has not
/// expired at `now`.
async fn presenter(s: &Shared, id: &[u8], now: i64) -> Result<Presenter, ApiError> {
    let presenter = s.store.credentials().presenter(id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownCredential,
            "no such credential",
        )
    })?;
    if presenter.revoked {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::DeviceRevoked,
            "the device that showed this QR code was revoked",
        ));
    }
    if now >= presenter.expires_at {
        return Err(ApiError::new(
            StatusCode::GONE,
            ErrorCode::CredentialExpired,
            "the credential has expired; the insured must enrol again",
        ));
    }
    Ok(presenter)
}

fn qr_error(e: &QrError) -> ApiError {
    match e {
        QrError::Expired => ApiError::new(
            StatusCode::GONE,
            ErrorCode::PresentationExpired,
            "the QR code has expired; show a new one",
        ),
        QrError::NotYetValid => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::PresentationNotYetValid,
            "the QR code is dated in the future",
        ),
        QrError::BadDeviceSignature => ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidSignature,
            "the QR code is not signed by the enrolled device",
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidQr,
            "the text is not a valid Vistalid QR code",
        ),
    }
}
