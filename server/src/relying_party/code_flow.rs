// SPDX-License-Identifier: Apache-2.0
//! The relying party's side of the authorization-code flow (RFC 6749 §4.1, OIDC Core §3.1):
//! the authorization request with PKCE S256 (RFC 7636), `state` and `nonce`; the callback;
//! the code exchange; refresh; userinfo; the end-session URL (OIDC RP-Initiated Logout).
//!
//! Guarantees:
//! - Each [`AuthorizationRequest`] has its own random `state`, `nonce` and PKCE verifier (256
//!   bits each, from the system's generator); the verifier never leaves it but through the
//!   token request, and `Debug` redacts it.
//! - [`RelyingParty::callback_code`] returns a code only from a redirect to the request's
//!   exact `redirect_uri`, with the request's `state`, and `iss` equal to the server when
//!   present; an `error` parameter becomes [`RpError::Authorization`].
//! - [`RelyingParty::exchange_code`] and [`RelyingParty::refresh`] return tokens only with an
//!   ID token that verifies (signature by `kid`, `iss`, `aud`, `exp`, `at_hash`; the code
//!   flow's `nonce`; after a refresh, the same `sub`).
//! - [`RelyingParty::userinfo_for`] accepts only the `sub` of the login's ID token (OIDC
//!   Core §5.3.2), as JSON or as a JWT signed by the server for this client.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ring::rand::SecureRandom as _;
use serde_json::Value;
use vistalid_core::protocol::{
    AUTHORIZATION_CODE_GRANT_TYPE, PATH_AUTHORIZE, PATH_END_SESSION, PATH_TOKEN, PATH_USERINFO,
    REFRESH_TOKEN_GRANT_TYPE,
};
use zeroize::Zeroizing;

use super::id_token::Expect;
use super::{read, transport, RelyingParty, RpError, TokenResponse};

/// The optional parameters of an authorization request; `None` leaves a parameter out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeOptions {
    /// `scope` (default `openid`).
    pub scope: Option<String>,
    /// `login_hint`: pre-fills the identifier.
    pub login_hint: Option<String>,
    /// `ui_locales` (`fr`, `en`).
    pub ui_locales: Option<String>,
    /// `prompt` (`login`, `none`).
    pub prompt: Option<String>,
    /// `max_age` in seconds.
    pub max_age: Option<u64>,
    /// `acr_values` (`eidas1`).
    pub acr_values: Option<String>,
    /// Any other parameter, sent as given (for tests of refusals).
    pub extra: Vec<(String, String)>,
}

/// One authorization request: the URL to send the browser to, and what the callback and the
/// code exchange check against.
pub struct AuthorizationRequest {
    /// The URL of the authorization endpoint with every parameter.
    pub url: String,
    /// The `state` sent.
    pub state: String,
    /// The `nonce` sent.
    pub nonce: String,
    /// The `redirect_uri` sent.
    pub redirect_uri: String,
    verifier: Zeroizing<String>,
}

impl std::fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("url", &self.url)
            .field("state", &self.state)
            .field("nonce", &self.nonce)
            .field("redirect_uri", &self.redirect_uri)
            .field("verifier", &"[redacted]")
            .finish()
    }
}

impl AuthorizationRequest {
    /// The PKCE verifier (for tests that send a wrong one, or exchange by hand).
    pub fn verifier(&self) -> &str {
        // EXPOSE: the verifier goes into the token request, its one use.
        self.verifier.as_str()
    }
}

/// The PKCE S256 challenge of `verifier` (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    B64URL.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ))
}

/// 256 random bits as base64url (43 characters).
fn random_token() -> Result<String, RpError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    ring::rand::SystemRandom::new()
        .fill(bytes.as_mut())
        .map_err(|_| RpError::Malformed("the system's random generator failed"))?;
    Ok(B64URL.encode(bytes.as_ref()))
}

/// A login: the tokens of a code exchange (or a refresh) and the verified ID token's claims.
#[derive(Debug, Clone)]
pub struct Login {
    /// The token endpoint's answer.
    pub tokens: TokenResponse,
    /// The ID token's claims, verified.
    pub claims: Value,
}

impl Login {
    /// The ID token's `sub`.
    pub fn sub(&self) -> &str {
        self.claims["sub"].as_str().unwrap_or_default()
    }
}

impl RelyingParty {
    /// A new authorization request (`response_type=code`, PKCE S256, fresh `state` and
    /// `nonce`) back to `redirect_uri`.
    pub fn authorization_request(
        &self,
        redirect_uri: &str,
        options: &AuthorizeOptions,
    ) -> Result<AuthorizationRequest, RpError> {
        let (state, nonce, verifier) = (random_token()?, random_token()?, random_token()?);
        let mut url = url::Url::parse(&format!("{}{PATH_AUTHORIZE}", self.base))
            .map_err(|_| RpError::Malformed("the server's base URL"))?;
        let challenge = pkce_challenge(&verifier);
        let max_age = options.max_age.map(|s| s.to_string());
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", options.scope.as_deref().unwrap_or("openid"))
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            let optional = [
                ("login_hint", options.login_hint.as_deref()),
                ("ui_locales", options.ui_locales.as_deref()),
                ("prompt", options.prompt.as_deref()),
                ("max_age", max_age.as_deref()),
                ("acr_values", options.acr_values.as_deref()),
            ];
            for (k, v) in optional {
                if let Some(v) = v {
                    q.append_pair(k, v);
                }
            }
            for (k, v) in &options.extra {
                q.append_pair(k, v);
            }
        }
        Ok(AuthorizationRequest {
            url: url.into(),
            state,
            nonce,
            redirect_uri: redirect_uri.to_owned(),
            verifier: Zeroizing::new(verifier),
        })
    }

    /// The code of the redirect back to the client, `redirected_to` (the callback URL with
    /// its query), checked against `request` (see the module guarantees).
    pub fn callback_code(
        &self,
        request: &AuthorizationRequest,
        redirected_to: &str,
    ) -> Result<String, RpError> {
        let url = url::Url::parse(redirected_to).map_err(|_| RpError::Callback("not a URL"))?;
        let mut bare = url.clone();
        bare.set_query(None);
        bare.set_fragment(None);
        let expected = url::Url::parse(&request.redirect_uri)
            .map_err(|_| RpError::Callback("the request's redirect_uri"))?;
        if bare != expected {
            return Err(RpError::Callback("redirect_uri"));
        }
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        if param("state").as_deref() != Some(request.state.as_str()) {
            return Err(RpError::Callback("state"));
        }
        if param("iss").is_some_and(|iss| iss != self.base) {
            return Err(RpError::Callback("iss"));
        }
        if let Some(error) = param("error") {
            return Err(RpError::Authorization {
                error,
                description: param("error_description"),
            });
        }
        param("code").ok_or(RpError::Callback("no code"))
    }

    /// Exchanges `code` (grant `authorization_code`, with the request's `redirect_uri` and
    /// PKCE verifier) and verifies the ID token: `nonce` and `at_hash` included.
    pub async fn exchange_code(
        &self,
        request: &AuthorizationRequest,
        code: &str,
    ) -> Result<Login, RpError> {
        let form = [
            ("grant_type", AUTHORIZATION_CODE_GRANT_TYPE),
            ("code", code),
            ("redirect_uri", request.redirect_uri.as_str()),
            ("code_verifier", request.verifier()),
        ];
        let tokens: TokenResponse = self.post_form(PATH_TOKEN, &form).await?;
        let expect = Expect {
            access_token: Some(&tokens.access_token),
            ..Expect::id_token(Some(&request.nonce))
        };
        let claims = self.verify_signed(&tokens.id_token, expect).await?;
        Ok(Login { tokens, claims })
    }

    /// Refreshes `login` with its refresh token (grant `refresh_token`); the new ID token
    /// must verify (with `at_hash`) and name the same `sub`.
    pub async fn refresh(&self, login: &Login) -> Result<Login, RpError> {
        let refresh_token = login
            .tokens
            .refresh_token
            .as_deref()
            .ok_or(RpError::Malformed("no refresh token"))?;
        let tokens = self.refresh_raw(refresh_token).await?;
        let expect = Expect {
            access_token: Some(&tokens.access_token),
            ..Expect::id_token(None)
        };
        let claims = self.verify_signed(&tokens.id_token, expect).await?;
        if claims["sub"] != login.claims["sub"] {
            return Err(RpError::IdToken("sub changed on refresh"));
        }
        Ok(Login { tokens, claims })
    }

    /// One refresh-token grant, its answer unchecked (for tests of replays).
    pub async fn refresh_raw(&self, refresh_token: &str) -> Result<TokenResponse, RpError> {
        let form = [
            ("grant_type", REFRESH_TOKEN_GRANT_TYPE),
            ("refresh_token", refresh_token),
        ];
        self.post_form(PATH_TOKEN, &form).await
    }

    /// Userinfo with `access_token` (GET, bearer), as JSON, or verified when the server signs
    /// it (`application/jwt`).
    pub async fn userinfo(&self, access_token: &str) -> Result<Value, RpError> {
        let resp = self
            .http
            .get(format!("{}{PATH_USERINFO}", self.base))
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(transport)?;
        let signed = resp.status().is_success()
            && resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/jwt"));
        if !signed {
            return read(resp).await;
        }
        let jwt = resp.text().await.map_err(transport)?;
        let expect = Expect {
            typ: None,
            exp: false,
            ..Expect::default()
        };
        self.verify_signed(jwt.trim(), expect).await
    }

    /// Userinfo for `login`: its `sub` must be the ID token's.
    pub async fn userinfo_for(&self, login: &Login) -> Result<Value, RpError> {
        let info = self.userinfo(&login.tokens.access_token).await?;
        if info["sub"].as_str() != Some(login.sub()) {
            return Err(RpError::IdToken("userinfo sub is not the ID token's"));
        }
        Ok(info)
    }

    /// The end-session URL to send the browser to: `id_token_hint`, `client_id`, and the
    /// `post_logout_redirect_uri` with `state` when given.
    pub fn end_session_url(
        &self,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> String {
        let mut url = match url::Url::parse(&format!("{}{PATH_END_SESSION}", self.base)) {
            Ok(url) => url,
            Err(_) => return format!("{}{PATH_END_SESSION}", self.base),
        };
        {
            let mut q = url.query_pairs_mut();
            if let Some(hint) = id_token_hint {
                q.append_pair("id_token_hint", hint);
            }
            q.append_pair("client_id", &self.client_id);
            if let Some(uri) = post_logout_redirect_uri {
                q.append_pair("post_logout_redirect_uri", uri);
            }
            if let Some(state) = state {
                q.append_pair("state", state);
            }
        }
        url.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp() -> RelyingParty {
        RelyingParty::new("http://127.0.0.1:8443", "rp-1", "s")
    }

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn the_request_carries_pkce_state_nonce_and_only_the_options_set() {
        let options = AuthorizeOptions {
            login_hint: Some("810003456789".into()),
            ui_locales: Some("en".into()),
            max_age: Some(60),
            ..AuthorizeOptions::default()
        };
        let a = rp()
            .authorization_request("http://127.0.0.1:9/cb?x=1", &options)
            .expect("request");
        let url = url::Url::parse(&a.url).expect("URL");
        assert_eq!(url.path(), PATH_AUTHORIZE);
        let q: std::collections::BTreeMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "rp-1");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:9/cb?x=1");
        assert_eq!(q["scope"], "openid");
        assert_eq!(q["state"], a.state);
        assert_eq!(q["nonce"], a.nonce);
        assert_eq!(q["code_challenge"], pkce_challenge(a.verifier()));
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["login_hint"], "810003456789");
        assert_eq!(q["max_age"], "60");
        assert!(!q.contains_key("prompt") && !q.contains_key("acr_values"));
        assert_eq!(a.verifier().len(), 43);
        let b = rp()
            .authorization_request("http://127.0.0.1:9/cb", &AuthorizeOptions::default())
            .expect("request");
        assert_ne!(
            (&a.state, &a.nonce, a.verifier()),
            (&b.state, &b.nonce, b.verifier())
        );
        assert!(!format!("{a:?}").contains(a.verifier()));
    }

    #[test]
    fn the_callback_is_checked_before_its_code_is_taken() {
        let rp = rp();
        let a = rp
            .authorization_request("http://127.0.0.1:9/cb", &AuthorizeOptions::default())
            .expect("request");
        let at = |q: &str| format!("http://127.0.0.1:9/cb?{q}");
        let s = &a.state;
        let iss = "iss=http%3A%2F%2F127.0.0.1%3A8443";
        assert_eq!(
            rp.callback_code(&a, &at(&format!("code=c1&state={s}&{iss}")))
                .expect("code"),
            "c1"
        );
        assert_eq!(
            rp.callback_code(&a, &at(&format!("code=c1&state={s}")))
                .expect("no iss"),
            "c1"
        );
        let refused = |url: String| match rp.callback_code(&a, &url) {
            Err(RpError::Callback(what)) => what,
            other => panic!("{url}: {other:?}"),
        };
        assert_eq!(refused(at("code=c1&state=other")), "state");
        assert_eq!(refused(at("code=c1")), "state");
        assert_eq!(
            refused(format!("http://127.0.0.1:9/cb2?code=c1&state={s}")),
            "redirect_uri"
        );
        assert_eq!(
            refused(format!("http://127.0.0.1:10/cb?code=c1&state={s}")),
            "redirect_uri"
        );
        assert_eq!(
            refused(at(&format!("code=c1&state={s}&iss=http%3A%2F%2Fevil"))),
            "iss"
        );
        assert_eq!(refused(at(&format!("state={s}"))), "no code");
        match rp.callback_code(
            &a,
            &at(&format!(
                "error=access_denied&error_description=no&state={s}"
            )),
        ) {
            Err(RpError::Authorization { error, description }) => {
                assert_eq!(
                    (error.as_str(), description.as_deref()),
                    ("access_denied", Some("no"))
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_end_session_url_carries_what_is_given() {
        let url = rp().end_session_url(Some("a.b.c"), Some("http://127.0.0.1:9/bye"), Some("s1"));
        let url = url::Url::parse(&url).expect("URL");
        assert_eq!(url.path(), PATH_END_SESSION);
        let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            q,
            [
                ("id_token_hint", "a.b.c"),
                ("client_id", "rp-1"),
                ("post_logout_redirect_uri", "http://127.0.0.1:9/bye"),
                ("state", "s1")
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }
}
