// SPDX-License-Identifier: Apache-2.0
//! The HTML pages a person reads (ADR 0002): the login page's states (`mire`), the error
//! page, with the message catalogues (`messages`) and the shared frame (`html`).
//!
//! Guarantees: server-rendered HTML without a framework or inline code; every text a person
//! reads comes from the catalogue of the page's language; every outside value is escaped;
//! every page carries the security headers of `html::harden`.

mod html;
pub(crate) mod messages;
pub(crate) mod mire;
pub(crate) mod offline;

use axum::http::StatusCode;
use axum::response::Response;

pub(crate) use html::{allow_form_target, asset, esc, harden, Document};

use crate::domain::lang::Lang;

/// An error page (`<main data-state="error">`) with `heading`, `text` (plain texts from the
/// catalogue) and, when the user can be sent back safely, a "back to the service" link.
pub(crate) fn error_page(
    status: StatusCode,
    lang: Lang,
    heading: &str,
    text: &str,
    back: Option<&str>,
) -> Response {
    let m = messages::of(lang);
    let mut main = format!(
        "<h1>{}</h1>\n<p class=\"error\">{}</p>\n",
        esc(heading),
        esc(text)
    );
    if let Some(url) = back {
        main.push_str(&format!(
            "<p><a id=\"back\" class=\"button secondary\" href=\"{}\">{}</a></p>\n",
            esc(url),
            esc(m.back)
        ));
    }
    Document {
        lang,
        title: heading,
        state: "error",
        main_attrs: String::new(),
        head: String::new(),
        main,
    }
    .respond(status)
}
