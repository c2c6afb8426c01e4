// SPDX-License-Identifier: Apache-2.0
//! The authorization endpoint (GET and POST, ADR 0002): checks the request, answers at once
//! from the browser's SSO session when it can, else opens a login attempt bound to this
//! browser and sends it to the login page.
//!
//! Guarantees:
//! - An unknown client, or a `redirect_uri` that is not exactly one the client registered,
//!   gets an HTML error page (400), never a redirect; every other fault is a 303 back to the
//!   registered URI with `error`, `error_description`, `state` and `iss`.
//! - The session answers only without `prompt=login`, within `max_age` of the real phone
//!   approval, while the approving device is not revoked; `prompt=none` without such a
//!   session is `login_required`.
//! - A client registered for scan mode is never answered from the session (a push-approved
//!   session must not stand in for the scan): `prompt=none` is then `login_required`.
//! - A new attempt sets `vl_attempt_<id>` (HttpOnly, SameSite=Lax, Path=/login/, Secure
//!   unless loopback http); the server keeps only its hash.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use vistalid_core::protocol::{ErrorCode, PATH_LOGIN};

use super::cookies;
use super::reply::{client_code, client_error, see_other};
use super::request::{self, Checked, Fault, Params, Prompt, Target};
use crate::api::ApiError;
use crate::clients;
use crate::domain::attempt::ATTEMPT_TTL_SECS;
use crate::domain::lang::Lang;
use crate::ordered;
use crate::pages::{self, messages, mire::login_path};
use crate::secrets;
use crate::state::Shared;
use crate::store::{NewAttempt, NewCode, SessionCode, SessionGrant};

/// Seconds an authorization code lives (ADR 0002).
pub(crate) const CODE_TTL_SECS: i64 = 60;

/// GET or POST: the authorization endpoint.
pub(crate) async fn authorize(
    State(s): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let Some(encoded) = encoded_params(&method, &headers, query.as_deref(), &body) else {
        return Ok(fault_page(Lang::negotiate(None, accept), Fault::Malformed));
    };
    let params = match Params::read(encoded) {
        Ok(p) => p,
        Err(f) => return Ok(fault_page(Lang::negotiate(None, accept), f)),
    };
    let lang = Lang::negotiate(params.ui_locales(), accept);
    let target = match request::target(&params) {
        Ok(t) => t,
        Err(f) => return Ok(fault_page(lang, f)),
    };
    let Some(client) = clients::find(&s, &target.client_id).await? else {
        return Ok(fault_page(lang, Fault::Client));
    };
    if !client.redirect_uris.contains(&target.redirect_uri) {
        return Ok(fault_page(lang, Fault::Redirect));
    }
    let checked = match request::check(&params) {
        Ok(c) => c,
        Err(r) => {
            return Ok(client_error(
                &target.redirect_uri,
                r.error,
                r.description,
                target.state.as_deref(),
                &s.issuer,
            ))
        }
    };
    let now = s.clock.now();
    // A client registered for scan mode (issue 16) gets a scanned login every time: a session
    // opened by a push approval elsewhere must not stand in for the scan.
    if checked.prompt != Prompt::Login && !client.scan_login {
        if let Some(resp) = from_session(&s, &headers, &target, &checked, now).await? {
            return Ok(resp);
        }
    }
    if checked.prompt == Prompt::None {
        return Ok(client_error(
            &target.redirect_uri,
            ErrorCode::LoginRequired,
            "no session in this browser can answer without the user",
            target.state.as_deref(),
            &s.issuer,
        ));
    }
    new_attempt(&s, target, checked, lang, client.scan_login, now).await
}

/// The request's parameters as sent: the query of a GET, the body of a POST; `None` for a
/// POST that is not a form.
fn encoded_params<'a>(
    method: &Method,
    headers: &HeaderMap,
    query: Option<&'a str>,
    body: &'a [u8],
) -> Option<&'a [u8]> {
    if *method != Method::POST {
        return Some(query.unwrap_or_default().as_bytes());
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    form.then_some(body)
}

/// Answers from the browser's SSO session, if it can (see the module guarantees).
async fn from_session(
    s: &Shared,
    headers: &HeaderMap,
    target: &Target,
    checked: &Checked,
    now: i64,
) -> Result<Option<Response>, ApiError> {
    let Some(cookie_hash) = cookies::session_hash(headers) else {
        return Ok(None);
    };
    let code = ordered::make_ordered_token()?;
    let grant = s
        .store
        .sessions()
        .grant_code(SessionCode {
            cookie_hash,
            now,
            idle_secs: i64::try_from(s.config.session_idle_secs).unwrap_or(i64::MAX),
            max_age: checked.max_age,
            offline_ok: crate::id_token::offline_allowed(
                s.store.offline().client_refuses(&target.client_id).await?,
                checked.acr_values.as_deref(),
            ),
            code: new_code(&code, target, checked, now),
        })
        .await?;
    Ok(match grant {
        SessionGrant::Issued => {
            tracing::info!(client = %target.client_id, "authorization answered from the session");
            Some(client_code(
                &target.redirect_uri,
                &code,
                target.state.as_deref(),
                &s.issuer,
            ))
        }
        SessionGrant::NoSession | SessionGrant::TooOld => None,
    })
}

/// The code row for `code` (its hash, bound to client, redirect URI and PKCE challenge).
pub(crate) fn new_code(code: &str, target: &Target, checked: &Checked, now: i64) -> NewCode {
    NewCode {
        hash: ordered::token_key(code),
        client_id: target.client_id.clone(),
        redirect_uri: target.redirect_uri.clone(),
        code_challenge: checked.code_challenge.clone(),
        nonce: checked.nonce.clone(),
        scope: checked.scope.clone(),
        expires_at: now.saturating_add(CODE_TTL_SECS),
    }
}

/// Opens a login attempt bound to this browser and sends it to the login page; `scan`: the
/// client is registered for scan mode (the attempt gets its QR secret now).
async fn new_attempt(
    s: &Shared,
    target: Target,
    checked: Checked,
    lang: Lang,
    scan: bool,
    now: i64,
) -> Result<Response, ApiError> {
    let id = ordered::make_ordered_id()?;
    let secret = zeroize::Zeroizing::new(secrets::make_token()?);
    s.store
        .attempts()
        .create(NewAttempt {
            id: id.clone(),
            cookie_hash: secrets::hash(secret.as_bytes()),
            csrf: secrets::make_token()?,
            client_id: target.client_id,
            redirect_uri: target.redirect_uri,
            state: target.state,
            nonce: checked.nonce,
            code_challenge: checked.code_challenge,
            scope: checked.scope,
            acr_values: checked.acr_values,
            login_hint: checked.login_hint,
            lang,
            created_at: now,
            expires_at: now.saturating_add(ATTEMPT_TTL_SECS),
            scan_secret: if scan {
                Some(super::scan::new_secret()?)
            } else {
                None
            },
        })
        .await?;
    let mut resp = see_other(&login_path(PATH_LOGIN, &id));
    resp.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            &cookies::attempt_cookie(&id),
            &secret,
            "/login/",
            ATTEMPT_TTL_SECS,
            cookies::secure(&s.issuer),
        ),
    );
    Ok(resp)
}

/// The error page of a request that cannot be redirected (400).
fn fault_page(lang: Lang, fault: Fault) -> Response {
    let m = messages::of(lang);
    let detail = match fault {
        Fault::Client => m.fault_client,
        Fault::Redirect => m.fault_redirect,
        Fault::Malformed => m.fault_malformed,
    };
    let text = format!("{} {detail}", m.bad_request_text);
    pages::error_page(
        StatusCode::BAD_REQUEST,
        lang,
        m.bad_request_title,
        &text,
        None,
    )
}
