// SPDX-License-Identifier: Apache-2.0
//! The token endpoint's `refresh_token` grant (RFC 6749 §6), with rotation and reuse
//! detection (OAuth 2.0 Security BCP §4.14.2).
//!
//! Guarantees: a refresh token works once, for its client, before its expiry, while its
//! family and SSO session stand; a refresh counts as a use of the session (it keeps the
//! session from going idle; one after the idle lifetime ends the family). It is exchanged
//! for a new access token, a new refresh token of the same family and a new ID token (same
//! `sub`, `sid` and `auth_time`), all with the scope first granted. A rotated token presented again revokes its whole family. A `scope`
//! naming a value this server never grants is 400 `invalid_scope` (the token is not spent);
//! every other refusal is 400 `invalid_grant` saying why.

use axum::http::StatusCode;
use axum::response::Response;
use vistalid_core::protocol::ErrorCode;
use zeroize::Zeroizing;

use super::issued::Fresh;
use crate::api::ApiError;
use crate::domain::secs;
use crate::ordered;
use crate::state::Shared;
use crate::store::{RefreshRefusal, RefreshTry, Refreshed};

/// Exchanges `refresh_token` for `client_id` (already authenticated).
pub(super) async fn refresh(
    s: &Shared,
    client_id: &str,
    refresh_token: &Zeroizing<String>,
    scope: Option<&str>,
) -> Result<Response, ApiError> {
    let now = s.clock.now();
    let fresh = Fresh::draw(s, now)?;
    let r = RefreshTry {
        hash: ordered::token_key(refresh_token),
        client_id: client_id.to_owned(),
        now,
        idle_secs: secs(s.config.session_idle_secs),
        access: fresh.access_row,
        refresh: fresh.refresh_row,
    };
    // A scope beyond what this server grants at all is refused before the token is spent;
    // within it, the new tokens keep the scope first granted (the response says which).
    if let Some(asked) = scope {
        if !asked.split(' ').all(|v| super::SCOPES.contains(&v)) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidScope,
                "a refresh cannot widen the granted scope",
            ));
        }
    }
    let grant = match s.store.tokens().refresh(r).await? {
        Refreshed::Granted(grant) => grant,
        Refreshed::Refused(why) => {
            if why == RefreshRefusal::Replayed {
                tracing::warn!(client = %client_id, "refresh token replayed: family revoked");
            }
            return Err(refusal(why));
        }
    };
    tracing::info!(client = %client_id, sid = %grant.sid, "refresh token rotated");
    fresh.respond(s, client_id, &grant, now)
}

/// The `invalid_grant` answer of a refused refresh.
fn refusal(why: RefreshRefusal) -> ApiError {
    let text = match why {
        RefreshRefusal::Unknown => "unknown refresh token",
        RefreshRefusal::Expired => "the refresh token expired; log in again",
        RefreshRefusal::Revoked => "the refresh token was revoked (logout or token reuse)",
        RefreshRefusal::Replayed => {
            "the refresh token was already used; every token of its login is revoked"
        }
    };
    ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidGrant, text)
}
