// SPDX-License-Identifier: Apache-2.0
//! Reading an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636), in the
//! order RFC 6749 §4.1.2.1 sets: first who asks and where the answer goes ([`target`]),
//! whose faults are never redirected; then everything else ([`check`]), whose faults are
//! redirected back with `error` and `state`.
//!
//! Guarantees:
//! - A parameter given twice is refused; a parameter without a value counts as absent (OIDC
//!   Core §3.1.2.1); at most [`MAX_PAIRS`] parameters, each value at most its length.
//! - PKCE is required: `code_challenge_method=S256` and a 43-character base64url
//!   `code_challenge`; `plain` is refused.
//! - `prompt` is `login`, `none` (alone) or absent; `consent` and `select_account` are
//!   refused (this server asks no consent and has one account per browser session).
//! - `acr_values` must name a level this server gives ([`ACR`]), else
//!   `unmet_authentication_requirements`.
//! - Nothing here panics, whatever the input (fuzzed by `fuzz/fuzz_targets/authorize.rs`).

use vistalid_core::protocol::ErrorCode;
use vistalid_core::text;

use crate::id_token::{ACR, OFFLINE_ACR};

/// Most parameters an authorization request may carry.
pub(crate) const MAX_PAIRS: usize = 64;
/// Longest `state` and `nonce`.
const MAX_STATE: usize = 512;
/// Longest `redirect_uri` (as registered).
const MAX_URI: usize = 512;
/// Longest other value.
const MAX_VALUE: usize = 256;
/// Longest `login_hint` (an identifier with generous spacing).
const MAX_HINT: usize = 64;
/// Scopes this server grants (others are ignored, RFC 6749 §3.3).
const SCOPES: &[&str] = &["openid"];

/// The request's parameters, once read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

/// Why a request cannot even be answered by a redirect (shown as an error page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// No `client_id`, or one no client has.
    Client,
    /// No `redirect_uri`, or one the client did not register.
    Redirect,
    /// Not a form or query string, too many parameters, or `client_id` / `redirect_uri`
    /// given twice or too long.
    Malformed,
}

/// Who asks and where the answer goes (checked against the client by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `client_id`.
    pub(crate) client_id: String,
    /// `redirect_uri`.
    pub(crate) redirect_uri: String,
    /// `state` (echoed with errors too, when it is well-formed).
    pub(crate) state: Option<String>,
}

/// A refusal redirected back to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The `error` code.
    pub(crate) error: ErrorCode,
    /// The `error_description` (names the parameter, never its value).
    pub(crate) description: &'static str,
}

/// `prompt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Prompt {
    /// Absent: the SSO session answers if it can.
    #[default]
    Default,
    /// `login`: always a new phone approval.
    Login,
    /// `none`: the SSO session answers, or `login_required`.
    None,
}

/// A checked authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    /// The granted scope (the supported scopes asked, `openid` first).
    pub(crate) scope: String,
    /// `nonce`.
    pub(crate) nonce: Option<String>,
    /// The PKCE S256 `code_challenge`.
    pub(crate) code_challenge: String,
    /// `acr_values`.
    pub(crate) acr_values: Option<String>,
    /// `login_hint` (display-safe).
    pub(crate) login_hint: Option<String>,
    /// `prompt`.
    pub(crate) prompt: Prompt,
    /// `max_age` in seconds.
    pub(crate) max_age: Option<i64>,
    /// `ui_locales`.
    pub(crate) ui_locales: Option<String>,
}

impl Params {
    /// Reads a query string or an `application/x-www-form-urlencoded` body.
    pub(crate) fn read(encoded: &[u8]) -> Result<Self, Fault> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(encoded).map_err(|_| Fault::Malformed)?;
        if pairs.len() > MAX_PAIRS {
            return Err(Fault::Malformed);
        }
        Ok(Self { pairs })
    }

    /// The value of `name`: `Ok(None)` when absent or empty, `Err` when given twice.
    fn one(&self, name: &str) -> Result<Option<&str>, ()> {
        let mut found = self
            .pairs
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str());
        let first = found.next();
        if found.next().is_some() {
            return Err(());
        }
        Ok(first)
    }

    /// The raw `ui_locales` (for the error page's language), if given once.
    pub(crate) fn ui_locales(&self) -> Option<&str> {
        self.one("ui_locales").ok().flatten()
    }
}

/// Who asks and where the answer goes (see the module guarantees).
pub(crate) fn target(p: &Params) -> Result<Target, Fault> {
    let client_id = p
        .one("client_id")
        .map_err(|()| Fault::Malformed)?
        .ok_or(Fault::Client)?;
    if client_id.len() > MAX_VALUE {
        return Err(Fault::Client);
    }
    let redirect_uri = p
        .one("redirect_uri")
        .map_err(|()| Fault::Malformed)?
        .ok_or(Fault::Redirect)?;
    if redirect_uri.len() > MAX_URI {
        return Err(Fault::Redirect);
    }
    // A `state` that is repeated or not visible ASCII is not echoed (the redirect still
    // happens, with `invalid_request`).
    let state = p
        .one("state")
        .ok()
        .flatten()
        .filter(|s| is_vschar(s, MAX_STATE))
        .map(str::to_owned);
    Ok(Target {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        state,
    })
}

/// RFC 6749 Appendix A's VSCHAR: `%x20-7E`, and at most `max` bytes.
fn is_vschar(s: &str, max: usize) -> bool {
    s.len() <= max && s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// The rest of the request (see the module guarantees).
pub(crate) fn check(p: &Params) -> Result<Checked, Refusal> {
    let bad = |description| Refusal {
        error: ErrorCode::InvalidRequest,
        description,
    };
    let one = |name, description| p.one(name).map_err(|()| bad(description));
    for (name, error, description) in [
        (
            "request",
            ErrorCode::RequestNotSupported,
            "request objects (request) are not supported",
        ),
        (
            "request_uri",
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ),
    ] {
        if p.pairs.iter().any(|(k, v)| k == name && !v.is_empty()) {
            return Err(Refusal { error, description });
        }
    }
    match one("response_type", "response_type is repeated")? {
        None => return Err(bad("response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(Refusal {
                error: ErrorCode::UnsupportedResponseType,
                description: "only response_type=code is supported",
            })
        }
    }
    match one("response_mode", "response_mode is repeated")? {
        None | Some("query") => {}
        Some(_) => return Err(bad("only response_mode=query is supported")),
    }
    let state = one("state", "state is repeated")?;
    if state.is_some_and(|s| !is_vschar(s, MAX_STATE)) {
        return Err(bad("state must be at most 512 visible ASCII characters"));
    }
    let scope = one("scope", "scope is repeated")?.unwrap_or_default();
    if scope.len() > MAX_VALUE || !scope.split(' ').any(|s| s == "openid") {
        return Err(Refusal {
            error: ErrorCode::InvalidScope,
            description: "scope must contain openid",
        });
    }
    let scope = SCOPES
        .iter()
        .filter(|s| scope.split(' ').any(|asked| asked == **s))
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let nonce = one("nonce", "nonce is repeated")?;
    if nonce.is_some_and(|s| !is_vschar(s, MAX_STATE)) {
        return Err(bad("nonce must be at most 512 visible ASCII characters"));
    }
    let method = one("code_challenge_method", "code_challenge_method is repeated")?;
    let challenge = one("code_challenge", "code_challenge is repeated")?;
    let code_challenge = match (method, challenge) {
        (_, None) => return Err(bad("PKCE is required: code_challenge is missing")),
        (None, _) => {
            return Err(bad(
                "code_challenge_method=S256 is required (plain, the default, is refused)",
            ))
        }
        (Some("S256"), Some(c)) if is_s256_challenge(c) => c.to_owned(),
        (Some("S256"), Some(_)) => {
            return Err(bad(
                "code_challenge must be the 43-character base64url SHA-256 of the verifier",
            ))
        }
        (Some(_), _) => return Err(bad("only code_challenge_method=S256 is supported")),
    };
    let prompt = match one("prompt", "prompt is repeated")? {
        None => Prompt::Default,
        Some(v) => read_prompt(v).map_err(bad)?,
    };
    let max_age = match one("max_age", "max_age is repeated")? {
        None => None,
        Some(v) if !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse::<i64>().ok()
        }
        Some(_) => return Err(bad("max_age must be a number of seconds")),
    };
    let acr_values = one("acr_values", "acr_values is repeated")?;
    if let Some(acr) = acr_values {
        if acr.len() > MAX_VALUE || !acr.split(' ').any(|a| a == ACR || a == OFFLINE_ACR) {
            return Err(Refusal {
                error: ErrorCode::UnmetAuthenticationRequirements,
                description: "this server gives only acr eidas1",
            });
        }
    }
    let login_hint = one("login_hint", "login_hint is repeated")?;
    if login_hint.is_some_and(|h| h.chars().count() > MAX_HINT || !text::is_display_safe(h)) {
        return Err(bad(
            "login_hint must be at most 64 characters without control characters",
        ));
    }
    let ui_locales = one("ui_locales", "ui_locales is repeated")?;
    if ui_locales.is_some_and(|v| v.len() > MAX_VALUE) {
        return Err(bad("ui_locales is too long"));
    }
    for (name, description) in [
        ("id_token_hint", "id_token_hint is repeated"),
        ("display", "display is repeated"),
        ("claims_locales", "claims_locales is repeated"),
    ] {
        one(name, description)?;
    }
    if p.pairs.iter().any(|(_, v)| v.len() > 4096) {
        return Err(bad("a parameter is too long"));
    }
    Ok(Checked {
        scope,
        nonce: nonce.map(str::to_owned),
        code_challenge,
        acr_values: acr_values.map(str::to_owned),
        login_hint: login_hint.map(str::to_owned),
        prompt,
        max_age,
        ui_locales: ui_locales.map(str::to_owned),
    })
}

/// A base64url SHA-256 digest without padding: 43 characters.
fn is_s256_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `prompt`'s space-separated values.
fn read_prompt(v: &str) -> Result<Prompt, &'static str> {
    let mut prompt = Prompt::Default;
    let mut none = false;
    for value in v.split(' ').filter(|s| !s.is_empty()) {
        match value {
            "login" => prompt = Prompt::Login,
            "none" => none = true,
            "consent" => {
                return Err("prompt=consent is not supported: this server asks no consent")
            }
            "select_account" => return Err("prompt=select_account is not supported"),
            _ => return Err("prompt must be login or none"),
        }
    }
    if none {
        if prompt == Prompt::Login {
            return Err("prompt=none cannot be combined with another value");
        }
        return Ok(Prompt::None);
    }
    Ok(prompt)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn params(q: &str) -> Params {
        Params::read(q.as_bytes()).expect("a query string")
    }

    fn full(extra: &str) -> String {
        format!(
            "response_type=code&client_id=c&redirect_uri=https%3A%2F%2Frp.example%2Fcb&scope=openid\
             &state=s&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
        )
    }

    #[test]
    fn the_target_comes_first_and_is_never_guessed() {
        assert_eq!(target(&params("redirect_uri=x")), Err(Fault::Client));
        assert_eq!(target(&params("client_id=c")), Err(Fault::Redirect));
        assert_eq!(
            target(&params("client_id=c&client_id=d&redirect_uri=x")),
            Err(Fault::Malformed)
        );
        assert_eq!(
            target(&params("client_id=c&redirect_uri=x&redirect_uri=y")),
            Err(Fault::Malformed)
        );
        let t = target(&params(&full(""))).expect("target");
        assert_eq!(t.redirect_uri, "https://rp.example/cb");
        assert_eq!(t.state.as_deref(), Some("s"));
        let t = target(&params("client_id=c&redirect_uri=x&state=%0A")).expect("target");
        assert_eq!(t.state, None, "a state that is not VSCHAR is not echoed");
    }

    #[test]
    fn a_full_request_is_checked() {
        let c = check(&params(&full("&nonce=n&prompt=login&max_age=60&acr_values=eidas1&login_hint=810003456789&ui_locales=en&scope=openid"))).expect_err("scope twice");
        assert_eq!(c.description, "scope is repeated");
        let c = check(&params(&full("&nonce=n&prompt=login&max_age=60&acr_values=eidas1&login_hint=810003456789&ui_locales=en"))).expect("valid");
        assert_eq!(c.prompt, Prompt::Login);
        assert_eq!(c.max_age, Some(60));
        assert_eq!(c.scope, "openid");
        assert_eq!(c.code_challenge, CHALLENGE);
        assert_eq!(c.login_hint.as_deref(), Some("810003456789"));
    }

    #[test]
    fn every_fault_has_its_error() {
        let code = |q: &str| check(&params(q)).map(|_| ()).map_err(|r| r.error.as_str());
        assert_eq!(
            code(&full("").replace("response_type=code", "response_type=token")),
            Err("unsupported_response_type")
        );
        assert_eq!(
            code(&full("").replace("response_type=code&", "")),
            Err("invalid_request")
        );
        assert_eq!(
            code(&full("").replace("scope=openid", "scope=profile")),
            Err("invalid_scope")
        );
        assert_eq!(
            code(&full("").replace("&code_challenge_method=S256", "")),
            Err("invalid_request")
        );
        assert_eq!(
            code(&full("").replace("code_challenge_method=S256", "code_challenge_method=plain")),
            Err("invalid_request")
        );
        assert_eq!(
            code(&full("").replace(CHALLENGE, "short")),
            Err("invalid_request")
        );
        assert_eq!(
            code(&full("").replace(&format!("&code_challenge={CHALLENGE}"), "")),
            Err("invalid_request")
        );
        assert_eq!(code(&full("&prompt=consent")), Err("invalid_request"));
        assert_eq!(code(&full("&prompt=none%20login")), Err("invalid_request"));
        assert_eq!(code(&full("&prompt=bogus")), Err("invalid_request"));
        assert_eq!(code(&full("&max_age=-1")), Err("invalid_request"));
        assert_eq!(
            code(&full("&acr_values=eidas3")),
            Err("unmet_authentication_requirements")
        );
        assert_eq!(code(&full("&request=x")), Err("request_not_supported"));
        assert_eq!(
            code(&full("&request_uri=x")),
            Err("request_uri_not_supported")
        );
        assert_eq!(
            code(&full("&response_mode=fragment")),
            Err("invalid_request")
        );
        assert_eq!(code(&full("&login_hint=%E2%80%AE")), Err("invalid_request"));
        assert_eq!(code(&full("&nonce=a&nonce=b")), Err("invalid_request"));
        assert_eq!(code(&full("&prompt=none")), Ok(()));
        assert_eq!(code(&full("&prompt=")), Ok(()), "an empty value is absent");
        assert_eq!(code(&full("&acr_values=eidas3%20eidas1")), Ok(()));
    }

    #[test]
    fn too_many_parameters_are_malformed() {
        let q = (0..=MAX_PAIRS)
            .map(|i| format!("p{i}=v"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(
            Params::read(q.as_bytes()).map(|_| ()),
            Err(Fault::Malformed)
        );
    }

    proptest::proptest! {
        #[test]
        fn reading_never_panics(q in ".{0,300}") {
            if let Ok(p) = Params::read(q.as_bytes()) {
                let _ = target(&p);
                let _ = check(&p);
            }
        }
    }
}
