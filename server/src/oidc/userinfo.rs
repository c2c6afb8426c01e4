// SPDX-License-Identifier: Apache-2.0
//! The userinfo endpoint (OIDC Core §5.3), GET and POST, with a bearer access token (RFC 6750:
//! the `Authorization` header, or the form's `access_token` on POST).
//!
//! Guarantees:
//! - A live access token (not expired, its family not revoked) answers the claims of its
//!   account: `sub` (the ID token's) and Pro Santé Connect's identity claims (`SubjectNameID`,
//!   `preferred_username`, `given_name`, `family_name`, `SubjectRefPro.exercices[]
//!   .codeProfession` for practitioners, `vistalid_account_kind`); JSON, or an ES256 JWT
//!   (`application/jwt`, with `iss` and `aud`) when the client registered
//!   `userinfo_signed_response_alg=ES256`. Never cached.
//! - No token: 401 with `WWW-Authenticate: Bearer realm="vistalid"`; an unknown, expired or
//!   revoked one: 401 `invalid_token` with `error="invalid_token"` in the challenge. Both
//!   header and form token at once: 400 `invalid_request` (RFC 6750 §2).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use vistalid_core::protocol::ErrorCode;
use zeroize::Zeroizing;

use crate::api::{bearer, no_store, ApiError};
use crate::clients;
use crate::id_token;
use crate::ordered;
use crate::state::Shared;
use crate::store::AccessGrant;

/// The challenge when no token came.
const NO_TOKEN: &str = "Bearer realm=\"vistalid\"";
/// The challenge for a token that grants nothing.
const BAD_TOKEN: &str = "Bearer realm=\"vistalid\", error=\"invalid_token\", \
                         error_description=\"the access token is unknown, expired or revoked\"";
/// Longest form token looked up.
const MAX_TOKEN: usize = 128;
/// The form media type.
const FORM: &str = "application/x-www-form-urlencoded";

/// GET userinfo.
pub(crate) async fn userinfo_get(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = bearer(&headers).map(|t| Zeroizing::new(t.to_owned()));
    answer(&s, token).await
}

/// POST userinfo: the token in the header or in a form body's `access_token`; an empty
/// body (no form) is allowed.
pub(crate) async fn userinfo_post(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let in_header = bearer(&headers).map(|t| Zeroizing::new(t.to_owned()));
    let in_form = form_token(&headers, &body)?;
    let token = match (in_header, in_form) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "send the access token once: in the Authorization header or in the form",
            ))
        }
        (h, f) => h.or(f),
    };
    answer(&s, token).await
}

/// The `access_token` of a form body (RFC 6750 §2.2), if the body is one and has it.
fn form_token(headers: &HeaderMap, body: &[u8]) -> Result<Option<Zeroizing<String>>, ApiError> {
    if body.is_empty() {
        return Ok(None);
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(FORM))
        });
    if !is_form {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidRequest,
            "a userinfo body must be application/x-www-form-urlencoded",
        ));
    }
    let mut found = None;
    for (k, v) in url::form_urlencoded::parse(body) {
        if k != "access_token" {
            continue;
        }
        if found.is_some() {
            return Err(ApiError::bad_request(
                "malformed form body: duplicate field `access_token`",
            ));
        }
        if v.is_empty() || v.len() > MAX_TOKEN {
            return Err(ApiError::bad_request("access_token is empty or too long"));
        }
        found = Some(Zeroizing::new(v.into_owned()));
    }
    Ok(found)
}

/// The claims of the account behind `token`, or the 401 of RFC 6750 §3.
async fn answer(s: &Shared, token: Option<Zeroizing<String>>) -> Result<Response, ApiError> {
    let Some(token) = token else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidToken,
            "a bearer access token is required",
        )
        .with_challenge(NO_TOKEN));
    };
    let now = s.clock.now();
    let Some(grant) = s
        .store
        .tokens()
        .access(ordered::token_key(&token), now)
        .await?
    else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidToken,
            "the access token is unknown, expired or revoked",
        )
        .with_challenge(BAD_TOKEN));
    };
    let signed = clients::find(s, &grant.client_id)
        .await?
        .is_some_and(|c| c.userinfo_signed);
    let mut claims = claims(&grant);
    if !signed {
        return Ok(no_store(Json(claims).into_response()));
    }
    claims["iss"] = json!(s.issuer);
    claims["aud"] = json!(grant.client_id);
    claims["iat"] = json!(now);
    let jwt = id_token::sign_claims(s, &claims)?;
    let mut r = jwt.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwt"),
    );
    Ok(no_store(r))
}

/// The userinfo claims of `grant` (see the module guarantees).
fn claims(grant: &AccessGrant) -> serde_json::Value {
    let mut claims = json!({ "sub": grant.account_id });
    id_token::add_identity(&mut claims, grant.kind, &grant.identity);
    claims
}
