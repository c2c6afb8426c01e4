// SPDX-License-Identifier: Apache-2.0
//! The token endpoint's form, parsed into one grant: CIBA's `auth_req_id`, the
//! `authorization_code` grant's code, `redirect_uri` and PKCE verifier, or a refresh token.
//!
//! Guarantees: a parsed request carries every field its grant needs, each within its bounds
//! (a PKCE verifier is 43 to 128 characters of RFC 7636's unreserved set); anything else is
//! 400 `invalid_request` naming the field (never its value), or 400 `unsupported_grant_type`.
//! The client secret of the form is never shown by `Debug`.

use std::fmt;

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde::Deserialize;
use vistalid_core::protocol::{
    ErrorCode, AUTHORIZATION_CODE_GRANT_TYPE, CIBA_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE,
};
use zeroize::Zeroizing;

use crate::api::ApiError;
use crate::secrets;

/// Longest `auth_req_id`, code or refresh token looked up.
const MAX_HANDLE: usize = 128;
/// Longest `redirect_uri` compared (the registration's own bound).
const MAX_REDIRECT_URI: usize = 2048;

/// Form parameters of the token endpoint (every grant's, and `client_secret_post`'s).
#[derive(Deserialize, Default)]
pub(crate) struct TokenForm {
    pub(crate) grant_type: Option<String>,
    pub(crate) auth_req_id: Option<String>,
    pub(crate) code: Option<String>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) code_verifier: Option<String>,
    pub(crate) refresh_token: Option<String>,
    /// A refresh may narrow nothing here: a `scope` other than the granted one is refused.
    pub(crate) scope: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
}

impl Drop for TokenForm {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        for secret in [
            &mut self.code,
            &mut self.code_verifier,
            &mut self.refresh_token,
            &mut self.client_secret,
        ] {
            secret.zeroize();
        }
    }
}

impl fmt::Debug for TokenForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenForm")
            .field("grant_type", &self.grant_type)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// One grant, checked for shape (not yet against the store).
pub(crate) enum TokenRequest {
    /// CIBA poll.
    Ciba {
        /// The `auth_req_id` polled.
        auth_req_id: String,
    },
    /// `authorization_code` grant.
    Code {
        /// The code.
        code: Zeroizing<String>,
        /// The `redirect_uri` of the authorization request.
        redirect_uri: String,
        /// S256 of the `code_verifier` (RFC 7636 §4.6).
        verifier_challenge: String,
    },
    /// `refresh_token` grant.
    Refresh {
        /// The refresh token.
        refresh_token: Zeroizing<String>,
        /// The `scope` asked, if any.
        scope: Option<String>,
    },
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ciba { .. } => f.write_str("Ciba"),
            Self::Code { redirect_uri, .. } => f
                .debug_struct("Code")
                .field("redirect_uri", redirect_uri)
                .finish_non_exhaustive(),
            Self::Refresh { scope, .. } => f
                .debug_struct("Refresh")
                .field("scope", scope)
                .finish_non_exhaustive(),
        }
    }
}

/// The field `name` of the form, present, non-empty and at most `max` bytes.
fn required(value: Option<&str>, name: &str, max: usize) -> Result<String, ApiError> {
    match value {
        None | Some("") => Err(ApiError::bad_request(format!("{name} is required"))),
        Some(v) if v.len() > max => Err(ApiError::bad_request(format!("{name} is too long"))),
        Some(v) => Ok(v.to_owned()),
    }
}

/// RFC 7636 §4.1: `code_verifier = 43*128unreserved`.
fn check_verifier(verifier: &str) -> Result<(), ApiError> {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(unreserved) {
        return Err(ApiError::bad_request(
            "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636)",
        ));
    }
    Ok(())
}

/// The S256 code challenge of `verifier`: base64url (no padding) of its SHA-256.
pub(crate) fn s256(verifier: &str) -> String {
    B64URL.encode(secrets::hash(verifier.as_bytes()))
}

/// Parses the grant of `form` (see the module guarantees).
pub(crate) fn parse(form: &TokenForm) -> Result<TokenRequest, ApiError> {
    match form.grant_type.as_deref() {
        Some(CIBA_GRANT_TYPE) => Ok(TokenRequest::Ciba {
            auth_req_id: required(form.auth_req_id.as_deref(), "auth_req_id", MAX_HANDLE)?,
        }),
        Some(AUTHORIZATION_CODE_GRANT_TYPE) => {
            let code = Zeroizing::new(required(form.code.as_deref(), "code", MAX_HANDLE)?);
            let redirect_uri = required(
                form.redirect_uri.as_deref(),
                "redirect_uri",
                MAX_REDIRECT_URI,
            )?;
            let verifier = Zeroizing::new(required(
                form.code_verifier.as_deref(),
                "code_verifier",
                128,
            )?);
            check_verifier(&verifier)?;
            Ok(TokenRequest::Code {
                code,
                redirect_uri,
                verifier_challenge: s256(&verifier),
            })
        }
        Some(REFRESH_TOKEN_GRANT_TYPE) => Ok(TokenRequest::Refresh {
            refresh_token: Zeroizing::new(required(
                form.refresh_token.as_deref(),
                "refresh_token",
                MAX_HANDLE,
            )?),
            scope: form.scope.clone().filter(|s| !s.is_empty()),
        }),
        Some(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UnsupportedGrantType,
            "supported grant types: authorization_code, refresh_token and CIBA's \
             urn:openid:params:grant-type:ciba",
        )),
        None => Err(ApiError::bad_request("grant_type is required")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> TokenForm {
        let text = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        serde_urlencoded::from_str(&text).expect("form")
    }

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_code_grant_needs_code_redirect_and_a_well_formed_verifier() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let ok = parse(&form(&[
            ("grant_type", "authorization_code"),
            ("code", "abc"),
            ("redirect_uri", "https://rp.example/cb"),
            ("code_verifier", verifier),
        ]))
        .expect("parses");
        assert!(
            matches!(ok, TokenRequest::Code { ref verifier_challenge, .. }
            if verifier_challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        );
        let short = "a".repeat(42);
        let bad_char = format!("{}!", "a".repeat(42));
        for (missing, verifier) in [
            ("code_verifier", None),
            ("code_verifier", Some(short.as_str())),
            ("code_verifier", Some(bad_char.as_str())),
        ] {
            let mut pairs = vec![
                ("grant_type", "authorization_code"),
                ("code", "abc"),
                ("redirect_uri", "https://rp.example/cb"),
            ];
            if let Some(v) = verifier {
                pairs.push(("code_verifier", v));
            }
            let e = parse(&form(&pairs)).expect_err("refused");
            assert_eq!(e.error, ErrorCode::InvalidRequest);
            assert!(
                e.description
                    .as_deref()
                    .unwrap_or_default()
                    .contains(missing),
                "{:?}",
                e.description
            );
        }
        let e = parse(&form(&[
            ("grant_type", "authorization_code"),
            ("code", "abc"),
        ]))
        .expect_err("no redirect_uri");
        assert!(e.description.unwrap_or_default().contains("redirect_uri"));
    }

    #[test]
    fn unknown_and_missing_grant_types_are_told_apart() {
        let e = parse(&form(&[("grant_type", "password")])).expect_err("refused");
        assert_eq!(e.error, ErrorCode::UnsupportedGrantType);
        let e = parse(&form(&[])).expect_err("refused");
        assert_eq!(e.error, ErrorCode::InvalidRequest);
        let e = parse(&form(&[("grant_type", "refresh_token")])).expect_err("refused");
        assert!(e.description.unwrap_or_default().contains("refresh_token"));
    }

    #[test]
    fn debug_shows_no_secret() {
        let f = form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "SECRET-REFRESH"),
            ("client_secret", "SECRET-CLIENT"),
        ]);
        let shown = format!("{f:?} {:?}", parse(&f).expect("parses"));
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(grant in "(authorization_code|refresh_token|x)", code in ".{0,200}",
                              verifier in ".{0,200}") {
            let _ = parse(&form(&[("grant_type", grant.as_str()), ("code", code.as_str()),
                ("redirect_uri", "x"), ("code_verifier", verifier.as_str()),
                ("refresh_token", code.as_str())]));
        }
    }
}
