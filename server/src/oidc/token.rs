// SPDX-License-Identifier: Apache-2.0
//! The token endpoint: client authentication (`client_secret_basic` or
//! `client_secret_post`), then one grant: CIBA in poll mode (one poll of a login request by
//! the client that made it, answered with the poll errors or, once, the ID token), the
//! browser login's `authorization_code` (see `code_grant`) or `refresh_token` (see
//! `refresh`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use vistalid_core::protocol::ErrorCode;

use super::token_request::{self, TokenForm, TokenRequest};
use super::{code_grant, refresh};
use crate::api::{no_store, ApiError, FormBody};
use crate::clients::{self, Posted};
use crate::domain::secs;
use crate::id_token;
use crate::ordered;
use crate::state::Shared;
use crate::store::{NotGranted, Poll, TokenPoll};

/// Seconds after a request's expiry during which an approved request can still be redeemed
/// (the relying party polls at `interval`, so approval at the last second must not be lost).
const REDEEM_GRACE_SECS: i64 = 30;
/// POST token endpoint (every grant).
pub(crate) async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    FormBody(form): FormBody<TokenForm>,
) -> Result<Response, ApiError> {
    let posted = Posted {
        client_id: form.client_id.as_deref(),
        client_secret: form.client_secret.as_deref(),
    };
    let client = clients::authenticate_either(&s, &headers, posted).await?;
    match token_request::parse(&form)? {
        TokenRequest::Ciba { auth_req_id } => ciba_poll(&s, &client.client_id, auth_req_id).await,
        TokenRequest::Code {
            code,
            redirect_uri,
            verifier_challenge,
        } => {
            code_grant::exchange(
                &s,
                &client.client_id,
                &code,
                redirect_uri,
                verifier_challenge,
            )
            .await
        }
        TokenRequest::Refresh {
            refresh_token,
            scope,
        } => refresh::refresh(&s, &client.client_id, &refresh_token, scope.as_deref()).await,
    }
}

/// One CIBA poll of `auth_req_id` by `client_id`.
async fn ciba_poll(s: &Shared, client_id: &str, auth_req_id: String) -> Result<Response, ApiError> {
    let now = s.clock.now();
    let access_token = ordered::make_ordered_token()?;
    let poll = TokenPoll {
        auth_req_id,
        client_id: client_id.to_owned(),
        now,
        access_token_hash: ordered::token_key(&access_token),
        access_token_exp: now.saturating_add(secs(s.config.token_ttl_secs)),
        grace_secs: REDEEM_GRACE_SECS,
    };
    let grant = match s.store.requests().poll(poll).await? {
        Poll::Granted(grant) => grant,
        Poll::NotGranted(why) => return Err(poll_error(why)),
    };
    let id_token = id_token::sign(s, client_id, &grant, now)?;
    tracing::info!(client = %client_id, "ID token issued");
    Ok(no_store(
        Json(json!({
            "access_token": access_token.as_str(),
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
