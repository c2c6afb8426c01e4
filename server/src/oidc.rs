// SPDX-License-Identifier: Apache-2.0
//! The relying-party side: OIDC discovery, JWKS, CIBA backchannel authentication (poll
//! mode) and the token endpoint.
//!
//! Guarantees:
//! - Clients authenticate with HTTP Basic only (see `clients`).
//! - A CIBA request is refused for insured accounts (400 `unknown_user_id`: their
//!   pseudonymous id is in every offline QR), for accounts the login guard holds (see
//!   `guard`), and when a shown text is not display-safe (`vistalid_core::text`). It queues
//!   one signed challenge per active device of the account, at most
//!   `max_pending_per_account` pending requests per account (push-fatigue guard: beyond it,
//!   429 `slow_down`), and at most `ciba_per_client_per_min` requests per client per minute
//!   (beyond it, 429 `slow_down` with `Retry-After`).
//! - The token endpoint answers the CIBA poll errors (`authorization_pending`, `slow_down`,
//!   `access_denied`, `expired_token`, `invalid_grant`, `invalid_client`) and issues the ID
//!   token exactly once, only to the client that made the request.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rusqlite::OptionalExtension as _;
use serde::Deserialize;
use serde_json::json;
use vistalid_core::protocol::{
    AccountKind, ChallengeClaims, CibaResponse, CodeMode, RequestContext, CIBA_GRANT_TYPE,
    PATH_CIBA, PATH_JWKS, PATH_TOKEN, TYP_CHALLENGE,
};

use vistalid_core::{jws, text};

use crate::http::{ApiError, FormBody, PATH_AUTHORIZE};
use crate::{clients, guard, secrets};
use crate::{Shared, ACR, AMR};

/// Longest binding message accepted (characters).
const MAX_BINDING_MESSAGE: usize = 128;
/// Longest context hint accepted (characters).
const MAX_HINT: usize = 256;
/// Seconds after a request's expiry during which an approved request can still be redeemed
/// (the relying party polls at `interval`, so approval at the last second must not be lost).
const REDEEM_GRACE_SECS: i64 = 30;

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

fn cacheable(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

/// The authorization endpoint: this server supports CIBA only.
pub(crate) async fn authorize() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "unsupported_response_type",
        "this server supports only CIBA (backchannel authentication, poll mode)",
    )
}

/// Form parameters of the CIBA endpoint.
#[derive(Debug, Deserialize)]
pub(crate) struct CibaForm {
    scope: Option<String>,
    login_hint: Option<String>,
    login_hint_token: Option<String>,
    id_token_hint: Option<String>,
    user_code: Option<String>,
    binding_message: Option<String>,
    acr_values: Option<String>,
    vistalid_ip: Option<String>,
    vistalid_user_agent: Option<String>,
    vistalid_place: Option<String>,
}

/// Text the approval card shows: at most `max` characters, none refused by
/// [`text::is_display_safe`] (controls, format and bidirectional controls, line and
/// paragraph separators), so a relying party cannot draw fake lines on the card.
fn check_text(name: &str, v: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    match v {
        Some(v) if v.chars().count() > max || !text::is_display_safe(&v) => {
            Err(ApiError::bad_request(format!(
                "{name} is too long ({max} characters at most) or holds control, format or \
                 line-separator characters"
            )))
        }
        v => Ok(v),
    }
}

struct Target {
    account_id: String,
    kind: AccountKind,
    hold: guard::Hold,
    devices: Vec<String>,
}

/// POST CIBA backchannel authentication request (poll mode).
pub(crate) async fn ciba(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    FormBody(form): FormBody<CibaForm>,
) -> Result<Response, ApiError> {
    let client = clients::authenticate(&s, &headers).await?;
    if let Err(retry) = s.ciba_limiter.check(&client.client_id, s.clock.now()) {
        return Ok(crate::limits::too_many("slow_down", retry));
    }
    let scope = form.scope.unwrap_or_default();
    if !scope.split(' ').any(|x| x == "openid") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "scope must contain openid",
        ));
    }
    if form.login_hint_token.is_some() || form.id_token_hint.is_some() {
        return Err(ApiError::bad_request(
            "only login_hint is supported as a user hint",
        ));
    }
    if form.user_code.is_some() {
        return Err(ApiError::bad_request("user_code is not supported"));
    }
    let login_hint = form
        .login_hint
        .filter(|h| !h.is_empty() && h.len() <= 64)
        .ok_or_else(|| ApiError::bad_request("login_hint (the RPPS number) is required"))?;
    let binding_message = check_text("binding_message", form.binding_message, MAX_BINDING_MESSAGE)
        .map_err(|e| ApiError {
            error: "invalid_binding_message",
            ..e
        })?
        .unwrap_or_default();
    let acr_values = check_text("acr_values", form.acr_values, MAX_HINT)?;
    let context = RequestContext {
        ip: check_text("vistalid_ip", form.vistalid_ip, MAX_HINT)?,
        user_agent: check_text("vistalid_user_agent", form.vistalid_user_agent, MAX_HINT)?,
        place: check_text("vistalid_place", form.vistalid_place, MAX_HINT)?,
    };

    let hint = login_hint.clone();
    let target =
        s.db.read(move |c| -> Result<Option<Target>, ApiError> {
            let Some((account_id, kind, hold)) = c
                .prepare_cached(
                    "SELECT id, kind, not_me_until, wrong_pick_until FROM accounts
                     WHERE subject_name_id = ?1",
                )?
                .query_row([&hint], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        crate::account_kind(&r.get::<_, String>(1)?),
                        guard::Hold {
                            not_me_until: r.get(2)?,
                            wrong_pick_until: r.get(3)?,
                        },
                    ))
                })
                .optional()?
            else {
                return Ok(None);
            };
            let devices = c
                .prepare_cached(
                    "SELECT id FROM devices WHERE account_id = ?1 AND revoked_at IS NULL",
                )?
                .query_map([&account_id], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(Target {
                account_id,
                kind,
                hold,
                devices,
            }))
        })
        .await?;
    let Some(target) = target else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_user_id",
            "no account has this login_hint",
        ));
    };
    if target.kind == AccountKind::Insured {
        // Every offline QR carries the pseudonymous id: whoever scanned one could push logins
        // to the citizen. Insured accounts get a login identifier of their own later.
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_user_id",
            "login_hint names an insured account; insured accounts cannot be asked to log in \
             by CIBA",
        ));
    }
    if let Some(refused) = target.hold.refusal(s.clock.now()) {
        return Ok(refused);
    }
    if target.devices.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_user_id",
            "the account has no active device",
        ));
    }

    let now = s.clock.now();
    let cfg = &s.config;
    let auth_req_id = secrets::make_token()?;
    let code = secrets::make_dynamic_code()?;
    let candidates = match client.mode {
        CodeMode::Pick => secrets::make_candidates(&code, cfg.pick_candidates)?,
        CodeMode::Type => Vec::new(),
    };
    let challenge_exp = now.saturating_add(secs(cfg.challenge_ttl_secs.min(cfg.ciba_expires_in)));
    let mut challenges = Vec::with_capacity(target.devices.len());
    for device_id in &target.devices {
        let claims = ChallengeClaims {
            id: secrets::make_token()?,
            account_id: target.account_id.clone(),
            device_id: device_id.clone(),
            service: client.name.clone(),
            binding_message: binding_message.clone(),
            context: context.clone(),
            mode: client.mode,
            candidates: candidates.clone(),
            iat: now,
            exp: challenge_exp,
        };
        let token =
            jws::sign_json(&s.key, TYP_CHALLENGE, &claims).map_err(|e| ApiError::internal(&e))?;
        challenges.push((claims.id, device_id.clone(), token));
    }

    let max_pending = i64::from(cfg.max_pending_per_account);
    let expires_at = now.saturating_add(secs(cfg.ciba_expires_in));
    let interval = secs(cfg.poll_interval_secs);
    let (id, account_id, client_id, code_c, queued) = (
        auth_req_id.clone(),
        target.account_id,
        client.client_id.clone(),
        code.clone(),
        challenges.clone(),
    );
    s.db.write(move |tx| -> Result<(), ApiError> {
        let pending: i64 = tx
            .prepare_cached(
                "SELECT COUNT(*) FROM auth_requests
                     WHERE account_id = ?1 AND status = 'pending' AND expires_at > ?2",
            )?
            .query_row(rusqlite::params![account_id, now], |r| r.get(0))?;
        if pending >= max_pending {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "slow_down",
                "too many pending login requests for this account; wait for them to \
                     be answered or to expire",
            ));
        }
        tx.prepare_cached(
            "INSERT INTO auth_requests (id, client_id, account_id, code, scope, acr_values,
                     created_at, expires_at, interval_secs, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending')",
        )?
        .execute(rusqlite::params![
            id, client_id, account_id, code_c, scope, acr_values, now, expires_at, interval
        ])?;
        let mut ins = tx.prepare_cached(
            "INSERT INTO challenges (id, auth_req_id, device_id, jws, exp, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending')",
        )?;
        for (cid, device_id, token) in &queued {
            ins.execute(rusqlite::params![cid, id, device_id, token, challenge_exp])?;
        }
        Ok(())
    })
    .await?;
    for (cid, device_id, _) in &challenges {
        s.wake(device_id, cid);
    }
    tracing::info!(client = %client.client_id, devices = challenges.len(), "CIBA request queued");
    Ok(no_store(
        Json(CibaResponse {
            auth_req_id,
            expires_in: cfg.ciba_expires_in,
            interval: cfg.poll_interval_secs,
            dynamic_code: code,
        })
        .into_response(),
    ))
}

fn secs(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// Form parameters of the token endpoint.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    grant_type: Option<String>,
    auth_req_id: Option<String>,
}

struct Granted {
    account_id: String,
    subject_name_id: String,
    given_name: String,
    family_name: String,
    profession: Option<String>,
    kind: AccountKind,
    auth_time: i64,
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
                "unsupported_grant_type",
                "only the CIBA grant is supported",
            ))
        }
        None => return Err(ApiError::bad_request("grant_type is required")),
    }
    let auth_req_id = form
        .auth_req_id
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .ok_or_else(|| ApiError::bad_request("auth_req_id is required"))?;
    let now = s.clock.now();
    let access_token = secrets::make_token()?;
    let access_hash = secrets::hash(access_token.as_bytes()).to_vec();
    let client_id = client.client_id.clone();
    let granted =
        s.db.write(move |tx| -> Result<Result<Granted, ApiError>, ApiError> {
            // Poll bookkeeping must commit even when the answer is an error.
            let row = tx
                .prepare_cached(
                    "SELECT r.client_id, r.status, r.reason, r.expires_at, r.interval_secs,
                            r.last_poll, r.auth_time, a.id, a.subject_name_id, a.given_name,
                            a.family_name, a.profession, a.kind
                     FROM auth_requests r JOIN accounts a ON a.id = r.account_id
                     WHERE r.id = ?1",
                )?
                .query_row([&auth_req_id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, Option<i64>>(5)?,
                        r.get::<_, Option<i64>>(6)?,
                        Granted {
                            account_id: r.get(7)?,
                            subject_name_id: r.get(8)?,
                            given_name: r.get(9)?,
                            family_name: r.get(10)?,
                            profession: r.get(11)?,
                            kind: crate::account_kind(&r.get::<_, String>(12)?),
                            auth_time: 0,
                        },
                    ))
                })
                .optional()?;
            let invalid_grant =
                |d: &str| ApiError::new(StatusCode::BAD_REQUEST, "invalid_grant", d);
            let Some((owner, status, reason, expires_at, interval, last_poll, auth_time, mut g)) =
                row
            else {
                return Ok(Err(invalid_grant("unknown auth_req_id")));
            };
            if owner != client_id {
                return Ok(Err(invalid_grant("unknown auth_req_id")));
            }
            Ok(match status.as_str() {
                "issued" => Err(invalid_grant(
                    "the token for this request was already issued",
                )),
                "denied" => Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "access_denied",
                    match reason.as_deref() {
                        Some("wrong_code") => "the user picked the wrong code",
                        Some("not_me") => "the user reported that this request was not theirs",
                        _ => "the user declined",
                    },
                )),
                "approved" if now <= expires_at.saturating_add(REDEEM_GRACE_SECS) => {
                    tx.prepare_cached(
                        "UPDATE auth_requests SET status = 'issued', access_token_hash = ?2,
                             last_poll = ?3 WHERE id = ?1",
                    )?
                    .execute(rusqlite::params![
                        auth_req_id,
                        access_hash,
                        now
                    ])?;
                    g.auth_time = auth_time.unwrap_or(now);
                    Ok(g)
                }
                "approved" => Err(expired()),
                _ if now >= expires_at => Err(expired()),
                _ => {
                    tx.prepare_cached("UPDATE auth_requests SET last_poll = ?2 WHERE id = ?1")?
                        .execute(rusqlite::params![auth_req_id, now])?;
                    let too_fast =
                        last_poll.is_some_and(|last| now.saturating_sub(last) < interval);
                    if too_fast {
                        Err(ApiError::new(
                            StatusCode::BAD_REQUEST,
                            "slow_down",
                            "polling faster than the interval; wait longer between polls",
                        ))
                    } else {
                        Err(ApiError::new(
                            StatusCode::BAD_REQUEST,
                            "authorization_pending",
                            "the user has not answered yet",
                        ))
                    }
                }
            })
        })
        .await??;

    let ttl = secs(s.config.token_ttl_secs);
    let mut claims = json!({
        "iss": s.issuer,
        "sub": g_sub(&granted),
        "aud": client.client_id,
        "iat": now,
        "exp": now.saturating_add(ttl),
        "auth_time": granted.auth_time,
        "acr": ACR,
        "amr": AMR,
        "SubjectNameID": granted.subject_name_id,
        "preferred_username": granted.subject_name_id,
        "given_name": granted.given_name,
        "family_name": granted.family_name,
        "vistalid_account_kind": granted.kind,
    });
    if let Some(p) = &granted.profession {
        claims["SubjectRefPro"] = json!({ "exercices": [ { "codeProfession": p } ] });
    }
    let id_token = jws::sign_json(&s.key, "JWT", &claims).map_err(|e| ApiError::internal(&e))?;
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

/// `sub`: the account id, stable per account and not the RPPS number.
fn g_sub(g: &Granted) -> &str {
    &g.account_id
}

fn expired() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "expired_token",
        "the request expired before the user approved it; start a new one",
    )
}
