// SPDX-License-Identifier: Apache-2.0
//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), GET and POST: ends the
//! browser's SSO session, then returns to the client or shows the "session closed" page.
//!
//! Guarantees:
//! - An `id_token_hint` counts only when it is an ID token this server signed (ES256, its key,
//!   its `iss`); it may have expired. It names the client (`aud`) and the session (`sid`).
//! - The session of the browser's `vl_session` cookie and the hint's `sid` are ended, with
//!   every token family they issued (refresh and access tokens stop working at once); the
//!   cookie is cleared.
//! - `post_logout_redirect_uri` is followed (303, with `state`) only when it is exactly one
//!   the client (the hint's `aud`, or `client_id`) registered; otherwise nothing is ended and
//!   the answer is the error page (400, `data-state="error"`), never a redirect. Without it,
//!   the "session closed" page (`data-state="logged_out"`), French or English.
//! - Without a valid `id_token_hint`, a browser that has a session is first asked to confirm
//!   (OIDC RP-Initiated Logout §2: `data-state="logout_confirm"`, a POST form to this endpoint
//!   with a CSRF token derived from the session cookie, which another site can neither read
//!   nor compute); the session ends only when that form comes back with its token. A browser
//!   without a session has nothing to end and goes on at once. The confirmation page's CSP
//!   names the checked redirect's origin in `form-action`, since a browser enforces it on the
//!   303 that answers the form.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use vistalid_core::jws;

use super::page;
use crate::api::{ApiError, FormBody, QueryParams};
use crate::clients;
use crate::domain::lang::Lang;
use crate::keyring::Purpose;
use crate::ordered;
use crate::secrets;
use crate::state::Shared;
use crate::store::EndSession;

/// The SSO session cookie (ADR 0002).
pub(crate) const SESSION_COOKIE: &str = "vl_session";
/// Longest `id_token_hint` read.
const MAX_HINT: usize = 8192;

/// Parameters of a logout request (query on GET, form on POST). No `Debug`: the hint is an
/// ID token, personal data.
#[derive(Deserialize, Default)]
pub(crate) struct LogoutParams {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
    ui_locales: Option<String>,
    /// The confirmation form's CSRF token (POST only).
    csrf: Option<String>,
}

/// What a verified `id_token_hint` says.
#[derive(Deserialize)]
struct Hint {
    iss: String,
    aud: Audience,
    sid: Option<String>,
}

impl Hint {
    /// The one client the hint was issued to (`None` for several).
    fn only_audience(&self) -> Option<String> {
        match &self.aud {
            Audience::One(a) => Some(a.clone()),
            Audience::Many(list) if list.len() == 1 => list.first().cloned(),
            Audience::Many(_) => None,
        }
    }
}

/// `aud`: one client id, or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// GET logout.
pub(crate) async fn logout_get(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    QueryParams(p): QueryParams<LogoutParams>,
) -> Result<Response, ApiError> {
    logout(&s, &headers, p, false).await
}

/// POST logout.
pub(crate) async fn logout_post(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    FormBody(p): FormBody<LogoutParams>,
) -> Result<Response, ApiError> {
    logout(&s, &headers, p, true).await
}

/// Why a logout request is refused (each shown on the error page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The hint is not an ID token of this server.
    BadHint,
    /// `client_id` and the hint's `aud` differ.
    ClientMismatch,
    /// A redirect without a known client to check it against.
    UnknownClient,
    /// A redirect the client did not register.
    UnregisteredRedirect,
}

async fn logout(
    s: &Shared,
    headers: &HeaderMap,
    p: LogoutParams,
    posted: bool,
) -> Result<Response, ApiError> {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let lang = Lang::negotiate(p.ui_locales.as_deref(), accept);
    let hint = match p.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        None => None,
        Some(h) => match verify_hint(s, h) {
            Some(hint) => Some(hint),
            None => return Ok(page::refused(lang, Refusal::BadHint)),
        },
    };
    let hinted_client = hint.as_ref().and_then(Hint::only_audience);
    let client_id = match (hinted_client, p.client_id.filter(|c| !c.is_empty())) {
        (Some(a), Some(c)) if a != c => return Ok(page::refused(lang, Refusal::ClientMismatch)),
        (a, c) => a.or(c),
    };
    let redirect = match p.post_logout_redirect_uri.filter(|u| !u.is_empty()) {
        None => None,
        Some(uri) => {
            let client = match &client_id {
                Some(id) => clients::find(s, id).await?,
                None => None,
            };
            let Some(client) = client else {
                return Ok(page::refused(lang, Refusal::UnknownClient));
            };
            if !client.post_logout_redirect_uris.contains(&uri) {
                tracing::warn!(client = %client.client_id, "unregistered post_logout_redirect_uri");
                return Ok(page::refused(lang, Refusal::UnregisteredRedirect));
            }
            Some(uri)
        }
    };
    let cookie = session_cookie(headers);
    if hint.is_none() {
        if let Some(c) = cookie.as_deref() {
            let expected = confirm_token(c);
            let confirmed = posted
                && p.csrf
                    .as_deref()
                    .is_some_and(|t| secrets::ct_eq(t.as_bytes(), expected.as_bytes()));
            if !confirmed {
                return Ok(page::confirm(
                    lang,
                    &page::Confirm {
                        csrf: &expected,
                        post_logout_redirect_uri: redirect.as_deref(),
                        state: p.state.as_deref(),
                        client_id: client_id.as_deref(),
                        ui_locales: p.ui_locales.as_deref(),
                    },
                ));
            }
        }
    }
    let ended = s
        .store
        .sessions()
        .end(EndSession {
            cookie_hash: cookie.as_deref().map(|c| ordered::token_key(c)),
            sid: hint.and_then(|h| h.sid),
            now: s.clock.now(),
        })
        .await?;
    tracing::info!(sessions = ended, "logout");
    let mut r = match redirect {
        Some(uri) => see_other(&with_state(&uri, p.state.as_deref())),
        None => page::logged_out(lang),
    };
    if cookie.is_some() {
        clear_session_cookie(s, &mut r);
    }
    Ok(r)
}

/// The logout confirmation's CSRF token for the session cookie `cookie`: a hash of the
/// cookie under its own label (not the stored hash of the cookie), so only a page that has
/// the cookie's value — this server's — can give it.
fn confirm_token(cookie: &str) -> String {
    use base64::Engine as _;
    let mut input = b"vistalid logout confirmation\0".to_vec();
    input.extend_from_slice(cookie.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secrets::hash(&input))
}

/// Tells the browser to drop its session cookie (`Secure` as the issuer's scheme says).
fn clear_session_cookie(s: &Shared, r: &mut Response) {
    let secure = if s.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let clear = format!("{SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax{secure}");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The claims of `hint` if this server signed it for its own issuer (expiry not checked:
/// OIDC RP-Initiated Logout §2 lets an expired ID token name the session).
fn verify_hint(s: &Shared, hint: &str) -> Option<Hint> {
    if hint.len() > MAX_HINT {
        return None;
    }
    let kid = jws::peek_header(hint).ok()?.kid?;
    let key = s.keys.by_kid(Purpose::IdToken, &kid)?;
    let claims: Hint = jws::verify_json(hint, &key.public(), Some("JWT")).ok()?;
    (claims.iss == s.issuer).then_some(claims)
}

/// The value of the browser's `vl_session` cookie, if it sent one.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<zeroize::Zeroizing<String>> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE && !value.is_empty() && value.len() <= 128)
                .then(|| zeroize::Zeroizing::new(value.to_owned()))
        })
}

/// `uri` with `state` added to its query (when there is one).
fn with_state(uri: &str, state: Option<&str>) -> String {
    let Some(state) = state.filter(|s| !s.is_empty()) else {
        return uri.to_owned();
    };
    let Ok(mut url) = url::Url::parse(uri) else {
        return uri.to_owned();
    };
    url.query_pairs_mut().append_pair("state", state);
    url.into()
}

/// A 303 to `location`, never cached.
fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_appended_to_the_registered_uri() {
        assert_eq!(
            with_state("https://rp.example/bye?x=1", Some("a b")),
            "https://rp.example/bye?x=1&state=a+b"
        );
        assert_eq!(
            with_state("https://rp.example/bye", None),
            "https://rp.example/bye"
        );
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; vl_session=abc; vl_attempt_x=2"),
        );
        assert_eq!(
            session_cookie(&h).as_deref().map(String::as_str),
            Some("abc")
        );
        h.insert(header::COOKIE, HeaderValue::from_static("vl_sessionx=abc"));
        assert!(session_cookie(&h).is_none());
    }
}
