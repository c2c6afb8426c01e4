// SPDX-License-Identifier: Apache-2.0
//! A minimal relying party, for tests, demos and benches (not for production services: use
//! an OIDC library there), and the minimal user agent that plays the browser beside it. It
//! speaks to a Vistalid server over HTTP: CIBA in poll mode; the authorization-code flow with
//! PKCE S256, `state` and `nonce` ([`code_flow`]); the token endpoint with
//! `client_secret_basic` or `client_secret_post`; userinfo; refresh; the end-session URL; and
//! the JWKS with which it verifies ID tokens ([`id_token`]). [`user_agent`] is a browser
//! without a screen (cookies, forms, one redirect at a time) and [`login_flow`] walks the
//! login page with it, so the CLI demo, the load bench and the tests share one client of each
//! side.
//!
//! Guarantees:
//! - Every refusal by the server comes back as [`RpError::Refused`] with its HTTP status and
//!   its `ErrorBody` (for a bearer refusal without a body, the `error` of its
//!   `WWW-Authenticate` header), so a test can assert both.
//! - [`RelyingParty::verify_id_token`] accepts a token only if it is an ES256 JWT (`typ` JWT)
//!   signed by a key of the server's JWKS (picked by `kid`; the JWKS is fetched once and
//!   again only for an unknown `kid`), with `iss` equal to the server's base URL, `aud`
//!   naming this client, `exp` after the clock's now, and `nonce` equal to the one given
//!   (when one is given); the code flow also requires `nonce` and a matching `at_hash`.
//! - A callback is accepted only at the request's `redirect_uri`, with its `state` and, when
//!   the server sends one, `iss` equal to the server's base URL (RFC 9207).
//! - The client secret and the PKCE verifier are never printed: `Debug` redacts them.

pub mod code_flow;
pub mod html;
pub mod id_token;
pub mod login_flow;
pub mod user_agent;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vistalid_core::clock::{Clock, SystemClock};
use vistalid_core::keys::PublicKey;
use vistalid_core::protocol::{CibaResponse, ErrorBody, CIBA_GRANT_TYPE, PATH_CIBA, PATH_TOKEN};
use zeroize::Zeroizing;

pub use code_flow::{AuthorizationRequest, AuthorizeOptions, Login};

/// Errors of the relying party and of its user agent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpError {
    /// The server could not be reached, or the exchange broke (the transport's reason).
    #[error("transport: {0}")]
    Transport(String),
    /// The server refused: its HTTP status and error body.
    #[error("refused with {status}: {}", body.error)]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's error body.
        body: ErrorBody,
    },
    /// The server's answer is not what the protocol says (names what).
    #[error("malformed answer: {0}")]
    Malformed(&'static str),
    /// The ID token (or a signed userinfo) does not verify (names the check that failed).
    #[error("ID token refused: {0}")]
    IdToken(&'static str),
    /// No token after the polls allowed.
    #[error("no token after {0} polls")]
    NoToken(u32),
    /// The authorization endpoint sent the browser back with an error (RFC 6749 §4.1.2.1).
    #[error("authorization refused: {error}")]
    Authorization {
        /// The `error` parameter.
        error: String,
        /// The `error_description` parameter, if any.
        description: Option<String>,
    },
    /// The redirect back to the client is not the one this request expects (names what).
    #[error("callback refused: {0}")]
    Callback(&'static str),
    /// A step of the browser login saw something the contract (ADR 0002) does not allow:
    /// the step, and what it saw.
    #[error("{step}: {what}")]
    Page {
        /// The step (`authorize`, `identifier`, `status`, `continue`, …).
        step: &'static str,
        /// What was wrong.
        what: String,
    },
}

impl RpError {
    /// The server's error code, for a refusal (or an authorization error).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { body, .. } => Some(&body.error),
            Self::Authorization { error, .. } => Some(error),
            _ => None,
        }
    }

    /// A [`RpError::Page`] error of `step`.
    pub(crate) fn page(step: &'static str, what: impl Into<String>) -> Self {
        Self::Page {
            step,
            what: what.into(),
        }
    }
}

/// What a CIBA request asks (CIBA Core §7.1) and the context Vistalid shows on the card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CibaRequest {
    /// Who is asked to log in (the RPPS number).
    pub login_hint: String,
    /// Shown on the approval card.
    pub binding_message: Option<String>,
    /// Requested scope (default `openid`).
    pub scope: Option<String>,
    /// Requested `acr_values`.
    pub acr_values: Option<String>,
    /// The browser's IP address (`vistalid_ip`).
    pub ip: Option<String>,
    /// The browser's user agent (`vistalid_user_agent`).
    pub user_agent: Option<String>,
    /// Where the browser is (`vistalid_place`).
    pub place: Option<String>,
}

impl CibaRequest {
    /// A request for `login_hint` with scope `openid` and nothing else.
    pub fn new(login_hint: impl Into<String>) -> Self {
        Self {
            login_hint: login_hint.into(),
            ..Self::default()
        }
    }

    /// Sets the binding message.
    pub fn binding_message(mut self, text: impl Into<String>) -> Self {
        self.binding_message = Some(text.into());
        self
    }

    /// The form fields, in the order the server documents them.
    fn form(&self) -> Vec<(&'static str, &str)> {
        let mut form = vec![
            ("scope", self.scope.as_deref().unwrap_or("openid")),
            ("login_hint", self.login_hint.as_str()),
        ];
        let optional = [
            ("binding_message", &self.binding_message),
            ("acr_values", &self.acr_values),
            ("vistalid_ip", &self.ip),
            ("vistalid_user_agent", &self.user_agent),
            ("vistalid_place", &self.place),
        ];
        form.extend(
            optional
                .into_iter()
                .filter_map(|(k, v)| v.as_deref().map(|v| (k, v))),
        );
        form
    }
}

/// The token endpoint's answer (RFC 6749 §5.1, plus the ID token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds the access token lives.
    pub expires_in: u64,
    /// The signed ID token (compact JWS).
    pub id_token: String,
    /// The refresh token (the authorization-code and refresh grants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The scope granted, when the server says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// How the client authenticates at the token endpoint (OIDC Core §9).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`), the default.
    #[default]
    SecretBasic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    SecretPost,
}

/// A relying party registered on one Vistalid server (cheap to clone; clones share the
/// HTTP connection pool and the JWKS cache).
#[derive(Clone)]
pub struct RelyingParty {
    base: String,
    client_id: String,
    secret: Arc<Zeroizing<String>>,
    auth: ClientAuth,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    /// The JWKS's keys with their `kid` (the JWK's own, else its thumbprint).
    keys: Arc<Mutex<Vec<(String, PublicKey)>>>,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .field("secret", &"[redacted]")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl RelyingParty {
    /// A relying party of the server at `base` (its issuer URL, without trailing slash),
    /// authenticating as `client_id` with `secret` (HTTP Basic); the system clock checks
    /// `exp`.
    pub fn new(base: impl Into<String>, client_id: impl Into<String>, secret: &str) -> Self {
        Self {
            base: base.into(),
            client_id: client_id.into(),
            secret: Arc::new(Zeroizing::new(secret.to_owned())),
            auth: ClientAuth::default(),
            http: reqwest::Client::new(),
            clock: Arc::new(SystemClock),
            keys: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Uses `http` (e.g. a client with a bigger connection pool).
    pub fn with_http(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// Checks `exp` against `clock` (a test's manual clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Authenticates at the token endpoint with `auth`.
    pub fn with_client_auth(mut self, auth: ClientAuth) -> Self {
        self.auth = auth;
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Starts a CIBA login.
    pub async fn ciba(&self, request: &CibaRequest) -> Result<CibaResponse, RpError> {
        self.ciba_form(&request.form()).await
    }

    /// Starts a CIBA login with exactly these form fields (for tests of refusals).
    pub async fn ciba_form(&self, form: &[(&str, &str)]) -> Result<CibaResponse, RpError> {
        self.post_form(PATH_CIBA, form).await
    }

    /// One token poll for `auth_req_id`.
    pub async fn token(&self, auth_req_id: &str) -> Result<TokenResponse, RpError> {
        let form = [
            ("grant_type", CIBA_GRANT_TYPE),
            ("auth_req_id", auth_req_id),
        ];
        self.token_form(&form).await
    }

    /// A token request with exactly these form fields, authenticated as this client (for
    /// tests of refusals).
    pub async fn token_form(&self, form: &[(&str, &str)]) -> Result<TokenResponse, RpError> {
        self.post_form(PATH_TOKEN, form).await
    }

    /// Polls for the token of `ciba` at its interval (at least 100 ms apart; 5 s more after
    /// each `slow_down`, as CIBA Core §11 asks) while the answer is pending, at most
    /// `max_polls` times.
    pub async fn wait_for_token(
        &self,
        ciba: &CibaResponse,
        max_polls: u32,
    ) -> Result<TokenResponse, RpError> {
        let mut interval = Duration::from_secs(ciba.interval);
        for _ in 0..max_polls {
            match self.token(&ciba.auth_req_id).await {
                Err(e) if e.code() == Some("authorization_pending") => {}
                Err(e) if e.code() == Some("slow_down") => interval += Duration::from_secs(5),
                done => return done,
            }
            tokio::time::sleep(interval.max(Duration::from_millis(100))).await;
        }
        Err(RpError::NoToken(max_polls))
    }

    /// POSTs `form` to `path`, authenticated as this client (Basic or in the body).
    async fn post_form<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<T, RpError> {
        let request = self.http.post(format!("{}{path}", self.base));
        let request = match self.auth {
            ClientAuth::SecretBasic => request
                .basic_auth(&self.client_id, Some(self.secret.as_str()))
                .form(form),
            ClientAuth::SecretPost => {
                let mut all = form.to_vec();
                all.push(("client_id", &self.client_id));
                all.push(("client_secret", self.secret.as_str()));
                request.form(&all)
            }
        };
        read(request.send().await.map_err(transport)?).await
    }
}

fn transport(e: reqwest::Error) -> RpError {
    RpError::Transport(e.without_url().to_string())
}

/// A JSON success, or the server's refusal.
async fn read<T: for<'de> Deserialize<'de>>(resp: reqwest::Response) -> Result<T, RpError> {
    let status = resp.status();
    let challenge = resp
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = resp.bytes().await.map_err(transport)?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|_| RpError::Malformed("success body"));
    }
    let body = match serde_json::from_slice(&bytes) {
        Ok(body) => body,
        // RFC 6750 §3: a bearer refusal may carry its error in the header alone.
        Err(_) => challenge
            .as_deref()
            .and_then(bearer_error)
            .ok_or(RpError::Malformed("error body"))?,
    };
    Err(RpError::Refused {
        status: status.as_u16(),
        body,
    })
}

/// The `error` (and `error_description`) of a `WWW-Authenticate: Bearer …` header.
fn bearer_error(header: &str) -> Option<ErrorBody> {
    let params = header.strip_prefix("Bearer")?;
    let param = |name: &str| {
        params.split(',').find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            (k.trim() == name).then(|| v.trim().trim_matches('"').to_owned())
        })
    };
    Some(ErrorBody {
        error: param("error")?,
        error_description: param("error_description"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_has_openid_and_only_the_fields_set() {
        let r = CibaRequest::new("10101010101").binding_message("Connexion");
        assert_eq!(
            r.form(),
            vec![
                ("scope", "openid"),
                ("login_hint", "10101010101"),
                ("binding_message", "Connexion")
            ]
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let rp = RelyingParty::new("http://127.0.0.1:1", "id", "s3cr3t-value");
        assert!(!format!("{rp:?}").contains("s3cr3t"));
    }

    #[test]
    fn a_bearer_refusal_is_read_from_its_header() {
        let body = bearer_error(
            r#"Bearer realm="vistalid", error="invalid_token", error_description="expired""#,
        )
        .expect("parsed");
        assert_eq!(body.error, "invalid_token");
        assert_eq!(body.error_description.as_deref(), Some("expired"));
        assert!(bearer_error(r#"Bearer realm="vistalid""#).is_none());
        assert!(bearer_error(r#"Basic error="x""#).is_none());
    }
}
