// SPDX-License-Identifier: Apache-2.0
//! OIDC discovery (what this server supports, exactly) and its JWKS.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use vistalid_core::protocol::{
    AUTHORIZATION_CODE_GRANT_TYPE, CIBA_GRANT_TYPE, PATH_AUTHORIZE, PATH_CIBA, PATH_END_SESSION,
    PATH_JWKS, PATH_TOKEN, PATH_USERINFO, REFRESH_TOKEN_GRANT_TYPE,
};

use crate::api::cacheable;
use crate::domain::lang::Lang;
use crate::id_token::{ACR, OFFLINE_ACR};
use crate::keyring::Purpose;
use crate::state::Shared;

/// GET discovery: the OpenID provider metadata. `acr_values_supported` lists the offline
/// code's level ([`OFFLINE_ACR`]) only when an offline-code key is configured: a server that
/// cannot give that level does not advertise it.
pub(crate) async fn discovery(State(s): State<Arc<Shared>>) -> Response {
    let iss = &s.issuer;
    let acr_values: &[&str] = if s.config.offline_code_keys.is_enabled() {
        &[ACR, OFFLINE_ACR]
    } else {
        &[ACR]
    };
    let body = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}{PATH_AUTHORIZE}"),
        "token_endpoint": format!("{iss}{PATH_TOKEN}"),
        "jwks_uri": format!("{iss}{PATH_JWKS}"),
        "backchannel_authentication_endpoint": format!("{iss}{PATH_CIBA}"),
        "backchannel_token_delivery_modes_supported": ["poll"],
        "backchannel_user_code_parameter_supported": false,
        "grant_types_supported": [
            AUTHORIZATION_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE, CIBA_GRANT_TYPE
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "userinfo_endpoint": format!("{iss}{PATH_USERINFO}"),
        "end_session_endpoint": format!("{iss}{PATH_END_SESSION}"),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "userinfo_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": super::SCOPES,
        "acr_values_supported": acr_values,
        "prompt_values_supported": ["none", "login"],
        "ui_locales_supported": Lang::ALL.map(Lang::tag),
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_supported": [
            "iss", "sub", "aud", "azp", "iat", "exp", "auth_time", "nonce", "at_hash", "acr",
            "amr", "sid", "SubjectNameID", "preferred_username", "given_name", "family_name",
            "SubjectRefPro", "vistalid_account_kind"
        ],
        "claim_types_supported": ["normal"],
    });
    cacheable(Json(body).into_response())
}

/// GET JWKS: the server's published ES256 ID-token keys (issue 19: the next key from its
/// pre-publication on, a retired one until every token it signed has expired), each with
/// its `kid`.
pub(crate) async fn jwks(State(s): State<Arc<Shared>>) -> Response {
    let keys: Vec<_> = s
        .keys
        .published(Purpose::IdToken, s.clock.now())
        .iter()
        .map(|k| k.jwk.clone())
        .collect();
    cacheable(Json(json!({ "keys": keys })).into_response())
}
