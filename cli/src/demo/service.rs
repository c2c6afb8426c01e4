// SPDX-License-Identifier: Apache-2.0
//! The sample health service of `vistalid demo --serve`: a few server-rendered pages on
//! loopback that log a person in with Vistalid's authorization-code flow, through the shared
//! relying party (PKCE S256, `state`, `nonce`, ID token and userinfo verified).
//!
//! Pages: `/` (the « Se connecter avec Vistalid » button, or who is logged in and a logout
//! button), `/login` (a new authorization request: 303 to the identity server), `/callback`
//! (the code exchange and userinfo, then 303 to `/`), `/logout` (303 to the end-session
//! endpoint) and `/logged-out`.
//!
//! Guarantees:
//! - The browser holds one cookie, `dmp`, whose value is the `state` of its authorization
//!   request (256 random bits): the service keeps, per `state`, the pending request until its
//!   callback, then the login. A callback is accepted only for the browser's own pending
//!   request, once.
//! - Every value shown in a page is HTML-escaped; pages have no script.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use vistalid_server::relying_party::{AuthorizationRequest, AuthorizeOptions, Login, RelyingParty};

use crate::text::browser::{self as says, ServicePage};

/// The cookie of the service's browser session.
const COOKIE: &str = "dmp";

/// What the service keeps per browser (by its `dmp` cookie).
enum Visit {
    /// Sent to the identity server; waiting for the callback.
    Pending(AuthorizationRequest),
    /// Logged in: the tokens and the userinfo answer.
    LoggedIn(Box<(Login, Value)>),
}

/// The sample service: its relying party and its visits.
pub(crate) struct Service {
    rp: RelyingParty,
    /// The service's own base URL (`http://127.0.0.1:port`).
    base: String,
    visits: Mutex<HashMap<String, Visit>>,
}

impl Service {
    /// A service at `base` logging in through `rp`.
    pub(crate) fn new(rp: RelyingParty, base: String) -> Arc<Self> {
        Arc::new(Self {
            rp,
            base,
            visits: Mutex::default(),
        })
    }

    /// Its `redirect_uri`.
    pub(crate) fn callback(base: &str) -> String {
        format!("{base}/callback")
    }

    /// Its `post_logout_redirect_uri`.
    pub(crate) fn logged_out(base: &str) -> String {
        format!("{base}/logged-out")
    }

    /// The service's routes.
    pub(crate) fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/", get(home))
            .route("/login", get(login))
            .route("/callback", get(callback))
            .route("/logout", get(logout))
            .route("/logged-out", get(logged_out))
            .with_state(self)
    }

    fn visits(&self) -> std::sync::MutexGuard<'_, HashMap<String, Visit>> {
        self.visits.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The `dmp` cookie of a request.
fn visit_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == COOKIE).then(|| v.to_owned())
        })
}

async fn home(State(s): State<Arc<Service>>, headers: HeaderMap) -> Html<String> {
    let texts = says::service_page();
    let visits = s.visits();
    let logged_in = visit_key(&headers).and_then(|k| match visits.get(&k) {
        Some(Visit::LoggedIn(l)) => Some(l.1.clone()),
        _ => None,
    });
    drop(visits);
    let body = match logged_in {
        Some(info) => who(&texts, &info),
        None => format!(
            "<form id=\"login\" method=\"get\" action=\"/login\"><button type=\"submit\">{}</button></form>",
            escape(&texts.login)
        ),
    };
    page(&texts, "home", &body)
}

/// Who is logged in, from userinfo.
fn who(texts: &ServicePage, info: &Value) -> String {
    let s = |k: &str| escape(info[k].as_str().unwrap_or_default());
    let profession = info["SubjectRefPro"]["exercices"][0]["codeProfession"]
        .as_str()
        .map(|p| format!(" <span id=\"profession\">({})</span>", escape(p)))
        .unwrap_or_default();
    format!(
        "<p>{}</p><p id=\"who\"><strong>{} {}</strong> <span id=\"subject\">{}</span>{profession}</p>\
         <form id=\"logout\" method=\"get\" action=\"/logout\"><button type=\"submit\">{}</button></form>",
        escape(&texts.logged_in_as),
        s("given_name"),
        s("family_name"),
        s("SubjectNameID"),
        escape(&texts.logout)
    )
}

async fn login(State(s): State<Arc<Service>>) -> Response {
    let request = match s
        .rp
        .authorization_request(&Service::callback(&s.base), &AuthorizeOptions::default())
    {
        Ok(r) => r,
        Err(e) => return failed(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let (to, key) = (request.url.clone(), request.state.clone());
    s.visits().insert(key.clone(), Visit::Pending(request));
    let cookie = format!("{COOKIE}={key}; HttpOnly; SameSite=Lax; Path=/");
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, to), (header::SET_COOKIE, cookie)],
    )
        .into_response()
}

async fn callback(
    State(s): State<Arc<Service>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let Some(key) = visit_key(&headers) else {
        return failed(
            StatusCode::BAD_REQUEST,
            "no login in progress in this browser",
        );
    };
    let pending = match s.visits().remove(&key) {
        Some(Visit::Pending(r)) => r,
        _ => {
            return failed(
                StatusCode::BAD_REQUEST,
                "no login in progress in this browser",
            )
        }
    };
    let url = format!("{}{uri}", s.base);
    let code = match s.rp.callback_code(&pending, &url) {
        Ok(code) => code,
        Err(e) => return failed(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let login = match s.rp.exchange_code(&pending, &code).await {
        Ok(l) => l,
        Err(e) => return failed(StatusCode::BAD_GATEWAY, &e.to_string()),
    };
    let info = match s.rp.userinfo_for(&login).await {
        Ok(i) => i,
        Err(e) => return failed(StatusCode::BAD_GATEWAY, &e.to_string()),
    };
    s.visits()
        .insert(key, Visit::LoggedIn(Box::new((login, info))));
    (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response()
}

async fn logout(State(s): State<Arc<Service>>, headers: HeaderMap) -> Response {
    let taken = visit_key(&headers).and_then(|k| s.visits().remove(&k));
    let Some(Visit::LoggedIn(l)) = taken else {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    };
    let to = s.rp.end_session_url(
        Some(&l.0.tokens.id_token),
        Some(&Service::logged_out(&s.base)),
        None,
    );
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

async fn logged_out() -> Html<String> {
    let texts = says::service_page();
    let body = format!(
        "<p id=\"bye\">{}</p><p><a href=\"/\">{}</a></p>",
        escape(&texts.logged_out),
        escape(&texts.home)
    );
    page(&texts, "logged_out", &body)
}

fn failed(status: StatusCode, why: &str) -> Response {
    let texts = says::service_page();
    let body = format!(
        "<p>{}</p><p id=\"error\">{}</p><p><a href=\"/\">{}</a></p>",
        escape(&texts.failed),
        escape(why),
        escape(&texts.home)
    );
    (status, page(&texts, "error", &body)).into_response()
}

fn page(texts: &ServicePage, state: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body><main data-state=\"{state}\"><h1>{title}</h1>{body}</main></body></html>",
        texts.lang,
        title = escape(&texts.title),
    ))
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        assert_eq!(
            escape("<b a=\"x\">&'</b>"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn the_cookie_is_read_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; dmp=xyz; b=2".parse().expect("header"));
        assert_eq!(visit_key(&h).as_deref(), Some("xyz"));
        assert_eq!(visit_key(&HeaderMap::new()), None);
    }
}
