// SPDX-License-Identifier: Apache-2.0
//! The OpenAPI 3.1 document of the HTTP API, built from the same path constants, error codes
//! and limits as the router, and served at `/openapi.json`.
//!
//! Guarantees: every route of the router is described with its request body (JSON or
//! form-encoded), its authentication (HTTP Basic for relying parties, bearer poll token for
//! devices) and every status it can answer, errors as `ErrorBody`. The checked-in copy
//! `server/openapi.json` is compared with this document by `tests/openapi.rs`, and the
//! schemas are checked against the live server by `scripts/schemathesis.sh`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use vistalid_core::protocol::{
    AnswerStatus, KeyStorage, AUTHORIZATION_CODE_GRANT_TYPE, CIBA_GRANT_TYPE, OPRF_MODE,
    OPRF_SUITE, PATH_ANSWER, PATH_AUTHORIZE, PATH_CHALLENGES, PATH_CIBA, PATH_DISCOVERY,
    PATH_END_SESSION, PATH_ENROL, PATH_ENROL_NONCE, PATH_ISSUER_KEYS, PATH_JWKS, PATH_KEY_ROLLOVER,
    PATH_LOGIN_STATUS, PATH_PIN_CONFIRM, PATH_PIN_GUESS, PATH_REDEEM, PATH_TOKEN, PATH_USERINFO,
    REFRESH_TOKEN_GRANT_TYPE,
};

use crate::api::PATH_OPENAPI;
use crate::attestation::MAX_CHAIN_LEN;
use crate::state::Shared;

/// GET `/openapi.json`.
pub(crate) async fn serve(State(s): State<Arc<Shared>>) -> Response {
    Json(document(&s.issuer)).into_response()
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

fn ok(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": json_content(schema_ref(schema)) })
}

fn error(description: &str) -> Value {
    json!({ "description": description, "content": json_content(schema_ref("ErrorBody")) })
}

/// Responses every route can give: timeouts, oversized bodies, server faults.
fn common_errors(responses: &mut Map<String, Value>, with_body: bool) {
    responses.insert(
        "500".into(),
        error("`server_error`: database or random generator fault"),
    );
    if with_body {
        responses.insert(
            "413".into(),
            error("`request_too_large`: body over the limit"),
        );
        responses.insert(
            "415".into(),
            error("`invalid_request`: wrong or missing Content-Type"),
        );
        responses.insert("408".into(), error("request timeout"));
    }
}

fn operation(
    id: &str,
    summary: &str,
    tag: &str,
    responses: Vec<(&str, Value)>,
    with_body: bool,
) -> Map<String, Value> {
    let mut r = Map::new();
    for (code, v) in responses {
        r.insert(code.into(), v);
    }
    common_errors(&mut r, with_body);
    let mut op = Map::new();
    op.insert("operationId".into(), json!(id));
    op.insert("summary".into(), json!(summary));
    op.insert("tags".into(), json!([tag]));
    op.insert("responses".into(), Value::Object(r));
    op
}

fn form_body(schema: &str) -> Value {
    json!({
        "required": true,
        "content": { "application/x-www-form-urlencoded": { "schema": schema_ref(schema) } }
    })
}

fn json_body(schema: &str) -> Value {
    json!({ "required": true, "content": json_content(schema_ref(schema)) })
}

fn paths() -> Value {
    let basic = json!([{ "basicAuth": [] }]);
    let bearer = json!([{ "bearerPollToken": [] }]);

    let discovery = operation(
        "discovery",
        "OpenID Provider metadata",
        "oidc",
        vec![("200", ok("provider metadata", "Discovery"))],
        false,
    );
    let jwks = operation(
        "jwks",
        "The server's ES256 public key as a JWK Set",
        "oidc",
        vec![("200", ok("JWK Set", "JwkSet"))],
        false,
    );
    let authorize = |id: &str| {
        operation(
            id,
            "Authorization endpoint (code + PKCE S256, ADR 0002): a 303 to the login page, or back to the registered redirect_uri with `code` (SSO session) or `error`",
            "oidc",
            vec![
                ("303", json!({ "description": "to the login page, or to the registered redirect_uri with `code` or `error` (`invalid_request`, `unsupported_response_type`, `invalid_scope`, `login_required`, `unmet_authentication_requirements`, `request_not_supported`, `request_uri_not_supported`), `state` and `iss`" })),
                ("400", json!({ "description": "HTML error page: unknown client_id or unregistered redirect_uri (never redirected)", "content": { "text/html": { "schema": string() } } })),
            ],
            false,
        )
    };
    let mut login_status = operation(
        "loginStatus",
        "The login page's state for its script (long-poll); needs the attempt's browser cookie",
        "browser",
        vec![
            ("200", ok("the attempt's state", "LoginStatus")),
            (
                "400",
                error("`invalid_request`: malformed query (wait over 25)"),
            ),
            (
                "404",
                error("`not_found`: unknown attempt, or not this browser's"),
            ),
        ],
        false,
    );
    login_status.insert(
        "parameters".into(),
        json!([
            {
                "name": "attempt", "in": "path", "required": true,
                "description": "The login attempt id.",
                "schema": { "type": "string" }
            },
            {
                "name": "wait", "in": "query", "required": false,
                "description": "Seconds to wait for a change while waiting (default 0).",
                "schema": { "type": "integer", "minimum": 0, "maximum": 25 }
            }
        ]),
    );

    let mut ciba = operation(
        "ciba",
        "CIBA backchannel authentication request (poll mode)",
        "oidc",
        vec![
            ("200", ok("request accepted", "CibaResponse")),
            (
                "400",
                error("`invalid_request` (a text over its length or holding control, format, bidirectional or line-separator characters, named in the description), `invalid_scope`, `unknown_user_id` (unknown hint, no active device, or an insured account: CIBA is for practitioners), `invalid_binding_message`; `invalid_request` also for two client authentication methods at once"),
            ),
            ("401", error("`invalid_client`: client authentication (HTTP Basic, or client_id and client_secret in the form) missing or wrong")),
            (
                "403",
                error("`access_denied`: the user recently answered \"this was not me\"; new requests for the account are held for `not_me_hold_secs` (`Retry-After`); `attestation_required`: no active device of the account meets this client's attestation requirements (the policy file's `clients`)"),
            ),
            (
                "429",
                error("`slow_down`: too many pending requests for the account, too many requests by the client per minute, or wrong-pick back-off after recent wrong code picks (`Retry-After`)"),
            ),
        ],
        true,
    );
    ciba.insert("security".into(), basic.clone());
    ciba.insert("requestBody".into(), form_body("CibaForm"));

    let mut token = operation(
        "token",
        "Token endpoint: CIBA grant poll, authorization_code (PKCE S256) and refresh_token grants",
        "oidc",
        vec![
            (
                "200",
                ok("CIBA: the ID token, issued once; code and refresh grants: ID, access and refresh tokens", "TokenResponse"),
            ),
            (
                "400",
                error("`authorization_pending`, `slow_down`, `access_denied`, `expired_token` (CIBA); `invalid_grant` (unknown, expired, reused, another client's or another redirect_uri's code, wrong PKCE verifier, a used, revoked or expired refresh token); `invalid_scope`, `unsupported_grant_type`, `invalid_request` (also: two client authentication methods at once)"),
            ),
            ("401", error("`invalid_client`: client authentication (HTTP Basic, or client_id and client_secret in the form) missing or wrong")),
        ],
        true,
    );
    token.insert("security".into(), basic);
    token.insert("requestBody".into(), form_body("TokenForm"));

    let userinfo_ok = json!({
        "description": "the account's claims: JSON, or an ES256 JWT when the client registered userinfo_signed_response_alg=ES256",
        "content": {
            "application/json": { "schema": schema_ref("Userinfo") },
            "application/jwt": { "schema": { "type": "string" } }
        }
    });
    let userinfo_unauthorized = error(
        "`invalid_token`: bearer access token missing, unknown, expired or revoked (`WWW-Authenticate: Bearer`)",
    );
    let mut userinfo_get = operation(
        "userinfoGet",
        "Userinfo (bearer access token)",
        "oidc",
        vec![
            ("200", userinfo_ok.clone()),
            ("401", userinfo_unauthorized.clone()),
        ],
        false,
    );
    userinfo_get.insert("security".into(), json!([{ "bearerAccessToken": [] }]));
    let mut userinfo_post = operation(
        "userinfoPost",
        "Userinfo (bearer access token in the header or the form)",
        "oidc",
        vec![
            ("200", userinfo_ok),
            (
                "400",
                error("`invalid_request`: the token sent twice, empty or too long"),
            ),
            ("401", userinfo_unauthorized),
        ],
        true,
    );
    userinfo_post.insert("security".into(), json!([{ "bearerAccessToken": [] }, {}]));
    userinfo_post.insert(
        "requestBody".into(),
        json!({
            "required": false,
            "content": { "application/x-www-form-urlencoded": { "schema": schema_ref("UserinfoForm") } }
        }),
    );

    let html =
        |d: &str| json!({ "description": d, "content": { "text/html": { "schema": string() } } });
    let logout = |id: &str, with_body: bool| {
        let mut op = operation(
            id,
            "RP-initiated logout: ends the SSO session, then returns to a registered post_logout_redirect_uri or shows the session closed page",
            "oidc",
            vec![
                ("200", html("the \"session closed\" page (`data-state=\"logged_out\"`); without a valid id_token_hint, a browser with a session first gets the confirmation page (`data-state=\"logout_confirm\"`, `form#logout` posting back here with its `csrf`)")),
                ("303", json!({ "description": "back to the registered post_logout_redirect_uri, with `state`" })),
                (
                    "400",
                    json!({
                        "description": "an id_token_hint this server did not sign, a client mismatch, or an unregistered post_logout_redirect_uri: the error page (`data-state=\"error\"`), never a redirect; a malformed query or form: `invalid_request`",
                        "content": {
                            "text/html": { "schema": string() },
                            "application/json": { "schema": schema_ref("ErrorBody") }
                        }
                    }),
                ),
            ],
            with_body,
        );
        if with_body {
            op.insert("requestBody".into(), form_body("LogoutParams"));
        } else {
            op.insert(
                "parameters".into(),
                json!([
                    "id_token_hint",
                    "post_logout_redirect_uri",
                    "state",
                    "client_id",
                    "ui_locales"
                ]
                .iter()
                .map(|n| json!({ "name": n, "in": "query", "required": false, "schema": string() }))
                .collect::<Vec<_>>()),
            );
        }
        op
    };

    let nonce = operation(
        "enrolNonce",
        "A single-use nonce for an enrolment proof",
        "device",
        vec![
            ("200", ok("fresh nonce", "NonceResponse")),
            ("429", error("`too_many_requests`: per-IP enrolment limit")),
        ],
        false,
    );

    let mut enrol = operation(
        "enrol",
        "Enrol a device key with a one-time activation code",
        "device",
        vec![
            ("200", ok("the new account binding", "EnrolResponse")),
            (
                "400",
                error("`invalid_request` (body, JWK, name), `invalid_proof`, `invalid_nonce`"),
            ),
            (
                "403",
                error("`attestation_required` (no `device_attestation`, and the policy lets no unattested keystore in), `attestation_invalid` (the attestation does not verify: the description names the check), both before the code is tried; `invalid_activation_code` (unknown code or wrong secret, answered alike), and only with the right secret `activation_code_expired`, `activation_code_locked`, `activation_code_used`"),
            ),
            ("429", error("`too_many_requests`: per-IP enrolment limit")),
        ],
        true,
    );
    enrol.insert("requestBody".into(), json_body("EnrolRequest"));

    let mut challenges = operation(
        "challenges",
        "The device's pending challenges (long-poll)",
        "device",
        vec![
            (
                "200",
                ok("pending challenges (possibly none)", "ChallengesResponse"),
            ),
            ("400", error("`invalid_request`: malformed query")),
            (
                "401",
                error("`invalid_token`: missing or unknown poll token"),
            ),
        ],
        false,
    );
    challenges.insert("security".into(), bearer);
    challenges.insert(
        "parameters".into(),
        json!([{
            "name": "wait",
            "in": "query",
            "required": false,
            "description": "Seconds to wait for a challenge (capped by the server, default 0).",
            "schema": { "type": "integer", "minimum": 0, "maximum": u64::MAX }
        }]),
    );

    let mut answer = operation(
        "answer",
        "Answer a challenge with a device-signed decision",
        "device",
        vec![
            ("200", ok("the recorded outcome", "AnswerResponse")),
            ("400", error("`invalid_request`")),
            (
                "401",
                error("`unknown_device`, `device_revoked`, `invalid_signature`"),
            ),
            ("403", error("`wrong_device`, `wrong_code` (login denied); `attestation_required` (a device with a hardware key sent no `hardware_signature`), `attestation_invalid` (the co-signature does not verify, or an App Attest counter is not above the last one)")),
            ("404", error("`unknown_challenge`")),
            ("409", error("`challenge_already_answered`")),
            ("410", error("`challenge_expired`")),
        ],
        true,
    );
    answer.insert(
        "parameters".into(),
        json!([{
            "name": "id", "in": "path", "required": true,
            "description": "The challenge id.",
            "schema": { "type": "string" }
        }]),
    );
    answer.insert("requestBody".into(), json_body("AnswerRequest"));

    let guard_errors = |ok_schema: &str, what: &str| {
        vec![
            ("200", ok(what, ok_schema)),
            (
                "400",
                error("`invalid_request` (malformed body or JWS, wrong typ, another device_id, bad jti), `stale_request` (iat more than 120 s from the server time), `invalid_element` (not a compressed P-256 point, the identity, off the curve)"),
            ),
            ("401", error("`invalid_signature`: not signed by the device's registered key")),
            (
                "403",
                error("`device_revoked`; `pin_guard_blocked`: the guess limit was reached and the device's OPRF key erased (enrol again)"),
            ),
            ("404", error("`unknown_device`: no device with a PIN guard has this id")),
            ("409", error("`replayed_request` (jti used before), `unknown_oprf_key`")),
        ]
    };
    let mut pin_guess = operation(
        "pinGuess",
        "One counted PIN guess: the RFC 9497 VOPRF (P256-SHA256) evaluation of the blinded element, with its DLEQ proof. Signed by the device-tier key; counted and committed before the evaluation; refused at the limit",
        "device",
        guard_errors("PinGuessResponse", "the evaluation and its proof"),
        true,
    );
    pin_guess.insert("requestBody".into(), json_body("PinGuardRequest"));
    let mut pin_confirm = operation(
        "pinConfirm",
        "Proof of a successful unlock, signed by the confirmation key from the account's PIN tier: resets the guess count",
        "device",
        guard_errors("PinConfirmResponse", "the count is reset"),
        true,
    );
    pin_confirm.insert("requestBody".into(), json_body("PinGuardRequest"));
    // Issue 20 (push20): the push-token registration.
    let mut push_token = operation(
        "pushToken",
        "Registers, replaces or removes the device's push token (FCM or APNs), signed by the device-tier key, fresh and single-use; the server then wakes the device through that platform beside the long-poll",
        "device",
        vec![
            ("200", ok("the registration is applied", "PushTokenResponse")),
            (
                "400",
                error("`invalid_request` (malformed body or JWS, wrong typ, another device_id, bad jti, a token not of its platform's shape), `stale_request` (iat more than 120 s from the server time)"),
            ),
            ("401", error("`invalid_signature`: not signed by the device's registered key")),
            ("403", error("`device_revoked`")),
            ("404", error("`unknown_device`: no device with a PIN guard has this id")),
            ("409", error("`replayed_request`: jti used before")),
        ],
        true,
    );
    push_token.insert("requestBody".into(), json_body("PushTokenRequest"));

    let issuer_keys = operation(
        "issuerKeys",
        "The QR credential issuer's public keys (JWK Set), each with its validity window: what offline verifiers trust",
        "qr",
        vec![("200", ok("JWK Set with windows", "IssuerKeySet"))],
        false,
    );
    // The challenge key's rollover (issue 19, branch keys19).
    let mut key_rollover = operation(
        "keyRollover",
        "The statement, signed by challenge key `kid`, naming the key that takes over from it (wallets re-pin with it)",
        "device",
        vec![
            ("200", ok("The rollover statement", "KeyRollover")),
            ("404", error("`not_found`: no such challenge key, or no successor yet")),
        ],
        false,
    );
    key_rollover.insert(
        "parameters".into(),
        json!([{
            "name": "kid", "in": "path", "required": true,
            "description": "The id (RFC 7638 thumbprint) of the challenge key the wallet pinned.",
            "schema": { "type": "string" }
        }]),
    );

    let mut redeem = operation(
        "redeem",
        "Single-use online check of a QR presentation by a registered client",
        "qr",
        vec![
            ("200", ok("the insured's identity", "RedeemResponse")),
            (
                "400",
                error("`invalid_request`, `invalid_qr`, `presentation_not_yet_valid`"),
            ),
            (
                "401",
                error("`invalid_client` (Basic authentication), `invalid_signature` (not signed by the enrolled device)"),
            ),
            (
                "403",
                error("`device_revoked`; `wrong_audience`: the presentation's audience differs from the one registered for the client (a client without one redeems only presentations that name none); the presentation stays redeemable by its audience"),
            ),
            ("404", error("`unknown_credential`")),
            ("409", error("`already_redeemed`")),
            ("410", error("`presentation_expired`, `credential_expired`")),
        ],
        true,
    );
    redeem.insert("security".into(), json!([{ "basicAuth": [] }]));
    redeem.insert("requestBody".into(), json_body("RedeemRequest"));

    let openapi = operation(
        "openapi",
        "This OpenAPI document",
        "meta",
        vec![(
            "200",
            json!({ "description": "OpenAPI 3.1 document", "content": json_content(json!({ "type": "object" })) }),
        )],
        false,
    );

    let mut p = Map::new();
    p.insert(PATH_DISCOVERY.into(), json!({ "get": discovery }));
    p.insert(PATH_JWKS.into(), json!({ "get": jwks }));
    p.insert(
        PATH_AUTHORIZE.into(),
        json!({ "get": authorize("authorizeGet"), "post": authorize("authorizePost") }),
    );
    p.insert(PATH_LOGIN_STATUS.into(), json!({ "get": login_status }));
    p.insert(PATH_CIBA.into(), json!({ "post": ciba }));
    p.insert(PATH_TOKEN.into(), json!({ "post": token }));
    p.insert(
        PATH_USERINFO.into(),
        json!({ "get": userinfo_get, "post": userinfo_post }),
    );
    p.insert(
        PATH_END_SESSION.into(),
        json!({ "get": logout("logoutGet", false), "post": logout("logoutPost", true) }),
    );
    p.insert(PATH_ENROL_NONCE.into(), json!({ "post": nonce }));
    p.insert(PATH_ENROL.into(), json!({ "post": enrol }));
    p.insert(PATH_CHALLENGES.into(), json!({ "get": challenges }));
    p.insert(PATH_ANSWER.into(), json!({ "post": answer }));
    p.insert(PATH_PIN_GUESS.into(), json!({ "post": pin_guess }));
    p.insert(PATH_PIN_CONFIRM.into(), json!({ "post": pin_confirm }));
    p.insert(
        vistalid_core::push::PATH_PUSH_TOKEN.into(),
        json!({ "post": push_token }),
    );
    p.insert(PATH_ISSUER_KEYS.into(), json!({ "get": issuer_keys }));
    p.insert(PATH_KEY_ROLLOVER.into(), json!({ "get": key_rollover }));
    p.insert(PATH_REDEEM.into(), json!({ "post": redeem }));
    p.insert(PATH_OPENAPI.into(), json!({ "get": openapi }));
    Value::Object(p)
}

fn string() -> Value {
    json!({ "type": "string" })
}

fn schemas() -> Value {
    let jwk = json!({
        "type": "object",
        "description": "EC P-256 public key (RFC 7517).",
        "required": ["kty", "crv", "x", "y"],
        "properties": {
            "kty": string(), "crv": string(), "x": string(), "y": string(),
            "kid": string(), "alg": string(), "use": string()
        }
    });
    // Issue 19 (branch keys19): the issuer keys' windows and the rollover statement.
    let issuer_key_set = json!({
        "type": "object", "required": ["keys"],
        "properties": { "keys": { "type": "array", "items": {
            "type": "object",
            "description": "An issuer key (JWK) with its window: it signs credentials from `not_before` until `retired_at`; its credentials are trusted until `not_after`.",
            "required": ["kty", "crv", "x", "y"],
            "properties": {
                "kty": string(), "crv": string(), "x": string(), "y": string(),
                "kid": string(), "alg": string(), "use": string(),
                "not_before": { "type": "integer" },
                "retired_at": { "type": "integer" },
                "not_after": { "type": "integer" }
            }
        } } }
    });
    let key_rollover = json!({
        "type": "object", "required": ["statement"],
        "properties": { "statement": {
            "type": "string",
            "description": "Compact JWS (typ vistalid-key-rollover+jwt) signed by the old key: iss, old_kid, new_kid, new_key (JWK), not_before, iat."
        } }
    });
    let uint = json!({ "type": "integer", "minimum": 0 });
    let opt_text = |d: &str| json!({ "type": "string", "description": d });
    let mut all = json!({
        "ErrorBody": {
            "type": "object",
            "description": "OAuth-style error (RFC 6749 §5.2); descriptions never carry secrets nor echo submitted values (a malformed input is named by its field).",
            "required": ["error"],
            "properties": { "error": string(), "error_description": string() }
        },
        "Jwk": jwk,
        "JwkSet": {
            "type": "object", "required": ["keys"],
            "properties": { "keys": { "type": "array", "items": schema_ref("Jwk") } }
        },
        "Discovery": {
            "type": "object",
            "required": ["issuer", "token_endpoint", "jwks_uri", "backchannel_authentication_endpoint"],
            "properties": {
                "issuer": string(), "authorization_endpoint": string(), "token_endpoint": string(),
                "jwks_uri": string(), "backchannel_authentication_endpoint": string(),
                "backchannel_token_delivery_modes_supported": { "type": "array", "items": string() },
                "grant_types_supported": { "type": "array", "items": { "type": "string", "examples": [CIBA_GRANT_TYPE] } },
                "userinfo_endpoint": string(), "end_session_endpoint": string(),
                "response_types_supported": { "type": "array", "items": string() },
                "code_challenge_methods_supported": { "type": "array", "items": string() },
                "token_endpoint_auth_methods_supported": { "type": "array", "items": string() },
                "userinfo_signing_alg_values_supported": { "type": "array", "items": string() },
                "acr_values_supported": { "type": "array", "items": string() },
                "ui_locales_supported": { "type": "array", "items": string() },
                "claims_supported": { "type": "array", "items": string() }
            }
        },
        "CibaForm": {
            "type": "object",
            "description": "CIBA authentication request (form-encoded).",
            "required": ["scope", "login_hint"],
            "properties": {
                "scope": { "type": "string", "description": "Must contain `openid`." },
                "login_hint": { "type": "string", "description": "The practitioner's RPPS number (insured accounts are refused)." },
                "binding_message": { "type": "string", "maxLength": 128, "description": "Shown to the user. No control, format (Cf, bidirectional controls included), line or paragraph separator characters." },
                "acr_values": opt_text("Stored with the request; same character rules as binding_message."),
                "login_hint_token": opt_text("Not supported (400)."),
                "id_token_hint": opt_text("Not supported (400)."),
                "user_code": opt_text("Not supported (400)."),
                "vistalid_ip": opt_text("Browser IP shown to the user (same character rules as binding_message)."),
                "vistalid_user_agent": opt_text("Browser user agent shown to the user (same character rules as binding_message)."),
                "vistalid_place": opt_text("Approximate place shown to the user (same character rules as binding_message)."),
                "client_id": { "type": "string", "description": "client_secret_post: the client id (without an Authorization header)." },
                "client_secret": { "type": "string", "description": "client_secret_post: the client secret (without an Authorization header)." }
            }
        },
        "CibaResponse": {
            "type": "object",
            "required": ["auth_req_id", "expires_in", "interval", "dynamic_code"],
            "properties": {
                "auth_req_id": string(), "expires_in": uint, "interval": uint,
                "dynamic_code": { "type": "string", "description": "The code the login page shows." }
            }
        },
        "TokenForm": {
            "type": "object",
            "description": "Token request (form-encoded). CIBA: auth_req_id; authorization_code: code, redirect_uri, code_verifier; refresh_token: refresh_token (scope optional). client_secret_post: client_id and client_secret (without an Authorization header).",
            "required": ["grant_type"],
            "properties": {
                "grant_type": {
                    "type": "string",
                    "examples": [CIBA_GRANT_TYPE, AUTHORIZATION_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE]
                },
                "auth_req_id": string(),
                "code": string(),
                "redirect_uri": string(),
                "code_verifier": { "type": "string", "description": "RFC 7636: 43 to 128 characters of A-Z a-z 0-9 - . _ ~" },
                "refresh_token": string(),
                "scope": string(),
                "client_id": string(),
                "client_secret": string()
            }
        },
        "TokenResponse": {
            "type": "object",
            "required": ["access_token", "token_type", "expires_in", "id_token"],
            "properties": {
                "access_token": string(), "token_type": { "type": "string", "enum": ["Bearer"] },
                "expires_in": uint, "id_token": { "type": "string", "description": "ES256 JWT." },
                "refresh_token": { "type": "string", "description": "Code and refresh grants: single use, rotated by every refresh." },
                "refresh_expires_in": uint,
                "scope": string()
            }
        },
        "Userinfo": {
            "type": "object",
            "required": ["sub", "SubjectNameID", "given_name", "family_name"],
            "properties": {
                "sub": string(), "SubjectNameID": string(), "preferred_username": string(),
                "given_name": string(), "family_name": string(),
                "vistalid_account_kind": { "type": "string", "enum": ["practitioner", "insured"] },
                "SubjectRefPro": {
                    "type": "object",
                    "properties": { "exercices": { "type": "array", "items": {
                        "type": "object", "properties": { "codeProfession": string() }
                    } } }
                }
            }
        },
        "UserinfoForm": {
            "type": "object",
            "properties": { "access_token": string() }
        },
        "LogoutParams": {
            "type": "object",
            "properties": {
                "id_token_hint": string(), "post_logout_redirect_uri": string(), "state": string(),
                "client_id": string(), "ui_locales": string(),
                "csrf": { "type": "string", "description": "The confirmation form's token (POST only)." }
            }
        },
        "NonceResponse": {
            "type": "object", "required": ["nonce", "expires_in"],
            "properties": { "nonce": string(), "expires_in": uint }
        },
        "EnrolRequest": {
            "type": "object",
            "required": ["activation_code", "public_key", "proof", "device_name"],
            "properties": {
                "activation_code": string(), "public_key": schema_ref("Jwk"),
                "proof": { "type": "string", "description": "Compact JWS of the proof claims by the device key." },
                "device_name": string(),
                "device_attestation": schema_ref("DeviceAttestation"),
                "key_storage": {
                    "type": "string", "enum": [json!(KeyStorage::Hardware), json!(KeyStorage::Software)],
                    "description": "Where the wallet's keystore keeps its key; absent counts as software. Sets the ID token's amr (hwk or swk)."
                },
                "pin_guard": schema_ref("PinGuardKeys")
            }
        },
        "PinGuardKeys": {
            "type": "object", "required": ["unlock_key", "confirm_key"],
            "description": "The keys of the server-counted PIN guesses: with them the server creates an OPRF key for the device and answers `oprf`; an insured credential then binds `unlock_key`.",
            "properties": {
                "unlock_key": schema_ref("Jwk"), "confirm_key": schema_ref("Jwk")
            }
        },
        "OprfInfo": {
            "type": "object",
            "required": ["suite", "mode", "key_id", "public_key", "guess_limit"],
            "properties": {
                "suite": { "type": "string", "enum": [OPRF_SUITE] },
                "mode": { "type": "string", "enum": [OPRF_MODE] },
                "key_id": string(),
                "public_key": { "type": "string", "description": "base64url of the compressed SEC1 point; the wallet pins it." },
                "guess_limit": uint
            }
        },
        "PinGuardRequest": {
            "type": "object", "required": ["device_id", "request"], "additionalProperties": false,
            "properties": {
                "device_id": string(),
                "request": { "type": "string", "description": "Compact JWS of the PIN-guess claims (typ vistalid-pin-guess+jwt: device_id, key_id, blinded_element, jti, iat) or of the confirmation claims (typ vistalid-pin-confirm+jwt: device_id, key_id, jti, iat)." }
            }
        },
        "PinGuessResponse": {
            "type": "object", "required": ["evaluated_element", "proof", "guesses_left"],
            "properties": {
                "evaluated_element": { "type": "string", "description": "base64url of the compressed SEC1 point" },
                "proof": { "type": "string", "description": "base64url of the DLEQ proof (c || s, 64 bytes)" },
                "guesses_left": uint
            }
        },
        "PinConfirmResponse": {
            "type": "object", "required": ["guesses_left"],
            "properties": { "guesses_left": uint }
        },
        "Identity": {
            "type": "object", "required": ["SubjectNameID", "given_name", "family_name"],
            "properties": {
                "SubjectNameID": string(), "given_name": string(), "family_name": string(),
                "profession": string()
            }
        },
        "EnrolResponse": {
            "type": "object",
            "required": ["account_id", "device_id", "kind", "identity", "server_key", "poll_token"],
            "properties": {
                "account_id": string(), "device_id": string(),
                "kind": { "type": "string", "enum": ["practitioner", "insured"] },
                "identity": schema_ref("Identity"), "server_key": schema_ref("Jwk"),
                "issuer_key": schema_ref("Jwk"), "poll_token": string(), "credential": string(),
                "oprf": schema_ref("OprfInfo")
            }
        },
        "ChallengesResponse": {
            "type": "object", "required": ["challenges"],
            "properties": {
                "challenges": {
                    "type": "array",
                    "items": { "type": "string", "description": "Compact JWS of challenge claims." }
                }
            }
        },
        "LoginStatus": {
            "type": "object", "required": ["state", "expires_in"],
            "description": "Never carries the code dynamique or the identifier (ADR 0002).",
            "properties": {
                "state": { "type": "string", "enum": [
                    "identifier", "waiting", "approved", "declined", "not_me", "wrong_code",
                    "expired", "held", "no_device", "locked", "error"
                ] },
                "expires_in": { "type": "integer", "minimum": 0, "description": "Seconds left: of the phone challenge while waiting, else of the attempt." },
                "continue": { "type": "string", "description": "Where the page goes next (approved only)." }
            }
        },
        "AnswerRequest": {
            "type": "object", "required": ["answer"],
            "properties": {
                "answer": { "type": "string", "description": "Compact JWS of answer claims." },
                "hardware_signature": schema_ref("HardwareSignature")
            }
        },
        "DeviceAttestation": {
            "description": "The platform's evidence for the device's hardware key, made for SHA-256(\"vistalid/attestation/v1\" || nonce || SEC1 point of public_key) (ADR 0001). Binary fields are base64url without padding.",
            "oneOf": [
                {
                    "type": "object", "required": ["platform", "chain"],
                    "properties": {
                        "platform": { "const": "android_key" },
                        "chain": {
                            "type": "array", "minItems": 1, "maxItems": MAX_CHAIN_LEN,
                            "items": { "type": "string", "description": "DER certificate, leaf first." }
                        }
                    }
                },
                {
                    "type": "object", "required": ["platform", "key_id", "object"],
                    "properties": {
                        "platform": { "const": "apple_app_attest" },
                        "key_id": { "type": "string", "description": "App Attest key id (32 bytes)." },
                        "object": { "type": "string", "description": "CBOR attestation object." }
                    }
                }
            ],
            "discriminator": { "propertyName": "platform" }
        },
        "HardwareSignature": {
            "description": "The hardware key's signature over the ASCII of `answer` (ADR 0001). Binary fields are base64url without padding.",
            "oneOf": [
                {
                    "type": "object", "required": ["platform", "signature"],
                    "properties": {
                        "platform": { "const": "android_key" },
                        "signature": { "type": "string", "description": "DER ECDSA-SHA256 signature." }
                    }
                },
                {
                    "type": "object", "required": ["platform", "assertion"],
                    "properties": {
                        "platform": { "const": "apple_app_attest" },
                        "assertion": { "type": "string", "description": "CBOR App Attest assertion over SHA-256(answer); its counter must rise." }
                    }
                }
            ],
            "discriminator": { "propertyName": "platform" }
        },
        "RedeemRequest": {
            "type": "object", "required": ["qr"],
            "properties": { "qr": { "type": "string", "description": "The QR text (`VL1:` ...)." } }
        },
        "RedeemResponse": {
            "type": "object", "required": ["identity", "credential_id"],
            "properties": {
                "identity": schema_ref("Identity"),
                "credential_id": { "type": "string", "description": "base64url" }
            }
        },
        "AnswerResponse": {
            "type": "object", "required": ["status"],
            "properties": { "status": {
                "type": "string",
                "enum": AnswerStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()
            } }
        }
    });
    all["IssuerKeySet"] = issuer_key_set;
    all["KeyRollover"] = key_rollover;
    // Issue 20 (push20): the push-token registration.
    if let Value::Object(m) = &mut all {
        if let Value::Object(push) = json!({
        "PushTokenRequest": {
            "type": "object", "required": ["device_id", "request"], "additionalProperties": false,
            "properties": {
                "device_id": string(),
                "request": { "type": "string", "description": "Compact JWS (typ vistalid-push-token+jwt, ES256, the device-tier key) of the claims device_id, jti, iat and push: {platform: fcm|apns, token} (absent: remove the token)." }
            }
        },
        "PushTokenResponse": {
            "type": "object", "required": ["registered"],
            "properties": { "registered": { "type": "boolean" } }
        }
        }) {
            m.extend(push);
        }
    }
    all
}

/// The document, with `issuer` as the server URL.
pub(crate) fn document(issuer: &str) -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Vistalid reference identity server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "OIDC discovery and JWKS, CIBA (poll mode), the token endpoint (CIBA, authorization_code with PKCE, refresh_token; client_secret_basic or client_secret_post), userinfo, RP-initiated logout, device enrolment and signed challenges. Every JSON endpoint's error is a JSON ErrorBody; the logout answers HTML pages.",
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" }
        },
        "servers": [{ "url": issuer }],
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "basicAuth": {
                    "type": "http", "scheme": "basic",
                    "description": "Relying party: client id and secret (RFC 6749 §2.3.1)."
                },
                "bearerAccessToken": {
                    "type": "http", "scheme": "bearer",
                    "description": "Access token from the token endpoint (RFC 6750)."
                },
                "bearerPollToken": {
                    "type": "http", "scheme": "bearer",
                    "description": "Device poll token from the enrolment answer."
                }
            }
        }
    })
}
