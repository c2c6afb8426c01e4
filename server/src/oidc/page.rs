// SPDX-License-Identifier: Apache-2.0
//! The logout's pages, in the pages' frame and from their catalogue (`pages`): "session
//! closed" (`data-state="logged_out"`, 200), the confirmation (`data-state="logout_confirm"`,
//! 200, `form#logout`) and the refusal (`data-state="error"`, 400).
//!
//! Guarantees: the pages carry the frame's security headers (CSP without inline code,
//! `frame-ancestors 'none'`, no referrer, never cached); every text comes from the catalogue
//! of the page's language.

use axum::http::StatusCode;
use axum::response::Response;

use super::logout::Refusal;
use crate::domain::lang::Lang;
use crate::pages::{self, esc, messages, Document};
use vistalid_core::protocol::PATH_END_SESSION;

/// What the confirmation form carries back.
pub(super) struct Confirm<'a> {
    /// The CSRF token.
    pub(super) csrf: &'a str,
    /// The checked return address.
    pub(super) post_logout_redirect_uri: Option<&'a str>,
    /// The client's `state`.
    pub(super) state: Option<&'a str>,
    /// The client named.
    pub(super) client_id: Option<&'a str>,
    /// The page language asked.
    pub(super) ui_locales: Option<&'a str>,
}

/// The confirmation page: a POST form to the end-session endpoint with `c`'s fields.
pub(super) fn confirm(lang: Lang, c: &Confirm<'_>) -> Response {
    let m = messages::of(lang);
    let mut fields = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n",
        esc(c.csrf)
    );
    for (name, value) in [
        ("post_logout_redirect_uri", c.post_logout_redirect_uri),
        ("state", c.state),
        ("client_id", c.client_id),
        ("ui_locales", c.ui_locales),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            fields.push_str(&format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
                esc(v)
            ));
        }
    }
    let mut r = Document {
        lang,
        title: m.logout_confirm_title,
        state: "logout_confirm",
        main_attrs: String::new(),
        head: String::new(),
        main: format!(
            "<h1>{}</h1>\n<p>{}</p>\n<form id=\"logout\" method=\"post\" action=\"{}\">\n\
             {fields}<button type=\"submit\">{}</button>\n</form>\n",
            esc(m.logout_confirm_title),
            esc(m.logout_confirm_text),
            esc(PATH_END_SESSION),
            esc(m.logout_confirm_submit)
        ),
    }
    .respond(StatusCode::OK);
    // The confirmed POST answers with a 303 to the registered address: the browser must be
    // let go there (`form-action`).
    if let Some(uri) = c.post_logout_redirect_uri.filter(|v| !v.is_empty()) {
        pages::allow_form_target(r.headers_mut(), uri);
    }
    r
}

/// The "session closed" page.
pub(super) fn logged_out(lang: Lang) -> Response {
    let m = messages::of(lang);
    Document {
        lang,
        title: m.logged_out_title,
        state: "logged_out",
        main_attrs: String::new(),
        head: String::new(),
        main: format!(
            "<h1>{}</h1>\n<p>{}</p>\n",
            esc(m.logged_out_title),
            esc(m.logged_out_text)
        ),
    }
    .respond(StatusCode::OK)
}

/// The refusal page of `why` (400).
pub(super) fn refused(lang: Lang, why: Refusal) -> Response {
    let m = messages::of(lang);
    let reason = match why {
        Refusal::BadHint => m.logout_bad_hint,
        Refusal::ClientMismatch => m.logout_client_mismatch,
        Refusal::UnknownClient => m.logout_unknown_client,
        Refusal::UnregisteredRedirect => m.logout_bad_redirect,
    };
    pages::error_page(
        StatusCode::BAD_REQUEST,
        lang,
        m.logout_failed_title,
        &format!("{reason} {}", m.logout_not_ended),
        None,
    )
}
