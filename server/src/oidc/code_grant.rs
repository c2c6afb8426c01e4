// SPDX-License-Identifier: Apache-2.0
//! The token endpoint's `authorization_code` grant (RFC 6749 §4.1.3, RFC 7636 §4.6): one
//! code, exchanged once by the client it was issued to, for an ID token, an access token and
//! the first refresh token of a new family.
//!
//! Guarantees: a code is granted only to its client, with its `redirect_uri`, with the PKCE
//! verifier whose S256 is its challenge, before its 60 s are over, while its SSO session and
//! its device stand; every refusal is 400 `invalid_grant` saying which of these failed
//! (another client's code reads as unknown). A second use of a code is refused and revokes
//! the family (refresh and access tokens) the first use opened.

use axum::http::StatusCode;
use axum::response::Response;
use vistalid_core::protocol::ErrorCode;
use zeroize::Zeroizing;

use super::issued::Fresh;
use crate::api::ApiError;
use crate::ordered;
use crate::state::Shared;
use crate::store::{CodeExchange, ExchangeRefusal, Exchanged};

/// Exchanges `code` for `client_id` (already authenticated).
pub(super) async fn exchange(
    s: &Shared,
    client_id: &str,
    code: &Zeroizing<String>,
    redirect_uri: String,
    verifier_challenge: String,
) -> Result<Response, ApiError> {
    let now = s.clock.now();
    let fresh = Fresh::draw(s, now)?;
    let x = CodeExchange {
        code_hash: ordered::token_key(code),
        client_id: client_id.to_owned(),
        redirect_uri,
        verifier_challenge,
        now,
        family_id: ordered::make_ordered_id()?,
        access: fresh.access_row,
        refresh: fresh.refresh_row,
    };
    match s.store.tokens().exchange_code(x).await? {
        Exchanged::Granted(grant) => {
            tracing::info!(client = %client_id, sid = %grant.sid, "code exchanged");
            fresh.respond(s, client_id, &grant, now)
        }
        Exchanged::Refused(why) => {
            if why == ExchangeRefusal::Replayed {
                tracing::warn!(client = %client_id, "code replayed: its tokens are revoked");
            }
            Err(refusal(why))
        }
    }
}

/// The `invalid_grant` answer of a refused exchange.
fn refusal(why: ExchangeRefusal) -> ApiError {
    let text = match why {
        ExchangeRefusal::Unknown => "unknown authorization code",
        ExchangeRefusal::Expired => "the authorization code expired; log in again",
        ExchangeRefusal::Replayed => {
            "the authorization code was already used; the tokens it gave are revoked"
        }
        ExchangeRefusal::WrongRedirect => {
            "redirect_uri differs from the one of the authorization request"
        }
        ExchangeRefusal::WrongVerifier => {
            "code_verifier does not match the code_challenge (PKCE S256)"
        }
        ExchangeRefusal::SessionEnded => "the login session behind this code has ended",
    };
    ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidGrant, text)
}
