// SPDX-License-Identifier: Apache-2.0
//! The token endpoint, CIBA grant in poll mode: one poll of a login request by the client
//! that made it, answered with the poll errors or, once, the ID token.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use vistalid_core::protocol::{ErrorCode, CIBA_GRANT_TYPE};

use crate::api::{no_store, ApiError, FormBody};
use crate::clients;
use crate::id_token;
use crate::secrets;
use crate::state::Shared;
use crate::store::{NotGranted, Poll, TokenPoll};

/// Seconds after a request's expiry during which an approved request can still be redeemed
/// (the relying party polls at `interval`, so approval at the last second must not be lost).
const REDEEM_GRACE_SECS: i64 = 30;
/// Longest `auth_req_id` looked up.
const MAX_AUTH_REQ_ID: usize = 128;

/// Form parameters of the token endpoint.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    grant_type: Option<String>,
    auth_req_id: Option<String>,
}

/// POST token endpoint (CIBA grant, poll mode).
pub(crate) async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    FormBody(form): FormBody<TokenForm>,
) -> Result<Response, ApiError> {
    let client = clients::authenticate(&s, &headers).await?;
    match form.grant_type.as_deref() {
        Some(CIBA_GRANT_TYPE) => {}
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::UnsupportedGrantType,
                "only the CIBA grant is supported",
            ))
        }
        None => return Err(ApiError::bad_request("grant_type is required")),
    }
    let auth_req_id = form
        .auth_req_id
        .filter(|v| !v.is_empty() && v.len() <= MAX_AUTH_REQ_ID)
        .ok_or_else(|| ApiError::bad_request("auth_req_id is required"))?;
    let now = s.clock.now();
    let access_token = secrets::make_token()?;
    let poll = TokenPoll {
        auth_req_id,
        client_id: client.client_id.clone(),
        now,
        access_token_hash: secrets::hash(access_token.as_bytes()),
        grace_secs: REDEEM_GRACE_SECS,
    };
    let grant = match s.store.requests().poll(poll).await? {
        Poll::Granted(grant) => grant,
        Poll::NotGranted(why) => return Err(poll_error(why)),
    };
    let id_token = id_token::sign(&s, &client.client_id, &grant, now)?;
    tracing::info!(client = %client.client_id, "ID token issued");
    Ok(no_store(
        Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": s.config.token_ttl_secs,
            "id_token": id_token,
        }))
        .into_response(),
    ))
}

/// The CIBA poll error (CIBA Core §11) of a poll that granted nothing.
fn poll_error(why: NotGranted) -> ApiError {
    let bad = |error, d: &str| ApiError::new(StatusCode::BAD_REQUEST, error, d);
    match why {
        NotGranted::Unknown => bad(ErrorCode::InvalidGrant, "unknown auth_req_id"),
        NotGranted::AlreadyIssued => bad(
            ErrorCode::InvalidGrant,
            "the token for this request was already issued",
        ),
        NotGranted::Denied(reason) => bad(ErrorCode::AccessDenied, reason.description()),
        NotGranted::Expired => bad(
            ErrorCode::ExpiredToken,
            "the request expired before the user approved it; start a new one",
        ),
        NotGranted::SlowDown => bad(
            ErrorCode::SlowDown,
            "polling faster than the interval; wait longer between polls",
        ),
        NotGranted::Pending => bad(
            ErrorCode::AuthorizationPending,
            "the user has not answered yet",
        ),
    }
}
