// SPDX-License-Identifier: Apache-2.0
//! The tokens a browser login's grant (code or refresh) issues: fresh random access and
//! refresh tokens (only their SHA-256 is stored) and the token response carrying them with
//! the ID token.
//!
//! Guarantees: each token is 256 random bits; the access token lives
//! `access_token_ttl_secs`, the refresh token `refresh_token_ttl_secs` (the store cuts it at
//! its family's end, and the response says the cut lifetime); the response is `no-store`.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use zeroize::Zeroizing;

use crate::api::{no_store, ApiError};
use crate::domain::secs;
use crate::id_token;
use crate::ordered;
use crate::state::Shared;
use crate::store::{NewToken, TokenGrant};

/// A fresh access and refresh token pair, not yet stored.
pub(super) struct Fresh {
    access: Zeroizing<String>,
    refresh: Zeroizing<String>,
    /// What the store keeps of the access token.
    pub(super) access_row: NewToken,
    /// What the store keeps of the refresh token.
    pub(super) refresh_row: NewToken,
}

impl Fresh {
    /// Draws a pair issued at `now`.
    pub(super) fn draw(s: &Shared, now: i64) -> Result<Self, ApiError> {
        let access = ordered::make_ordered_token()?;
        let refresh = ordered::make_ordered_token()?;
        Ok(Self {
            access_row: NewToken {
                hash: ordered::token_key(&access),
                expires_at: now.saturating_add(secs(s.config.access_token_ttl_secs)),
            },
            refresh_row: NewToken {
                hash: ordered::token_key(&refresh),
                expires_at: now.saturating_add(secs(s.config.refresh_token_ttl_secs)),
            },
            access,
            refresh,
        })
    }

    /// The token response (RFC 6749 §5.1, OIDC Core §3.1.3.3) of the stored pair, with the
    /// ID token of `grant` for `client_id`.
    pub(super) fn respond(
        self,
        s: &Shared,
        client_id: &str,
        grant: &TokenGrant,
        now: i64,
    ) -> Result<Response, ApiError> {
        let id_token = id_token::sign_browser(s, client_id, grant, &self.access, now)?;
        Ok(no_store(
            Json(json!({
                "access_token": self.access.as_str(),
                "token_type": "Bearer",
                "expires_in": s.config.access_token_ttl_secs,
                "refresh_token": self.refresh.as_str(),
                "refresh_expires_in": grant.refresh_expires_at.saturating_sub(now).max(0),
                "id_token": id_token,
                "scope": grant.scope,
            }))
            .into_response(),
        ))
    }
}
