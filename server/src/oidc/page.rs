// SPDX-License-Identifier: Apache-2.0
//! The logout's two pages: "session closed" (`data-state="logged_out"`) and the refusal
//! (`data-state="error"`, 400), in French or English, every text from [`Texts`] (one table
//! per language).
//!
//! Guarantees: self-contained HTML without script or inline style; `Content-Security-Policy:
//! default-src 'none'; frame-ancestors 'none'`, `Referrer-Policy: no-referrer`, never cached;
//! every interpolated text is HTML-escaped.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::logout::Refusal;
use crate::domain::lang::Lang;

/// The texts of the logout pages in one language.
struct Texts {
    closed_title: &'static str,
    closed_body: &'static str,
    error_title: &'static str,
    bad_hint: &'static str,
    client_mismatch: &'static str,
    unknown_client: &'static str,
    unregistered_redirect: &'static str,
    what_to_do: &'static str,
}

const FR: Texts = Texts {
    closed_title: "Session fermée",
    closed_body: "Vous êtes déconnecté de Vistalid. Vous pouvez fermer cette page.",
    error_title: "Déconnexion impossible",
    bad_hint: "Le service a envoyé une preuve de connexion que ce serveur n'a pas émise.",
    client_mismatch: "Le service nommé ne correspond pas à la preuve de connexion envoyée.",
    unknown_client: "Le service qui demande la déconnexion n'est pas connu.",
    unregistered_redirect: "L'adresse de retour demandée n'est pas enregistrée pour ce service : \
                            vous n'y êtes pas renvoyé.",
    what_to_do: "Votre session n'a pas été fermée. Retournez sur le service et réessayez, ou \
                 fermez votre navigateur.",
};

const EN: Texts = Texts {
    closed_title: "Session closed",
    closed_body: "You are logged out of Vistalid. You can close this page.",
    error_title: "Logout failed",
    bad_hint: "The service sent a login proof this server did not issue.",
    client_mismatch: "The service named does not match the login proof sent.",
    unknown_client: "The service asking for the logout is not known.",
    unregistered_redirect: "The return address asked for is not registered for this service: \
                            you are not sent there.",
    what_to_do: "Your session was not closed. Go back to the service and try again, or close \
                 your browser.",
};

fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Fr => &FR,
        Lang::En => &EN,
    }
}

/// The "session closed" page.
pub(super) fn logged_out(lang: Lang) -> Response {
    let t = texts(lang);
    render(
        StatusCode::OK,
        lang,
        "logged_out",
        t.closed_title,
        &[t.closed_body],
    )
}

/// The refusal page of `why` (400).
pub(super) fn refused(lang: Lang, why: Refusal) -> Response {
    let t = texts(lang);
    let reason = match why {
        Refusal::BadHint => t.bad_hint,
        Refusal::ClientMismatch => t.client_mismatch,
        Refusal::UnknownClient => t.unknown_client,
        Refusal::UnregisteredRedirect => t.unregistered_redirect,
    };
    render(
        StatusCode::BAD_REQUEST,
        lang,
        "error",
        t.error_title,
        &[reason, t.what_to_do],
    )
}

fn render(status: StatusCode, lang: Lang, state: &str, title: &str, lines: &[&str]) -> Response {
    let mut body = format!(
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} – Vistalid</title>\n</head>\n<body>\n<main data-state=\"{}\">\n<h1>{}</h1>\n",
        lang.tag(),
        escape(title),
        escape(state),
        escape(title)
    );
    for line in lines {
        body.push_str(&format!("<p>{}</p>\n", escape(line)));
    }
    body.push_str("</main>\n</body>\n</html>\n");
    let mut r = (status, Html(body)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
