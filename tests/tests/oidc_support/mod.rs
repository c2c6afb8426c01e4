// SPDX-License-Identifier: Apache-2.0
//! What the tests with the `openidconnect` crate as the relying party share: the library's
//! client built from discovery, authorization requests (PKCE S256, nonce, state, `prompt`,
//! `max_age`, `acr_values`), the code exchange with the library's ID-token checks, and a
//! cookie-keeping browser that reads the login page through the elements ADR 0002 names.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreGenderClaim,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthenticationContextClass, AuthorizationCode, ClientId,
    ClientSecret, CsrfToken, EmptyAdditionalProviderMetadata, IssuerUrl, LogoutProviderMetadata,
    Nonce, OAuth2TokenResponse as _, PkceCodeChallenge, ProviderMetadata, RedirectUrl,
    TokenResponse as _,
};
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use vistalid_core::protocol::CodeMode;
use vistalid_core::secret::Pin;
use vistalid_core::wallet::Wallet;
use vistalid_e2e::{wallet, Env};

pub const RPPS: &str = "10003456789";
pub const PIN: &str = "204862";
pub const CALLBACK: &str = "http://127.0.0.1:9/callback";
pub const BYE: &str = "http://127.0.0.1:9/bye";

/// Pro Santé Connect's claims, as a relying party reads them from userinfo.
#[derive(Debug, Deserialize, Serialize)]
#[allow(non_snake_case)]
pub struct Psc {
    pub SubjectNameID: String,
    #[serde(default)]
    pub SubjectRefPro: Option<serde_json::Value>,
}
impl AdditionalClaims for Psc {}

pub type Metadata = ProviderMetadata<
    LogoutProviderMetadata<EmptyAdditionalProviderMetadata>,
    openidconnect::core::CoreAuthDisplay,
    openidconnect::core::CoreClientAuthMethod,
    openidconnect::core::CoreClaimName,
    openidconnect::core::CoreClaimType,
    openidconnect::core::CoreGrantType,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJweKeyManagementAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    openidconnect::core::CoreResponseMode,
    openidconnect::core::CoreResponseType,
    openidconnect::core::CoreSubjectIdentifierType,
>;

/// The HTTP client the library uses: no redirects followed (as its documentation requires).
pub fn oidc_http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser: a cookie jar kept by hand, redirects not followed.
pub struct Browser {
    pub http: reqwest::Client,
    pub cookies: vistalid_e2e::CookieJar,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: oidc_http(),
            cookies: vistalid_e2e::CookieJar::default(),
        }
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> reqwest::Response {
        self.cookies.send(req).await
    }

    /// Follows the authorization URL: `Ok(callback query)` when the server answered at
    /// once, `Err(login page URL)` when it needs the phone.
    pub async fn open(&mut self, env: &Env, url: &str) -> Result<BTreeMap<String, String>, String> {
        let r = self.send(self.http.get(url)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
        if location.starts_with(CALLBACK) {
            let url = reqwest::Url::parse(&location).unwrap();
            return Ok(url.query_pairs().into_owned().collect());
        }
        Err(if location.starts_with('/') {
            format!("{}{location}", env.url())
        } else {
            location
        })
    }

    /// On the login page: types the identifier; returns the waiting page's HTML.
    pub async fn identify(&mut self, page: &str, login_id: &str) -> String {
        let html = self.send(self.http.get(page)).await.text().await.unwrap();
        let csrf = value_of(&html, "name=\"csrf\"");
        let r = self
            .send(
                self.http
                    .post(page)
                    .form(&[("identifier", login_id), ("csrf", csrf.as_str())]),
            )
            .await;
        let html = if r.status() == StatusCode::SEE_OTHER {
            let next = r.headers()[LOCATION].to_str().unwrap().to_owned();
            let next = if next.starts_with('/') {
                let base = reqwest::Url::parse(page).unwrap();
                base.join(&next).unwrap().to_string()
            } else {
                next
            };
            self.send(self.http.get(&next)).await.text().await.unwrap()
        } else {
            r.text().await.unwrap()
        };
        assert!(html.contains("data-state=\"waiting\""), "{html}");
        html
    }

    /// On the login page: types the identifier, the wallet approves with the shown code, then
    /// the continue link brings the callback query.
    pub async fn log_in(
        &mut self,
        page: &str,
        w: &Wallet,
        login_id: &str,
    ) -> BTreeMap<String, String> {
        let html = self.identify(page, login_id).await;
        let code = text_of(&html, "id=\"code\"");
        let ch = w.fetch_challenges(5).await.unwrap().challenges.remove(0);
        w.approve(&ch.id, Pin::new(PIN), &code).await.unwrap();
        self.continue_to_client(page).await
    }

    /// The approved attempt's continue link: the callback query the browser is sent to.
    pub async fn continue_to_client(&mut self, page: &str) -> BTreeMap<String, String> {
        let r = self.send(self.http.get(format!("{page}/continue"))).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let location = r.headers()[LOCATION].to_str().unwrap();
        assert!(location.starts_with(CALLBACK), "{location}");
        reqwest::Url::parse(location)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect()
    }
}

pub fn value_of(html: &str, marker: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let start = html[..at].rfind('<').unwrap();
    let tag = &html[start..at + html[at..].find('>').unwrap()];
    let v = tag.find("value=\"").unwrap() + 7;
    tag[v..v + tag[v..].find('"').unwrap()].to_owned()
}

pub fn text_of(html: &str, marker: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let rest = &html[at + html[at..].find('>').unwrap() + 1..];
    let mut out = String::new();
    let mut in_tag = false;
    for c in rest.chars() {
        match c {
            '<' if !out.is_empty() => break,
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag && c.is_ascii_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

/// The library's client as `from_provider_metadata` builds it (token and userinfo endpoints
/// from discovery).
pub type OidcClient = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    openidconnect::core::CoreAuthDisplay,
    CoreGenderClaim,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<CoreErrorResponseType>,
    openidconnect::core::CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// A relying party built by the library from discovery.
pub struct Rp {
    pub client: OidcClient,
    pub metadata: Metadata,
    pub id: String,
    pub http: reqwest::Client,
}

pub async fn relying_party(env: &Env) -> Rp {
    let options = vistalid_server::ClientOptions::new(CodeMode::Pick)
        .redirect_uri(CALLBACK)
        .post_logout_redirect_uri(BYE);
    relying_party_with(env, "Dossier patient", &options).await
}

/// A client registered as `name` with `options`, built by the library from discovery; its
/// redirect URI is [`CALLBACK`] (which `options` must register).
pub async fn relying_party_with(
    env: &Env,
    name: &str,
    options: &vistalid_server::ClientOptions,
) -> Rp {
    let (id, secret) = env.server.admin().add_client_with(name, options).unwrap();
    let http = oidc_http();
    let metadata = Metadata::discover_async(IssuerUrl::new(env.url()).unwrap(), &http)
        .await
        .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(id.clone()),
        Some(ClientSecret::new(secret.to_string())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
    Rp {
        client,
        metadata,
        id,
        http,
    }
}

/// One authorization request of `rp`: its URL and what the client keeps to check the answer.
pub struct Request {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: openidconnect::PkceCodeVerifier,
}

pub fn request(rp: &Rp, prompt: Option<CoreAuthPrompt>, max_age: Option<u64>) -> Request {
    request_with(rp, prompt, max_age, &[])
}

/// [`request`], with `acr_values` (the library's `add_auth_context_value`, in order).
pub fn request_with(
    rp: &Rp,
    prompt: Option<CoreAuthPrompt>,
    max_age: Option<u64>,
    acr_values: &[&str],
) -> Request {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut a = rp
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    if let Some(p) = prompt {
        a = a.add_prompt(p);
    }
    if let Some(m) = max_age {
        a = a.set_max_age(Duration::from_secs(m));
    }
    for acr in acr_values {
        a = a.add_auth_context_value(AuthenticationContextClass::new((*acr).to_owned()));
    }
    let (url, state, nonce) = a.url();
    Request {
        url: url.to_string(),
        state,
        nonce,
        verifier,
    }
}

/// What a code exchange gave, checked by the library.
pub struct Tokens {
    pub response: openidconnect::core::CoreTokenResponse,
    pub id_token: openidconnect::core::CoreIdToken,
    pub sub: String,
    pub sid: Option<String>,
    pub auth_time: i64,
    /// The ID token's `amr`, as the library reads it.
    pub amr: Vec<String>,
}

/// The code exchange of a phone approval: [`exchange_at`] level `eidas1`.
pub async fn exchange(rp: &Rp, req: Request, answer: &BTreeMap<String, String>) -> Tokens {
    exchange_at(rp, req, answer, "eidas1").await
}

/// Exchanges the callback's code through the library, which checks the ID token (signature,
/// issuer, audience, nonce); checks `at_hash` and that the token's `acr` is `acr`.
pub async fn exchange_at(
    rp: &Rp,
    req: Request,
    answer: &BTreeMap<String, String>,
    acr: &str,
) -> Tokens {
    assert_eq!(
        answer.get("state"),
        Some(req.state.secret()),
        "state comes back"
    );
    let code = answer.get("code").unwrap_or_else(|| panic!("{answer:?}"));
    let response = rp
        .client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(req.verifier)
        .request_async(&rp.http)
        .await
        .unwrap();
    let id_token = response.id_token().unwrap().clone();
    let verifier = rp.client.id_token_verifier();
    let claims = id_token.claims(&verifier, &req.nonce).unwrap();
    // at_hash binds the access token to the ID token.
    let at_hash = AccessTokenHash::from_token(
        response.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash));
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some(acr));
    let amr = claims
        .auth_method_refs()
        .map(|v| v.iter().map(|m| m.as_str().to_owned()).collect())
        .unwrap_or_default();
    let raw = claims_json(&id_token);
    Tokens {
        amr,
        sub: claims.subject().to_string(),
        sid: raw["sid"].as_str().map(str::to_owned),
        auth_time: claims.auth_time().unwrap().timestamp(),
        response,
        id_token,
    }
}

/// The ID token's payload, read without a check (the library checked it).
pub fn claims_json(t: &openidconnect::core::CoreIdToken) -> serde_json::Value {
    use base64::Engine as _;
    let text = t.to_string();
    let payload = text.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

pub async fn enrolled(env: &Env) -> (Wallet, tempfile::TempDir, String) {
    let code = env.practitioner(RPPS);
    let (w, dir) = wallet();
    w.enrol(&env.url(), &code, Pin::new(PIN)).await.unwrap();
    (w, dir, format!("8{RPPS}"))
}
