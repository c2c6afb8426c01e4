// SPDX-License-Identifier: Apache-2.0
//! A minimal relying party, for tests, demos and benches (not for production services: use
//! an OIDC library there). It speaks to a Vistalid server over HTTP: HTTP Basic client
//! authentication, CIBA in poll mode (the browser flow comes next, issue 15), the token
//! endpoint, and the JWKS with which it verifies ID tokens.
//!
//! Guarantees:
//! - Every refusal by the server comes back as [`RpError::Refused`] with its HTTP status and
//!   its `ErrorBody`, so a test can assert both.
//! - [`RelyingParty::verify_id_token`] accepts a token only if it is an ES256 JWT (`typ` JWT)
//!   signed by a key of the server's JWKS (picked by `kid`; the JWKS is fetched once and
//!   again only for an unknown `kid`), with `iss` equal to the server's base URL, `aud`
//!   naming this client, `exp` after the clock's now, and `nonce` equal to the one given
//!   (when one is given).
//! - The client secret is never printed: `Debug` redacts it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vistalid_core::clock::{Clock, SystemClock};
use vistalid_core::jws;
use vistalid_core::keys::{Jwk, PublicKey};
use vistalid_core::protocol::{
    CibaResponse, ErrorBody, CIBA_GRANT_TYPE, PATH_CIBA, PATH_JWKS, PATH_TOKEN,
};
use zeroize::Zeroizing;

/// Errors of the relying party.
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
    /// The ID token does not verify (names the check that failed).
    #[error("ID token refused: {0}")]
    IdToken(&'static str),
    /// No token after the polls allowed.
    #[error("no token after {0} polls")]
    NoToken(u32),
}

impl RpError {
    /// The server's error code, for a refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { body, .. } => Some(&body.error),
            _ => None,
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
}

/// A relying party registered on one Vistalid server (cheap to clone; clones share the
/// HTTP connection pool and the JWKS cache).
#[derive(Clone)]
pub struct RelyingParty {
    base: String,
    client_id: String,
    secret: Arc<Zeroizing<String>>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    keys: Arc<Mutex<Vec<PublicKey>>>,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .field("secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl RelyingParty {
    /// A relying party of the server at `base` (its issuer URL, without trailing slash),
    /// authenticating as `client_id` with `secret`; the system clock checks `exp`.
    pub fn new(base: impl Into<String>, client_id: impl Into<String>, secret: &str) -> Self {
        Self {
            base: base.into(),
            client_id: client_id.into(),
            secret: Arc::new(Zeroizing::new(secret.to_owned())),
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
        self.post_form(PATH_TOKEN, &form).await
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

    /// Verifies `id_token` (see the module guarantees) and returns its claims.
    pub async fn verify_id_token(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<Value, RpError> {
        let header = jws::peek_header(id_token).map_err(|_| RpError::IdToken("not a JWS"))?;
        let kid = header.kid.ok_or(RpError::IdToken("no kid"))?;
        let key = match self.cached_key(&kid) {
            Some(key) => key,
            None => {
                self.refresh_keys().await?;
                self.cached_key(&kid)
                    .ok_or(RpError::IdToken("kid not in the JWKS"))?
            }
        };
        let claims: Value = jws::verify_json(id_token, &key, Some("JWT")).map_err(|e| match e {
            jws::JwsError::BadSignature => RpError::IdToken("signature"),
            _ => RpError::IdToken("not an ES256 JWT"),
        })?;
        self.check_claims(&claims, nonce)?;
        Ok(claims)
    }

    fn check_claims(&self, claims: &Value, nonce: Option<&str>) -> Result<(), RpError> {
        if claims["iss"].as_str() != Some(self.base.as_str()) {
            return Err(RpError::IdToken("iss"));
        }
        let aud_ok = match &claims["aud"] {
            Value::String(a) => *a == self.client_id,
            Value::Array(list) => list.iter().any(|a| a.as_str() == Some(&self.client_id)),
            _ => false,
        };
        if !aud_ok {
            return Err(RpError::IdToken("aud"));
        }
        match claims["exp"].as_i64() {
            Some(exp) if exp > self.clock.now() => {}
            _ => return Err(RpError::IdToken("exp")),
        }
        if let Some(n) = nonce {
            if claims["nonce"].as_str() != Some(n) {
                return Err(RpError::IdToken("nonce"));
            }
        }
        Ok(())
    }

    /// The server's ID-token keys (fetched from its JWKS now).
    pub async fn jwks(&self) -> Result<Vec<PublicKey>, RpError> {
        self.refresh_keys().await?;
        Ok(self.keys.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    fn cached_key(&self, kid: &str) -> Option<PublicKey> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter().find(|k| k.thumbprint() == kid).cloned()
    }

    async fn refresh_keys(&self) -> Result<(), RpError> {
        let url = format!("{}{PATH_JWKS}", self.base);
        let resp = self.http.get(url).send().await.map_err(transport)?;
        let set: Value = read(resp).await?;
        let keys = set["keys"]
            .as_array()
            .ok_or(RpError::Malformed("JWKS without keys"))?
            .iter()
            .map(|k| {
                let jwk: Jwk =
                    serde_json::from_value(k.clone()).map_err(|_| RpError::Malformed("JWK"))?;
                PublicKey::from_jwk(&jwk).map_err(|_| RpError::Malformed("JWK"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        *self.keys.lock().unwrap_or_else(|p| p.into_inner()) = keys;
        Ok(())
    }

    async fn post_form<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<T, RpError> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.client_id, Some(self.secret.as_str()))
            .form(form)
            .send()
            .await
            .map_err(transport)?;
        read(resp).await
    }
}

fn transport(e: reqwest::Error) -> RpError {
    RpError::Transport(e.without_url().to_string())
}

/// A JSON success, or the server's refusal.
async fn read<T: for<'de> Deserialize<'de>>(resp: reqwest::Response) -> Result<T, RpError> {
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(transport)?;
    if status.is_success() {
        serde_json::from_slice(&bytes).map_err(|_| RpError::Malformed("success body"))
    } else {
        let body = serde_json::from_slice(&bytes).map_err(|_| RpError::Malformed("error body"))?;
        Err(RpError::Refused {
            status: status.as_u16(),
            body,
        })
    }
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
    fn claims_are_checked_one_by_one() {
        let rp = RelyingParty::new("https://idp.example", "rp-1", "s")
            .with_clock(Arc::new(vistalid_core::clock::ManualClock::new(1_000)));
        let good = serde_json::json!({
            "iss": "https://idp.example", "aud": "rp-1", "exp": 1_001, "nonce": "n-1"
        });
        assert!(rp.check_claims(&good, Some("n-1")).is_ok());
        assert!(rp.check_claims(&good, None).is_ok());
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            c
        };
        let cases = [
            (with("iss", "https://other.example".into()), "iss"),
            (with("aud", "rp-2".into()), "aud"),
            (with("aud", serde_json::json!(["rp-2"])), "aud"),
            (with("exp", 1_000.into()), "exp"),
            (with("nonce", "n-2".into()), "nonce"),
        ];
        for (claims, check) in cases {
            match rp.check_claims(&claims, Some("n-1")) {
                Err(RpError::IdToken(c)) => assert_eq!(c, check),
                other => panic!("{check}: {other:?}"),
            }
        }
        assert!(rp
            .check_claims(&with("aud", serde_json::json!(["x", "rp-1"])), None)
            .is_ok());
    }
}
