// SPDX-License-Identifier: Apache-2.0
//! The browser login's cookies (ADR 0002): `vl_attempt_<attempt>` binds an attempt to one
//! browser, `vl_session` names the SSO session.
//!
//! Guarantees: both are random 256-bit secrets of which the server keeps only a hash (the
//! attempt cookie's SHA-256, the session cookie's [`ordered::token_key`]);
//! both are `HttpOnly`, `SameSite=Lax`, and `Secure` unless the issuer is `http` on a
//! loopback host; the attempt cookie is sent only under `/login/`. A cookie is compared to
//! its hash in constant time.

use axum::http::{header, HeaderMap, HeaderValue};

use crate::ordered;
use crate::secrets;

/// Name of the SSO session cookie.
pub(crate) const SESSION_COOKIE: &str = "vl_session";

/// Name of the cookie binding attempt `id` to its browser.
pub(crate) fn attempt_cookie(id: &str) -> String {
    format!("vl_attempt_{id}")
}

/// The value of cookie `name` in the request's `Cookie` headers (the first one).
pub(crate) fn read<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// Whether the request carries cookie `name` whose SHA-256 is `hash`.
pub(crate) fn matches(headers: &HeaderMap, name: &str, hash: &[u8; 32]) -> bool {
    read(headers, name).is_some_and(|v| secrets::ct_eq(&secrets::hash(v.as_bytes()), hash))
}

/// The key the request's SSO session cookie is stored under ([`ordered::token_key`]), if it
/// sent one.
pub(crate) fn session_hash(headers: &HeaderMap) -> Option<[u8; 32]> {
    read(headers, SESSION_COOKIE).map(ordered::token_key)
}

/// Whether cookies for `issuer` need `Secure`: always, except plain `http` on a loopback
/// host (tests and the local demo).
pub(crate) fn secure(issuer: &str) -> bool {
    let Ok(url) = url::Url::parse(issuer) else {
        return true;
    };
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    !(url.scheme() == "http" && loopback)
}

/// A `Set-Cookie` value: `name=value` for `max_age` seconds (0: delete) under `path`.
pub(crate) fn set(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        max_age.max(0)
    );
    // Names and values are base64url and paths are ours: always a valid header value.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("vl_attempt_ab=1; vl_attempt_a=2 ; vl_session=s"),
        );
        assert_eq!(read(&h, "vl_attempt_a"), Some("2"));
        assert_eq!(read(&h, "vl_session"), Some("s"));
        assert_eq!(read(&h, "vl_attempt"), None);
        assert!(matches(&h, "vl_session", &secrets::hash(b"s")));
        assert!(!matches(&h, "vl_session", &secrets::hash(b"t")));
    }

    #[test]
    fn secure_except_on_loopback_http() {
        assert!(!secure("http://127.0.0.1:8080"));
        assert!(!secure("http://localhost:1"));
        assert!(!secure("http://[::1]:1"));
        assert!(secure("https://127.0.0.1"));
        assert!(secure("http://idp.example"));
        let v = set("vl_session", "x", "/", 60, true);
        assert_eq!(
            v.to_str().expect("ascii"),
            "vl_session=x; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
    }
}
