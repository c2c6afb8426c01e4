// SPDX-License-Identifier: Apache-2.0
//! The frame every page shares: escaping, the document around a page's `<main>`, the
//! security headers, and the static files (`mire.css`, `mire.js`).
//!
//! Guarantees:
//! - Text from outside (service names, device names, identifiers) goes through [`esc`]; the
//!   page has no inline script or style, so the [`CSP`] needs no `unsafe-inline`.
//! - Every page and the status JSON carry [`harden`]'s headers: that CSP (with
//!   `frame-ancestors 'none'`), `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`,
//!   `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`.
//! - A static file's hashed name (`mire-<hash>.css`) changes with its content, so it is
//!   served as immutable; the plain names are cached five minutes.

use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;

use crate::domain::lang::Lang;

/// The Content-Security-Policy of every page: same-origin files only, no inline code, never
/// framed, forms only to this server.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// Lets the page's forms lead to `target`'s origin besides this server (`form-action`): a
/// browser enforces `form-action` on every redirect that follows a form's POST, so a form
/// whose answer is a 303 to a client (the logout confirmation's registered
/// `post_logout_redirect_uri`) needs its origin named. `target` must be an address already
/// checked against the client's registration; one without a tuple origin (`data:`, opaque)
/// leaves the policy as it is.
pub(crate) fn allow_form_target(headers: &mut HeaderMap, target: &str) {
    let Ok(url) = url::Url::parse(target) else {
        return;
    };
    let origin = url.origin();
    if !origin.is_tuple() {
        return;
    }
    let csp = CSP.replace(
        "form-action 'self'",
        &format!("form-action 'self' {}", origin.ascii_serialization()),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

/// Text escaped for HTML text and double-quoted attributes.
pub(crate) fn esc(text: &str) -> String {
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

/// Adds the security headers of every page (see the module guarantees).
pub(crate) fn harden(headers: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, name, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CSP);
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::CACHE_CONTROL, "no-store");
}

/// One page: its `<main>` (already escaped HTML) and what the frame needs.
pub(crate) struct Document<'a> {
    /// The page's language.
    pub(crate) lang: Lang,
    /// The title (plain text).
    pub(crate) title: &'a str,
    /// The `data-state` of `<main>`.
    pub(crate) state: &'a str,
    /// Extra attributes of `<main>` (already escaped HTML, starting with a space).
    pub(crate) main_attrs: String,
    /// Extra head elements (already escaped HTML).
    pub(crate) head: String,
    /// The content of `<main>` (already escaped HTML).
    pub(crate) main: String,
}

impl Document<'_> {
    /// The page as an answer with `status` and the security headers.
    pub(crate) fn respond(&self, status: StatusCode) -> Response {
        let m = super::messages::of(self.lang);
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title} — {brand}</title>\n<link rel=\"stylesheet\" href=\"{css}\">\n\
             <script src=\"{js}\" defer></script>\n{head}</head>\n<body>\n\
             <a class=\"skip\" href=\"#content\">{skip}</a>\n\
             <header><p class=\"brand\">{brand}</p></header>\n\
             <main id=\"content\" data-state=\"{state}\"{attrs}>\n{main}</main>\n</body>\n</html>\n",
            lang = self.lang.tag(),
            title = esc(self.title),
            brand = esc(m.brand),
            css = asset_url(Asset::Css),
            js = asset_url(Asset::Js),
            head = self.head,
            skip = esc(m.skip),
            state = esc(self.state),
            attrs = self.main_attrs,
            main = self.main,
        );
        let mut resp = (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response();
        harden(resp.headers_mut());
        resp
    }
}

/// A static file of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asset {
    /// The style sheet.
    Css,
    /// The live-status script.
    Js,
}

const CSS: &str = include_str!("assets/mire.css");
const JS: &str = include_str!("assets/mire.js");

impl Asset {
    fn parts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Css => ("mire", "css", CSS),
            Self::Js => ("mire", "js", JS),
        }
    }

    /// The file's hashed name (`mire-<12 base64url chars of its SHA-256>.css`).
    fn hashed_name(self) -> &'static str {
        static NAMES: OnceLock<[String; 2]> = OnceLock::new();
        let names = NAMES.get_or_init(|| {
            [Self::Css, Self::Js].map(|a| {
                let (stem, ext, body) = a.parts();
                let digest = ring::digest::digest(&ring::digest::SHA256, body.as_bytes());
                let tag = B64URL.encode(&digest.as_ref()[..9]);
                format!("{stem}-{tag}.{ext}")
            })
        });
        match self {
            Self::Css => &names[0],
            Self::Js => &names[1],
        }
    }
}

/// The URL path of `asset` (its hashed name, under the static path).
pub(crate) fn asset_url(asset: Asset) -> String {
    format!("/login/static/{}", asset.hashed_name())
}

/// The static file named `file` (plain or hashed name), as an answer; `None` when there is
/// none.
pub(crate) fn asset(file: &str) -> Option<Response> {
    [Asset::Css, Asset::Js].into_iter().find_map(|a| {
        let (stem, ext, body) = a.parts();
        let plain = format!("{stem}.{ext}");
        let cache = if file == a.hashed_name() {
            "public, max-age=31536000, immutable"
        } else if file == plain {
            "public, max-age=300"
        } else {
            return None;
        };
        let kind = match a {
            Asset::Css => "text/css; charset=utf-8",
            Asset::Js => "text/javascript; charset=utf-8",
        };
        let mut resp = (
            StatusCode::OK,
            [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, cache)],
            body,
        )
            .into_response();
        resp.headers_mut().insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        Some(resp)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(esc("Jeanne Martin"), "Jeanne Martin");
    }

    #[test]
    fn the_policy_allows_no_inline_code_and_no_framing() {
        assert!(!CSP.contains("unsafe-inline"));
        assert!(!CSP.contains("unsafe-eval"));
        assert!(CSP.contains("frame-ancestors 'none'"));
    }

    #[test]
    fn static_files_are_served_by_plain_and_hashed_names_only() {
        let hashed = asset_url(Asset::Css);
        let name = hashed.rsplit('/').next().expect("name");
        assert!(
            name.starts_with("mire-") && name.ends_with(".css"),
            "{name}"
        );
        let r = asset(name).expect("hashed css");
        assert!(r.headers()[header::CACHE_CONTROL]
            .to_str()
            .expect("ascii")
            .contains("immutable"));
        assert!(asset("mire.js").is_some());
        assert!(asset("mire-AAAAAAAAAAAA.css").is_none(), "a stale hash");
        assert!(asset("../lib.rs").is_none());
    }
}
