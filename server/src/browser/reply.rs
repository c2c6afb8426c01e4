// SPDX-License-Identifier: Apache-2.0
//! The answers of the browser login that leave this server or move between its pages:
//! redirects back to a client (with a code or an error, RFC 6749 §4.1.2 and RFC 9207's
//! `iss`), and 303s to the login page.
//!
//! Guarantees: a client is only ever redirected to one of its registered `redirect_uri`
//! values (the caller passes the attempt's or the checked request's); the answer parameters
//! are appended to that URI's own query; every redirect is `no-store` and
//! `Referrer-Policy: no-referrer`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use vistalid_core::protocol::ErrorCode;

use crate::pages::harden;

/// A 303 to `location` (a path of this server or a registered redirect URI).
pub(crate) fn see_other(location: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    harden(resp.headers_mut());
    resp
}

/// `redirect_uri` with `params` appended to its query (parameters with `None` left out).
pub(crate) fn with_params(redirect_uri: &str, params: &[(&str, Option<&str>)]) -> Option<String> {
    let mut url = url::Url::parse(redirect_uri).ok()?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
    }
    Some(url.into())
}

/// The 303 back to the client with an error (RFC 6749 §4.1.2.1).
pub(crate) fn client_error(
    redirect_uri: &str,
    error: ErrorCode,
    description: &str,
    state: Option<&str>,
    issuer: &str,
) -> Response {
    let to = with_params(
        redirect_uri,
        &[
            ("error", Some(error.as_str())),
            ("error_description", Some(description)),
            ("state", state),
            ("iss", Some(issuer)),
        ],
    );
    match to {
        Some(to) => see_other(&to),
        // A registered URI always parses (checked at registration).
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The 303 back to the client with a code (RFC 6749 §4.1.2).
pub(crate) fn client_code(
    redirect_uri: &str,
    code: &str,
    state: Option<&str>,
    issuer: &str,
) -> Response {
    let to = with_params(
        redirect_uri,
        &[
            ("code", Some(code)),
            ("state", state),
            ("iss", Some(issuer)),
        ],
    );
    match to {
        Some(to) => see_other(&to),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_join_the_registered_query() {
        let to = with_params(
            "https://rp.example/cb?tenant=a",
            &[
                ("code", Some("x y")),
                ("state", None),
                ("iss", Some("https://idp")),
            ],
        )
        .expect("valid");
        assert_eq!(
            to,
            "https://rp.example/cb?tenant=a&code=x+y&iss=https%3A%2F%2Fidp"
        );
        let r = client_error(
            "https://rp.example/cb",
            ErrorCode::AccessDenied,
            "no",
            Some("s"),
            "i",
        );
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers()[header::LOCATION],
            "https://rp.example/cb?error=access_denied&error_description=no&state=s&iss=i"
        );
        assert_eq!(r.headers()[header::REFERRER_POLICY], "no-referrer");
    }
}
