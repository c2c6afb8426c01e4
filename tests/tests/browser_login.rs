// SPDX-License-Identifier: Apache-2.0
//! The browser login end to end, with an independent OIDC library as the relying party: the
//! `openidconnect` crate discovers the server, builds the authorization requests (PKCE S256,
//! nonce, state, `prompt`, `max_age`), exchanges the code, verifies the ID token (signature,
//! nonce, `at_hash`), calls userinfo, refreshes, and logs out (RP-initiated logout). The
//! browser is a cookie-keeping HTTP client that reads the login page through the elements
//! ADR 0002 names; the phone is the real wallet.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreGenderClaim,
    CoreIdTokenVerifier, CoreJsonWebKeySet,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EmptyAdditionalProviderMetadata, IssuerUrl, LogoutProviderMetadata, LogoutRequest, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, PostLogoutRedirectUrl, ProviderMetadata,
    RedirectUrl, RequestTokenError, TokenResponse as _, UserInfoClaims,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use vistalid_core::protocol::CodeMode;
use vistalid_core::secret::Pin;
use vistalid_core::wallet::Wallet;
use vistalid_e2e::{wallet, Env};

const RPPS: &str = "10003456789";
const PIN: &str = "204862";
const CALLBACK: &str = "http://127.0.0.1:9/callback";
const BYE: &str = "http://127.0.0.1:9/bye";

/// Pro Santé Connect's claims, as a relying party reads them from userinfo.
#[derive(Debug, Deserialize, Serialize)]
#[allow(non_snake_case)]
struct Psc {
    SubjectNameID: String,
    #[serde(default)]
    SubjectRefPro: Option<serde_json::Value>,
}
impl AdditionalClaims for Psc {}

type Metadata = ProviderMetadata<
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
fn oidc_http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser: a cookie jar kept by hand, redirects not followed.
struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn new() -> Self {
        Self {
            http: oidc_http(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> reqwest::Response {
        let jar = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let r = req.header(COOKIE, jar).send().await.unwrap();
        for v in r.headers().get_all(SET_COOKIE) {
            let text = v.to_str().unwrap();
            let (name, value) = text.split(';').next().unwrap().split_once('=').unwrap();
            if value.is_empty() || text.to_ascii_lowercase().contains("max-age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        r
    }

    /// Follows the authorization URL: `Ok(callback query)` when the server answered at
    /// once, `Err(login page URL)` when it needs the phone.
    async fn open(&mut self, env: &Env, url: &str) -> Result<BTreeMap<String, String>, String> {
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

    /// On the login page: types the identifier, the wallet approves with the shown code, then
    /// the continue link brings the callback query.
    async fn log_in(&mut self, page: &str, w: &Wallet, login_id: &str) -> BTreeMap<String, String> {
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
        let code = text_of(&html, "id=\"code\"");
        let ch = w.fetch_challenges(5).await.unwrap().challenges.remove(0);
        w.approve(&ch.id, Pin::new(PIN), &code).await.unwrap();
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

fn value_of(html: &str, marker: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let start = html[..at].rfind('<').unwrap();
    let tag = &html[start..at + html[at..].find('>').unwrap()];
    let v = tag.find("value=\"").unwrap() + 7;
    tag[v..v + tag[v..].find('"').unwrap()].to_owned()
}

fn text_of(html: &str, marker: &str) -> String {
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
type OidcClient = openidconnect::Client<
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
struct Rp {
    client: OidcClient,
    metadata: Metadata,
    id: String,
    http: reqwest::Client,
}

async fn relying_party(env: &Env) -> Rp {
    let options = vistalid_server::ClientOptions::new(CodeMode::Pick)
        .redirect_uri(CALLBACK)
        .post_logout_redirect_uri(BYE);
    let (id, secret) = env
        .server
        .admin()
        .add_client_with("Dossier patient", &options)
        .unwrap();
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
struct Request {
    url: String,
    state: CsrfToken,
    nonce: Nonce,
    verifier: openidconnect::PkceCodeVerifier,
}

fn request(rp: &Rp, prompt: Option<CoreAuthPrompt>, max_age: Option<u64>) -> Request {
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
    let (url, state, nonce) = a.url();
    Request {
        url: url.to_string(),
        state,
        nonce,
        verifier,
    }
}

/// What a code exchange gave, checked by the library.
struct Tokens {
    response: openidconnect::core::CoreTokenResponse,
    id_token: openidconnect::core::CoreIdToken,
    sub: String,
    sid: Option<String>,
    auth_time: i64,
}

async fn exchange(rp: &Rp, req: Request, answer: &BTreeMap<String, String>) -> Tokens {
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
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some("eidas1")
    );
    let raw = claims_json(&id_token);
    Tokens {
        sub: claims.subject().to_string(),
        sid: raw["sid"].as_str().map(str::to_owned),
        auth_time: claims.auth_time().unwrap().timestamp(),
        response,
        id_token,
    }
}

/// The ID token's payload, read without a check (the library checked it).
fn claims_json(t: &openidconnect::core::CoreIdToken) -> serde_json::Value {
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

async fn enrolled(env: &Env) -> (Wallet, tempfile::TempDir, String) {
    let code = env.practitioner(RPPS);
    let (w, dir) = wallet();
    w.enrol(&env.url(), &code, Pin::new(PIN)).await.unwrap();
    (w, dir, format!("8{RPPS}"))
}

#[tokio::test]
async fn code_pkce_nonce_userinfo_refresh_rotation_reuse_and_logout() {
    let env = Env::start().await;
    let rp = relying_party(&env).await;
    let (w, _dir, login_id) = enrolled(&env).await;
    let mut b = Browser::new();

    let req = request(&rp, None, None);
    let page = b.open(&env, &req.url).await.expect_err("a login page");
    let answer = b.log_in(&page, &w, &login_id).await;
    assert_eq!(
        answer.get("iss").map(String::as_str),
        Some(env.url().as_str())
    );
    let t = exchange(&rp, req, &answer).await;

    // Userinfo, through the library, for the ID token's subject.
    let info: UserInfoClaims<Psc, CoreGenderClaim> = rp
        .client
        .user_info(
            t.response.access_token().clone(),
            Some(openidconnect::SubjectIdentifier::new(t.sub.clone())),
        )
        .unwrap()
        .request_async(&rp.http)
        .await
        .unwrap();
    assert_eq!(info.additional_claims().SubjectNameID, login_id);
    assert_eq!(
        info.additional_claims().SubjectRefPro.as_ref().unwrap()["exercices"][0]["codeProfession"],
        "10"
    );
    assert_eq!(
        info.given_name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str()),
        Some("Camille")
    );

    // Refresh: a new pair; the old refresh token, replayed, revokes the whole family.
    let first = t.response.refresh_token().unwrap().clone();
    let second = rp
        .client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&rp.http)
        .await
        .unwrap();
    let rotated = second.refresh_token().unwrap().clone();
    assert_ne!(rotated.secret(), first.secret());
    let refreshed_id = second.id_token().unwrap();
    let refreshed = refreshed_id
        .claims(&rp.client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
        .unwrap();
    assert_eq!(refreshed.subject().as_str(), t.sub);
    assert_eq!(refreshed.auth_time().unwrap().timestamp(), t.auth_time);
    let replay = rp
        .client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&rp.http)
        .await;
    match replay {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), CoreErrorResponseType::InvalidGrant)
        }
        other => panic!("replay must be refused: {other:?}"),
    }
    let after = rp
        .client
        .exchange_refresh_token(&rotated)
        .unwrap()
        .request_async(&rp.http)
        .await;
    assert!(
        matches!(after, Err(RequestTokenError::ServerResponse(_))),
        "the family is revoked"
    );

    // Logout, as the library writes the request.
    let end = rp
        .metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("end_session_endpoint in discovery");
    let logout = LogoutRequest::from(end)
        .set_id_token_hint(&t.id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(BYE.into()).unwrap())
        .set_state(CsrfToken::new("bye-state".into()))
        .http_get_url();
    let r = b.send(b.http.get(logout.as_str())).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()[LOCATION],
        format!("{BYE}?state=bye-state").as_str()
    );
    assert!(!b.cookies.contains_key("vl_session"));
    // The session is over: the access token is dead, and a new request needs the phone.
    let dead = rp
        .client
        .user_info(t.response.access_token().clone(), None)
        .unwrap()
        .request_async::<Psc, _, CoreGenderClaim>(&rp.http)
        .await;
    assert!(dead.is_err(), "userinfo after logout");
    let req = request(&rp, None, None);
    assert!(b.open(&env, &req.url).await.is_err(), "login page again");
}

#[tokio::test]
async fn sso_serves_a_second_client_and_prompt_and_max_age_are_honoured() {
    let env = Env::start().await;
    let a = relying_party(&env).await;
    let second = relying_party(&env).await;
    let (w, _dir, login_id) = enrolled(&env).await;
    let mut b = Browser::new();

    // prompt=none without a session: login_required, back at the client.
    let req = request(&a, Some(CoreAuthPrompt::None), None);
    let answer = b.open(&env, &req.url).await.expect("redirected at once");
    assert_eq!(
        answer.get("error").map(String::as_str),
        Some("login_required")
    );
    assert_eq!(answer.get("state"), Some(req.state.secret()));

    // The first login, with the phone.
    let req = request(&a, None, None);
    let page = b.open(&env, &req.url).await.expect_err("a login page");
    let answer = b.log_in(&page, &w, &login_id).await;
    let first = exchange(&a, req, &answer).await;

    // Another client in the same browser: a code at once, same session, same auth_time.
    let req = request(&second, None, None);
    let answer = b
        .open(&env, &req.url)
        .await
        .expect("SSO answers without the phone");
    let t = exchange(&second, req, &answer).await;
    assert_eq!(t.sub, first.sub);
    assert_eq!(t.sid, first.sid);
    assert_eq!(
        t.auth_time, first.auth_time,
        "auth_time stays the real approval"
    );
    assert!(
        w.fetch_challenges(0).await.unwrap().challenges.is_empty(),
        "no new phone challenge"
    );

    // prompt=none with the session: a code.
    let req = request(&second, Some(CoreAuthPrompt::None), None);
    let answer = b
        .open(&env, &req.url)
        .await
        .expect("prompt=none with a session");
    exchange(&second, req, &answer).await;

    // max_age: a generous one is met by the session; one shorter than its age is not.
    let req = request(&a, None, Some(3600));
    let answer = b.open(&env, &req.url).await.expect("max_age met");
    exchange(&a, req, &answer).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let req = request(&a, None, Some(1));
    let page = b
        .open(&env, &req.url)
        .await
        .expect_err("max_age forces a login");
    let answer = b.log_in(&page, &w, &login_id).await;
    let fresh = exchange(&a, req, &answer).await;
    assert!(fresh.auth_time > first.auth_time, "a new approval");

    // prompt=login: the phone again, even with a live session.
    let req = request(&second, Some(CoreAuthPrompt::Login), None);
    let page = b
        .open(&env, &req.url)
        .await
        .expect_err("prompt=login forces a login");
    let answer = b.log_in(&page, &w, &login_id).await;
    exchange(&second, req, &answer).await;
}

#[tokio::test]
async fn discovery_and_jwks_read_by_the_library_name_every_endpoint_and_key() {
    let env = Env::start().await;
    let rp = relying_party(&env).await;
    let m = &rp.metadata;
    assert!(m.userinfo_endpoint().is_some());
    assert!(m.additional_metadata().end_session_endpoint.is_some());
    // PKCE's method is not a field the library models: read it from the document.
    let raw: serde_json::Value = reqwest::get(format!(
        "{}{}",
        env.url(),
        vistalid_core::protocol::PATH_DISCOVERY
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        raw["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let jwks: CoreJsonWebKeySet = reqwest::get(m.jwks_uri().as_str())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!jwks.keys().is_empty());
    let _ = CoreIdTokenVerifier::new_confidential_client(
        ClientId::new(rp.id.clone()),
        ClientSecret::new("unused".into()),
        IssuerUrl::new(env.url()).unwrap(),
        jwks,
    );
}

/// Scan mode (issue 16), end to end: a client registered for it, the page's QR code read
/// from its SVG, the real wallet's `scan_login` (origin check, challenge fetch), the approval
/// with the MAC, and the library's code exchange and ID-token checks.
#[tokio::test]
async fn a_scan_mode_login_goes_through_the_qr_code() {
    let env = Env::start().await;
    let options = vistalid_server::ClientOptions::new(CodeMode::Pick)
        .redirect_uri(CALLBACK)
        .scan_login(true);
    let (id, secret) = env
        .server
        .admin()
        .add_client_with("Dossier patient (scan)", &options)
        .unwrap();
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
    let rp = Rp {
        client,
        metadata,
        id,
        http,
    };
    let (w, _dir, login_id) = enrolled(&env).await;
    let mut b = Browser::new();
    let req = request(&rp, None, None);
    let page = b.open(&env, &req.url).await.expect_err("a login page");
    let html = b.send(b.http.get(&page)).await.text().await.unwrap();
    let csrf = value_of(&html, "name=\"csrf\"");
    let r = b
        .send(
            b.http
                .post(&page)
                .form(&[("identifier", login_id.as_str()), ("csrf", csrf.as_str())]),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = b.send(b.http.get(&page)).await.text().await.unwrap();
    assert!(html.contains("data-state=\"waiting\""), "{html}");
    let scanned = vistalid_e2e::qr_text_of_page(&html).expect("a readable QR code");

    // A plain fetch shows the request, but it cannot be approved without the scan.
    let ch = w.fetch_challenges(0).await.unwrap().challenges.remove(0);
    assert!(ch.scan_attempt.is_some());
    let code = text_of(&html, "id=\"code\"");
    assert_eq!(
        w.approve(&ch.id, Pin::new(PIN), &code).await,
        Err(vistalid_core::wallet::WalletError::ScanRequired)
    );
    // Another server's QR code is refused before any network, naming both origins.
    let elsewhere = scanned.replace(&env.url(), "https://look-alike.example");
    match w.scan_login(&elsewhere).await {
        Err(vistalid_core::wallet::WalletError::ScanUnknownServer { scanned, enrolled }) => {
            assert_eq!(scanned, "https://look-alike.example");
            assert_eq!(enrolled, vec![env.url()]);
        }
        other => panic!("{other:?}"),
    }
    let ch = w.scan_login(&scanned).await.unwrap();
    assert_eq!(ch.service, "Dossier patient (scan)");
    w.approve(&ch.id, Pin::new(PIN), &code).await.unwrap();
    let r = b.send(b.http.get(format!("{page}/continue"))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()[LOCATION].to_str().unwrap();
    let answer: BTreeMap<String, String> = reqwest::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let t = exchange(&rp, req, &answer).await;
    assert!(!t.sub.is_empty());
}
