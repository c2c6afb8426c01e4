// SPDX-License-Identifier: Apache-2.0
//! OIDC discovery (what this server supports, exactly), its JWKS, and the authorization
//! endpoint, which refuses every request (CIBA only, until the browser login).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use vistalid_core::protocol::{
    ErrorCode, CIBA_GRANT_TYPE, PATH_AUTHORIZE, PATH_CIBA, PATH_JWKS, PATH_TOKEN,
};

use crate::api::{cacheable, ApiError};
use crate::id_token::ACR;
use crate::state::Shared;

/// GET discovery: the OpenID provider metadata.
pub(crate) async fn discovery(State(s): State<Arc<Shared>>) -> Response {
    let iss = &s.issuer;
    let body = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}{PATH_AUTHORIZE}"),
        "token_endpoint": format!("{iss}{PATH_TOKEN}"),
        "jwks_uri": format!("{iss}{PATH_JWKS}"),
        "backchannel_authentication_endpoint": format!("{iss}{PATH_CIBA}"),
        "backchannel_token_delivery_modes_supported": ["poll"],
        "backchannel_user_code_parameter_supported": false,
        "grant_types_supported": [CIBA_GRANT_TYPE],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "scopes_supported": ["openid"],
        "acr_values_supported": [ACR],
        "claims_supported": [
            "iss", "sub", "aud", "iat", "exp", "auth_time", "acr", "amr",
            "SubjectNameID", "preferred_username", "given_name", "family_name", "SubjectRefPro",
            "vistalid_account_kind"
        ],
        "claim_types_supported": ["normal"],
    });
    cacheable(Json(body).into_response())
}

/// GET JWKS: the server's ES256 public key.
pub(crate) async fn jwks(State(s): State<Arc<Shared>>) -> Response {
    cacheable(Json(json!({ "keys": [s.jwk] })).into_response())
}

/// The authorization endpoint: this server supports CIBA only.
pub(crate) async fn authorize() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::UnsupportedResponseType,
        "this server supports only CIBA (backchannel authentication, poll mode)",
    )
}
