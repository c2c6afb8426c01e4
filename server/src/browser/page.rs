// SPDX-License-Identifier: Apache-2.0
//! The login page of one attempt: its current state (GET), the identifier form (POST), the
//! retry form, and the continue step back to the client.
//!
//! Guarantees (with the module's):
//! - An unknown identifier and an account without an active device end in the one
//!   `no_device` state by the same steps (the store's same reads, the same start, a decoy
//!   signature standing for the challenge a known account's device would get), so the
//!   answer's wording and cost do not tell them apart. A held
//!   account says so (as the CIBA endpoint tells a registered client).
//! - At most `browser_login_per_ip_per_min` phone challenges per peer address per minute
//!   (identifier forms and retries together); beyond, the page asks to wait (429).
//! - The continue step answers once: a code and the session after an approval, else
//!   `access_denied`; a waiting attempt goes back to its page.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use vistalid_core::protocol::{ErrorCode, RequestContext, PATH_LOGIN};
use vistalid_core::text;

use super::authorize::CODE_TTL_SECS;
use super::cookies;
use super::reply::{client_code, client_error, see_other};
use crate::api::{ApiError, PathParam};
use crate::attestation::AttestationRefusal;
use crate::clients;
use crate::domain::attempt::{HoldReason, LoginState};
use crate::domain::guard::HoldRefusal;
use crate::domain::identifier;
use crate::domain::lang::Lang;
use crate::domain::RefusalStage;
use crate::limits::ip_key;
use crate::login::{self, Ask, Start};
use crate::ordered;
use crate::pages::{self, messages, mire};
use crate::refusals::refuse;
use crate::secrets;
use crate::state::Shared;
use crate::store::{
    Attempt, CodeFromAttempt, Continued, LoginTarget, NewCode, NewSession, StopTry,
};

/// Longest attempt id looked up (ids are 22 base64url characters).
const MAX_ID: usize = 64;
/// Longest user agent kept for the approval card.
const MAX_USER_AGENT: usize = 128;

/// The TCP peer's address, when the request came over TCP.
pub(crate) struct Peer(pub(crate) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip()),
        ))
    }
}

/// A form posted to attempt `id`: the attempt and the form when this browser holds the
/// attempt's cookie and the form carries its CSRF token; else the page to answer with (the
/// "gone" page, or the CSRF page).
pub(super) async fn bound_form(
    s: &Shared,
    headers: &HeaderMap,
    id: &str,
    body: &[u8],
) -> Result<Result<(Attempt, Form), Response>, ApiError> {
    let a = match bound(s, headers, id).await? {
        Ok(a) => a,
        Err(page) => return Ok(Err(page)),
    };
    let form = Form::read(body);
    if !form.csrf_ok(&a) {
        return Ok(Err(csrf_page(a.lang)));
    }
    Ok(Ok((a, form)))
}

/// The attempt `id` if this browser holds its cookie; else the "gone" page (404).
pub(super) async fn bound(
    s: &Shared,
    headers: &HeaderMap,
    id: &str,
) -> Result<Result<Attempt, Response>, ApiError> {
    let gone = || {
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        gone_page(Lang::negotiate(None, accept))
    };
    if id.is_empty()
        || id.len() > MAX_ID
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Ok(Err(gone()));
    }
    let Some(attempt) = s.store.attempts().find(id).await? else {
        return Ok(Err(gone()));
    };
    if !cookies::matches(headers, &cookies::attempt_cookie(id), &attempt.cookie_hash) {
        tracing::warn!("a login attempt was asked for without its browser's cookie");
        return Ok(Err(gone()));
    }
    Ok(Ok(attempt))
}

/// The "expired or opened in another browser" page.
fn gone_page(lang: Lang) -> Response {
    let m = messages::of(lang);
    pages::error_page(StatusCode::NOT_FOUND, lang, m.gone_title, m.gone_text, None)
}

/// GET: the attempt's current page.
pub(crate) async fn show(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    PathParam(id): PathParam<String>,
) -> Result<Response, ApiError> {
    let a = match bound(&s, &headers, &id).await? {
        Ok(a) => a,
        Err(page) => return Ok(page),
    };
    let offline = super::offline::allowed(&s, &a, s.clock.now()).await?;
    Ok(view_with(&s, &a, None, offline))
}

/// The page of `a` in its current state (`notice`: a message above the identifier form).
fn view(s: &Shared, a: &Attempt, notice: Option<&str>) -> Response {
    view_with(s, a, notice, false)
}

/// [`view`], with the offline code's link when `offline` (issue 16).
fn view_with(s: &Shared, a: &Attempt, notice: Option<&str>, offline: bool) -> Response {
    let state = a.facts.state(s.clock.now());
    if state == LoginState::Gone {
        return gone_page(a.lang);
    }
    let m = messages::of(a.lang);
    let scan_qr = super::scan::qr_svg(&s.issuer, a, m.scan_qr_label);
    mire::render(&mire::View {
        scan: a.scan_secret.is_some(),
        scan_qr: scan_qr.as_deref(),
        lang: a.lang,
        attempt_id: &a.id,
        csrf: &a.csrf,
        service: &a.client_name,
        mode: a.mode,
        code: a.request.as_ref().map(|r| r.code.as_str()),
        devices: &a.devices,
        login_hint: a.login_hint.as_deref(),
        state,
        notice,
        offline,
    })
}

/// A form of the login page, read (the body's fields, each once).
pub(super) struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    pub(super) fn read(body: &[u8]) -> Self {
        Self {
            pairs: serde_urlencoded::from_bytes(body).unwrap_or_default(),
        }
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        let mut it = self.pairs.iter().filter(|(k, _)| k == name);
        let first = it.next();
        if it.next().is_some() {
            return None;
        }
        first.map(|(_, v)| v.as_str())
    }

    /// Whether the form carries `a`'s CSRF token.
    pub(super) fn csrf_ok(&self, a: &Attempt) -> bool {
        self.get("csrf")
            .is_some_and(|t| secrets::ct_eq(t.as_bytes(), a.csrf.as_bytes()))
    }
}

/// The 403 page of a form without its CSRF token.
pub(super) fn csrf_page(lang: Lang) -> Response {
    let m = messages::of(lang);
    pages::error_page(StatusCode::FORBIDDEN, lang, m.gone_title, m.csrf_text, None)
}

/// POST: the identifier form.
pub(crate) async fn submit(
    State(s): State<Arc<Shared>>,
    Peer(peer): Peer,
    headers: HeaderMap,
    PathParam(id): PathParam<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (a, form) = match bound_form(&s, &headers, &id, &body).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    // Scan mode on the user's request (issue 16): the attempt gets its QR secret first.
    let a = if form.get("login_mode") == Some("scan") && a.scan_secret.is_none() {
        s.store
            .attempts()
            .enable_scan(&a.id, super::scan::new_secret()?)
            .await?;
        match s.store.attempts().find(&a.id).await? {
            Some(found) => Attempt {
                cookie_hash: a.cookie_hash,
                ..found
            },
            None => return Ok(gone_page(a.lang)),
        }
    } else {
        a
    };
    let now = s.clock.now();
    if !matches!(
        a.facts.state(now),
        LoginState::Identifier | LoginState::NoDevice
    ) {
        return Ok(see_other(&mire::login_path(PATH_LOGIN, &a.id)));
    }
    if let Some(page) = limited(&s, &a, peer, now) {
        return Ok(page);
    }
    let typed = form.get("identifier").unwrap_or_default();
    let target = match identifier::read(typed) {
        Some(login_id) => s.store.accounts().login_target(&login_id).await?,
        None => None,
    };
    start(&s, &a, target, &headers, peer, now).await
}

/// POST: a new phone challenge after a wrong code, an expiry or a hold.
pub(crate) async fn retry(
    State(s): State<Arc<Shared>>,
    Peer(peer): Peer,
    headers: HeaderMap,
    PathParam(id): PathParam<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let a = match bound(&s, &headers, &id).await? {
        Ok(a) => a,
        Err(page) => return Ok(page),
    };
    if !Form::read(&body).csrf_ok(&a) {
        return Ok(csrf_page(a.lang));
    }
    let now = s.clock.now();
    if !a.facts.state(now).can_retry() {
        return Ok(see_other(&mire::login_path(PATH_LOGIN, &a.id)));
    }
    if let Some(page) = limited(&s, &a, peer, now) {
        return Ok(page);
    }
    let target = match &a.account_id {
        Some(account) => s.store.accounts().login_target_of(account).await?,
        None => None,
    };
    start(&s, &a, target, &headers, peer, now).await
}

/// The per-network limit's page (429), when this peer is over it.
fn limited(s: &Shared, a: &Attempt, peer: Option<IpAddr>, now: i64) -> Option<Response> {
    let key = peer.map_or_else(|| "in-process".to_owned(), ip_key);
    s.browser_limiter.check(&key, now).err()?;
    let m = messages::of(a.lang);
    let mut page = match a.facts.state(now) {
        LoginState::Identifier => view(s, a, Some(m.slow_down_text)),
        _ => pages::error_page(
            StatusCode::TOO_MANY_REQUESTS,
            a.lang,
            m.gone_title,
            m.slow_down_text,
            Some(&mire::login_path(PATH_LOGIN, &a.id)),
        ),
    };
    *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    Some(page)
}

/// Starts the phone challenge of `a` for `target` (or records why none), then back to the
/// page.
async fn start(
    s: &Shared,
    a: &Attempt,
    target: Option<LoginTarget>,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    now: i64,
) -> Result<Response, ApiError> {
    let page = see_other(&mire::login_path(PATH_LOGIN, &a.id));
    let Some(client) = clients::find(s, &a.client_id).await? else {
        return Ok(gone_page(a.lang));
    };
    // Unknown: the same steps as an account without a device (its start ends at
    // `NoActiveDevice`, then the decoy signature), so neither the answer nor its time differs.
    let target = target.unwrap_or_else(LoginTarget::nobody);
    let account_id = target.account_id.clone();
    let ask = ask(a, &client.name, headers, peer);
    let started = login::start(s, &client, target, ask, Some(&a.id)).await?;
    if let Some(stop) = stop_of(s, started, account_id, now).await? {
        s.store.attempts().stop(&a.id, stop, now).await?;
    }
    Ok(page)
}

/// What the phone challenge of attempt `a` for `service` asks, with the browser's context.
fn ask(a: &Attempt, service: &str, headers: &HeaderMap, peer: Option<IpAddr>) -> Ask {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(MAX_USER_AGENT).collect::<String>())
        .filter(|ua| text::is_display_safe(ua));
    Ask {
        scope: a.scope.clone(),
        acr_values: a.acr_values.clone(),
        binding_message: binding_message(a.lang, service),
        scan: a.scan_secret.is_some().then(|| a.id.clone()),
        context: RequestContext {
            ip: peer.map(|ip| ip.to_string()),
            user_agent,
            place: None,
        },
    }
}

/// Longest binding message (characters), as the CIBA endpoint bounds a relying party's.
const MAX_BINDING_MESSAGE: usize = 128;

/// The phone card's binding message of a browser login to `service` ("Connexion à …" /
/// "Sign in to …" in the attempt's language): display-safe (refused characters dropped) and
/// at most [`MAX_BINDING_MESSAGE`] characters (the name is cut to fit).
fn binding_message(lang: Lang, service: &str) -> String {
    let template = messages::of(lang).login_binding;
    let room = MAX_BINDING_MESSAGE.saturating_sub(template.chars().count() - "{service}".len());
    let name: String = service
        .chars()
        .filter(|c| !text::is_refused(*c))
        .take(room)
        .collect();
    template.replace("{service}", name.trim())
}

/// Why the attempt stops when no challenge was sent (`None`: one was, or the attempt had
/// already closed).
async fn stop_of(
    s: &Shared,
    started: Start,
    account_id: String,
    now: i64,
) -> Result<Option<StopTry>, ApiError> {
    Ok(Some(match started {
        Start::Started(_) | Start::AttemptClosed => return Ok(None),
        Start::NoActiveDevice => {
            login::decoy(s)?;
            StopTry::NoDevice
        }
        Start::NoEligibleDevice => {
            // Counted as at CIBA; the page reads as for an account without a device: no
            // request can be sent (no device of the account meets this service's policy).
            let refusal = AttestationRefusal::Required(
                "no device of this account meets this service's attestation requirements",
            );
            let _counted = refuse(s, RefusalStage::Login, &refusal).await;
            login::decoy(s)?;
            StopTry::NoDevice
        }
        Start::Held(held) => {
            let (reason, wait) = match held {
                HoldRefusal::NotMe { wait_secs } => (HoldReason::NotMe, wait_secs),
                HoldRefusal::WrongPick { wait_secs } => (HoldReason::WrongPick, wait_secs),
            };
            StopTry::Held {
                account_id,
                reason,
                until: now.saturating_add(wait),
            }
        }
        Start::TooManyPending => StopTry::Held {
            account_id,
            reason: HoldReason::TooManyPending,
            until: now.saturating_add(i64::try_from(s.config.ciba_expires_in).unwrap_or(60)),
        },
    }))
}

/// GET: back to the client, with a code after an approval, else `access_denied`.
pub(crate) async fn finish(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    PathParam(id): PathParam<String>,
) -> Result<Response, ApiError> {
    let a = match bound(&s, &headers, &id).await? {
        Ok(a) => a,
        Err(page) => return Ok(page),
    };
    if a.facts.done {
        return Ok(gone_page(a.lang));
    }
    let now = s.clock.now();
    let why = match a.facts.state(now) {
        LoginState::Approved => return approved(&s, &a, &headers, now).await,
        LoginState::Waiting { .. } => return Ok(see_other(&mire::login_path(PATH_LOGIN, &a.id))),
        LoginState::Declined => "the user declined the login",
        LoginState::NotMe => "the user reported the login request as not theirs",
        LoginState::Locked => "the login attempt used all its tries",
        LoginState::Held { .. } => "the account's logins are on hold",
        LoginState::NoDevice => "no login request could be sent for this identifier",
        LoginState::Gone => "the login attempt expired",
        LoginState::Identifier | LoginState::WrongCode { .. } | LoginState::Expired { .. } => {
            "the user went back to the service"
        }
    };
    if !s.store.attempts().finish(&a.id, now).await? {
        return Ok(gone_page(a.lang));
    }
    let mut resp = client_error(
        &a.redirect_uri,
        ErrorCode::AccessDenied,
        why,
        a.state.as_deref(),
        &s.issuer,
    );
    clear_attempt_cookie(&s, &a, &mut resp);
    Ok(resp)
}

/// The continue step of an approved attempt: the code, the session, the redirect.
async fn approved(
    s: &Shared,
    a: &Attempt,
    headers: &HeaderMap,
    now: i64,
) -> Result<Response, ApiError> {
    let code = ordered::make_ordered_token()?;
    let session_secret = ordered::make_ordered_token()?;
    let ttl = i64::try_from(s.config.session_ttl_secs).unwrap_or(i64::MAX);
    let step = CodeFromAttempt {
        attempt_id: a.id.clone(),
        now,
        code: NewCode {
            hash: ordered::token_key(&code),
            client_id: a.client_id.clone(),
            redirect_uri: a.redirect_uri.clone(),
            code_challenge: a.code_challenge.clone(),
            nonce: a.nonce.clone(),
            scope: a.scope.clone(),
            expires_at: now.saturating_add(CODE_TTL_SECS),
        },
        session: NewSession {
            id: ordered::make_ordered_id()?,
            cookie_hash: ordered::token_key(&session_secret),
            expires_at: now.saturating_add(ttl),
        },
        replaces: cookies::session_hash(headers),
    };
    match s.store.attempts().issue_code(step).await? {
        Continued::Issued => {}
        Continued::NotApproved => return Ok(see_other(&mire::login_path(PATH_LOGIN, &a.id))),
        Continued::Closed => return Ok(gone_page(a.lang)),
    }
    tracing::info!(client = %a.client_id, "browser login approved; code issued");
    let mut resp = client_code(&a.redirect_uri, &code, a.state.as_deref(), &s.issuer);
    resp.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            cookies::SESSION_COOKIE,
            &session_secret,
            "/",
            ttl,
            cookies::secure(&s.issuer),
        ),
    );
    clear_attempt_cookie(s, a, &mut resp);
    Ok(resp)
}

/// Deletes the attempt's cookie (its answer went back to the client).
fn clear_attempt_cookie(s: &Shared, a: &Attempt, resp: &mut Response) {
    resp.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            &cookies::attempt_cookie(&a.id),
            "",
            "/login/",
            0,
            cookies::secure(&s.issuer),
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binding_message_names_the_service_safely_and_briefly() {
        assert_eq!(
            binding_message(Lang::Fr, "Dossier patient"),
            "Connexion à Dossier patient"
        );
        assert_eq!(
            binding_message(Lang::En, "Dossier patient"),
            "Sign in to Dossier patient"
        );
        let odd = format!("DMP\u{202e}\u{2028}{}", "x".repeat(300));
        let m = binding_message(Lang::Fr, &odd);
        assert!(text::is_display_safe(&m), "{m:?}");
        assert_eq!(m.chars().count(), MAX_BINDING_MESSAGE);
        assert!(m.starts_with("Connexion à DMPxxx"));
    }
}
