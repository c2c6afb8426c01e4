// SPDX-License-Identifier: Apache-2.0
//! The logout's two pages, in the pages' frame and from their catalogue (`pages`): "session
//! closed" (`data-state="logged_out"`, 200) and the refusal (`data-state="error"`, 400).
//!
//! Guarantees: the pages carry the frame's security headers (CSP without inline code,
//! `frame-ancestors 'none'`, no referrer, never cached); every text comes from the catalogue
//! of the page's language.

use axum::http::StatusCode;
use axum::response::Response;

use super::logout::Refusal;
use crate::domain::lang::Lang;
use crate::pages::{self, esc, messages, Document};

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
