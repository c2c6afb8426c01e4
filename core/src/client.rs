// SPDX-License-Identifier: Apache-2.0
//! Client for the identity server, over an injected [`Transport`].
//!
//! Guarantees:
//! - Refuses any server URL that is not `https`, except plain `http` on loopback (127.0.0.0/8,
//!   `::1`, `localhost`) for local testing.
//! - Every request carries a total deadline ([`REQUEST_TIMEOUT`]; long-polls get their wait
//!   added) and a response bound ([`MAX_RESPONSE_LEN`]); the bound is checked again here, so
//!   a transport that ignores it cannot make core decode more.
//! - Failures are typed: [`ClientError::Network`] says whether a retry may help;
//!   [`ClientError::Server`] carries the HTTP status and the server's error code. A redirect
//!   is a server error: credentials and signed answers never follow one.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use crate::protocol::{
    AnswerRequest, AnswerResponse, ChallengesResponse, EnrolRequest, EnrolResponse, ErrorBody,
    NonceResponse, PinConfirmResponse, PinGuardRequest, PinGuessResponse, RedeemRequest,
    RedeemResponse, PATH_ANSWER, PATH_CHALLENGES, PATH_ENROL, PATH_ENROL_NONCE, PATH_ISSUER_KEYS,
    PATH_KEY_ROLLOVER, PATH_PIN_CONFIRM, PATH_PIN_GUESS, PATH_REDEEM,
};
use crate::transport::{HttpRequest, Method, Transport, TransportError};

/// Connect timeout (for transports that have a separate one).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Total timeout of a request that is not a long-poll.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response body accepted (1 MiB).
pub const MAX_RESPONSE_LEN: usize = 1024 * 1024;

/// Errors of the HTTP client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The URL is not https (and not loopback http), or cannot be parsed.
    #[error("server URL must be https (http only on loopback)")]
    InsecureUrl,
    /// The server could not be reached or the connection broke; `retryable` when trying
    /// again later may help (timeouts, refused connections, 5xx, 429).
    #[error("network error (retryable: {retryable})")]
    Network {
        /// Whether a retry may succeed.
        retryable: bool,
    },
    /// The server answered with an error status and (usually) an OAuth-style error code.
    #[error("server error {status}: {code}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The `error` field of the body, or `unknown`.
        code: String,
    },
    /// The server's answer could not be decoded (too large or not the expected JSON).
    #[error("unexpected answer from the server")]
    BadResponse,
}

impl From<TransportError> for ClientError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::TooLarge => Self::BadResponse,
            other => Self::Network {
                retryable: other.is_retryable(),
            },
        }
    }
}

/// A client for one identity server.
#[derive(Clone)]
pub struct ServerClient {
    base: Url,
    transport: Arc<dyn Transport>,
}

impl fmt::Debug for ServerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl ServerClient {
    /// Makes a client for `base_url`, after checking it is https or loopback http, that
    /// sends through `transport`.
    pub fn with_transport(
        base_url: &str,
        transport: Arc<dyn Transport>,
    ) -> Result<Self, ClientError> {
        let base = check_server_url(base_url)?;
        Ok(Self { base, transport })
    }

    /// Makes a client for `base_url` over a new [`ReqwestTransport`](crate::transport::ReqwestTransport).
    #[cfg(feature = "reqwest")]
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let transport = crate::transport::ReqwestTransport::new()?;
        Self::with_transport(base_url, Arc::new(transport))
    }

    /// The normalised base URL (no trailing slash).
    pub fn base_url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// Asks for a single-use enrolment nonce.
    pub async fn enrol_nonce(&self) -> Result<NonceResponse, ClientError> {
        let req = request(Method::Post, self.url(PATH_ENROL_NONCE), REQUEST_TIMEOUT);
        self.send(req).await
    }

    /// Sends the enrolment request.
    pub async fn enrol(&self, body: &EnrolRequest) -> Result<EnrolResponse, ClientError> {
        let req = with_json(
            request(Method::Post, self.url(PATH_ENROL), REQUEST_TIMEOUT),
            body,
        )?;
        self.send(req).await
    }

    /// Long-polls the pending challenges of the device whose poll token is given, waiting up
    /// to `wait_secs` for one to arrive.
    pub async fn challenges(
        &self,
        poll_token: &str,
        wait_secs: u32,
    ) -> Result<ChallengesResponse, ClientError> {
        let mut url = self.url(PATH_CHALLENGES);
        url.query_pairs_mut()
            .append_pair("wait", &wait_secs.to_string());
        let timeout = REQUEST_TIMEOUT + Duration::from_secs(u64::from(wait_secs));
        let mut req = request(Method::Get, url, timeout);
        req.headers
            .push(("authorization".into(), format!("Bearer {poll_token}")));
        self.send(req).await
    }

    /// Sends a signed answer to challenge `id`.
    pub async fn answer(
        &self,
        id: &str,
        body: &AnswerRequest,
    ) -> Result<AnswerResponse, ClientError> {
        let mut url = self.url(PATH_CHALLENGES);
        url.path_segments_mut()
            .map_err(|_| ClientError::InsecureUrl)?
            .push(id)
            .push("answer");
        debug_assert!(PATH_ANSWER.ends_with("/answer"));
        let req = with_json(request(Method::Post, url, REQUEST_TIMEOUT), body)?;
        self.send(req).await
    }

    /// Sends one signed PIN guess (the server counts it, then evaluates the blinded element).
    pub async fn pin_guess(&self, body: &PinGuardRequest) -> Result<PinGuessResponse, ClientError> {
        let req = with_json(
            request(Method::Post, self.url(PATH_PIN_GUESS), REQUEST_TIMEOUT),
            body,
        )?;
        self.send(req).await
    }

    /// Sends the signed proof of a successful unlock (the server resets the count).
    pub async fn pin_confirm(
        &self,
        body: &PinGuardRequest,
    ) -> Result<PinConfirmResponse, ClientError> {
        let req = with_json(
            request(Method::Post, self.url(PATH_PIN_CONFIRM), REQUEST_TIMEOUT),
            body,
        )?;
        self.send(req).await
    }

    /// Registers, replaces or removes the device's push token (issue 20, signed request).
    pub async fn push_token(
        &self,
        body: &crate::push::PushTokenRequest,
    ) -> Result<crate::push::PushTokenResponse, ClientError> {
        let req = with_json(
            request(
                Method::Post,
                self.url(crate::push::PATH_PUSH_TOKEN),
                REQUEST_TIMEOUT,
            ),
            body,
        )?;
        self.send(req).await
    }

    /// Redeems a presented QR code once (the professional's software calls this, as a
    /// registered client authenticated with HTTP Basic).
    pub async fn redeem(
        &self,
        qr: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<RedeemResponse, ClientError> {
        let mut req = with_json(
            request(Method::Post, self.url(PATH_REDEEM), REQUEST_TIMEOUT),
            &RedeemRequest { qr: qr.to_owned() },
        )?;
        let credentials = base64::engine::general_purpose::STANDARD
            .encode(format!("{client_id}:{client_secret}"));
        req.headers
            .push(("authorization".into(), format!("Basic {credentials}")));
        self.send(req).await
    }

    /// Fetches the QR credential issuer's public keys (verifiers trust these).
    pub async fn issuer_keys(&self) -> Result<Vec<crate::keys::PublicKey>, ClientError> {
        let req = request(Method::Get, self.url(PATH_ISSUER_KEYS), REQUEST_TIMEOUT);
        let set: crate::keys::JwkSet = self.send(req).await?;
        set.public_keys().map_err(|_| ClientError::BadResponse)
    }

    /// Fetches the QR issuer's keys with their validity windows (issue 19); keys listed
    /// without windows are unbounded.
    pub async fn issuer_key_set(&self) -> Result<Vec<crate::qr::IssuerKey>, ClientError> {
        let req = request(Method::Get, self.url(PATH_ISSUER_KEYS), REQUEST_TIMEOUT);
        let set: crate::qr::IssuerKeySet = self.send(req).await?;
        set.to_keys().map_err(|_| ClientError::BadResponse)
    }

    /// Fetches the statement, signed by the challenge key `kid`, naming its successor (issue
    /// 19); the caller checks it ([`crate::rollover::verify_rollover`]). A key with no
    /// successor is a server error 404 `not_found`.
    pub async fn key_rollover(&self, kid: &str) -> Result<String, ClientError> {
        if kid.is_empty()
            || !kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ClientError::BadResponse);
        }
        let path = PATH_KEY_ROLLOVER.replace("{kid}", kid);
        let req = request(Method::Get, self.url(&path), REQUEST_TIMEOUT);
        let resp: crate::rollover::RolloverResponse = self.send(req).await?;
        Ok(resp.statement)
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{}", self.base.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url
    }

    /// Sends `req` and decodes a 2xx JSON body as `T`; anything else becomes a typed error.
    async fn send<T: DeserializeOwned>(&self, req: HttpRequest) -> Result<T, ClientError> {
        let resp = self.transport.send(req).await?;
        if resp.body.len() > MAX_RESPONSE_LEN {
            return Err(ClientError::BadResponse);
        }
        if (200..300).contains(&resp.status) {
            return serde_json::from_slice(&resp.body).map_err(|_| ClientError::BadResponse);
        }
        let code = serde_json::from_slice::<ErrorBody>(&resp.body)
            .map(|b| b.error)
            .unwrap_or_else(|_| "unknown".to_owned());
        Err(ClientError::Server {
            status: resp.status,
            code,
        })
    }
}

/// A request with no body, accepting JSON.
fn request(method: Method, url: Url, timeout: Duration) -> HttpRequest {
    HttpRequest {
        method,
        url: url.into(),
        headers: vec![("accept".into(), "application/json".into())],
        body: Vec::new(),
        timeout,
        max_response_len: MAX_RESPONSE_LEN,
    }
}

/// `req` with `body` as its JSON content.
fn with_json<B: Serialize>(mut req: HttpRequest, body: &B) -> Result<HttpRequest, ClientError> {
    req.body = serde_json::to_vec(body).map_err(|_| ClientError::BadResponse)?;
    req.headers
        .push(("content-type".into(), "application/json".into()));
    Ok(req)
}

/// Checks that `url` is https, or http on a loopback host; returns it parsed.
pub fn check_server_url(url: &str) -> Result<Url, ClientError> {
    let parsed = Url::parse(url).map_err(|_| ClientError::InsecureUrl)?;
    if parsed.cannot_be_a_base() || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(ClientError::InsecureUrl);
    }
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        _ => Err(ClientError::InsecureUrl),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

impl crate::qr::IssuerKeySource for ServerClient {
    fn fetch(
        &self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<Vec<crate::qr::IssuerKey>, crate::qr::QrError>>
                + Send
                + '_,
        >,
    > {
        Box::pin(async move {
            self.issuer_key_set()
                .await
                .map_err(|_| crate::qr::QrError::KeysUnavailable)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_policy() {
        for ok in [
            "https://idp.example.fr",
            "https://idp.example.fr/realm/",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://[::1]:99",
            "http://localhost:1234/",
        ] {
            assert!(check_server_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://idp.example.fr",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "https://idp.example.fr/?q=1",
            "not a url",
            "http://localhost.evil.fr",
        ] {
            assert_eq!(
                check_server_url(bad).err(),
                Some(ClientError::InsecureUrl),
                "{bad}"
            );
        }
    }

    #[test]
    fn joins_paths_under_a_base_path() {
        let c = ServerClient::new("https://idp.example.fr/realms/sante/").expect("client");
        assert_eq!(
            c.url(PATH_ENROL).as_str(),
            "https://idp.example.fr/realms/sante/device/enrol"
        );
        assert_eq!(c.base_url(), "https://idp.example.fr/realms/sante");
    }

    #[tokio::test]
    async fn unreachable_server_is_a_retryable_network_error() {
        // Bind then drop a listener so the port is very likely closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let c = ServerClient::new(&format!("http://127.0.0.1:{port}")).expect("client");
        assert_eq!(
            c.enrol_nonce().await,
            Err(ClientError::Network { retryable: true })
        );
    }

    /// A transport that records the request and plays back one canned answer.
    struct Canned {
        answer: Result<crate::transport::HttpResponse, TransportError>,
        seen: std::sync::Mutex<Vec<HttpRequest>>,
    }

    impl Transport for Canned {
        fn send(
            &self,
            request: HttpRequest,
        ) -> crate::transport::BoxFuture<'_, Result<crate::transport::HttpResponse, TransportError>>
        {
            self.seen.lock().expect("lock").push(request);
            let answer = self.answer.clone();
            Box::pin(async move { answer })
        }
    }

    fn canned(status: u16, body: &[u8]) -> (Arc<Canned>, ServerClient) {
        let t = Arc::new(Canned {
            answer: Ok(crate::transport::HttpResponse {
                status,
                body: body.to_vec(),
            }),
            seen: std::sync::Mutex::new(Vec::new()),
        });
        let c =
            ServerClient::with_transport("https://idp.example.fr/r", t.clone()).expect("client");
        (t, c)
    }

    #[tokio::test]
    async fn builds_requests_with_deadline_bound_and_credentials() {
        let (t, c) = canned(200, br#"{"nonce":"n","expires_in":60}"#);
        c.enrol_nonce().await.expect("nonce");
        let _ = c.challenges("poll-token", 20).await;
        let _ = c.redeem("VL1:X", "cabinet", "s3cret:x").await;
        let seen = t.seen.lock().expect("lock");
        assert_eq!(seen[0].method, Method::Post);
        assert_eq!(seen[0].url, "https://idp.example.fr/r/device/enrol/nonce");
        assert_eq!(seen[0].timeout, REQUEST_TIMEOUT);
        assert_eq!(seen[0].max_response_len, MAX_RESPONSE_LEN);
        assert_eq!(seen[1].method, Method::Get);
        assert_eq!(
            seen[1].url,
            "https://idp.example.fr/r/device/challenges?wait=20"
        );
        assert_eq!(seen[1].timeout, REQUEST_TIMEOUT + Duration::from_secs(20));
        assert!(seen[1]
            .headers
            .contains(&("authorization".into(), "Bearer poll-token".into())));
        // RFC 7617: base64 of "id:secret" (the secret may itself hold a colon).
        assert!(seen[2].headers.contains(&(
            "authorization".into(),
            "Basic Y2FiaW5ldDpzM2NyZXQ6eA==".into()
        )));
        assert!(seen[2]
            .headers
            .contains(&("content-type".into(), "application/json".into())));
        assert_eq!(seen[2].body, br#"{"qr":"VL1:X"}"#);
    }

    #[tokio::test]
    async fn redirects_and_errors_are_typed_never_followed() {
        let (t, c) = canned(302, b"");
        assert_eq!(
            c.enrol_nonce().await,
            Err(ClientError::Server {
                status: 302,
                code: "unknown".into()
            })
        );
        assert_eq!(t.seen.lock().expect("lock").len(), 1);
        let (_, c) = canned(409, br#"{"error":"already_redeemed"}"#);
        assert_eq!(
            c.redeem("VL1:X", "a", "b").await.err(),
            Some(ClientError::Server {
                status: 409,
                code: "already_redeemed".into()
            })
        );
        let (_, c) = canned(200, b"not json");
        assert_eq!(c.enrol_nonce().await, Err(ClientError::BadResponse));
    }

    #[tokio::test]
    async fn a_transport_that_ignores_the_bound_cannot_make_core_decode_more() {
        let mut big = br#"{"nonce":"n","expires_in":60,"pad":""#.to_vec();
        big.resize(MAX_RESPONSE_LEN + 1, b'a');
        big.extend_from_slice(br#""}"#);
        let (_, c) = canned(200, &big);
        assert_eq!(c.enrol_nonce().await, Err(ClientError::BadResponse));
    }

    #[tokio::test]
    async fn transport_errors_map_to_network_errors() {
        for (e, want) in [
            (
                TransportError::Timeout,
                ClientError::Network { retryable: true },
            ),
            (
                TransportError::Connect,
                ClientError::Network { retryable: true },
            ),
            (
                TransportError::Interrupted,
                ClientError::Network { retryable: true },
            ),
            (TransportError::TooLarge, ClientError::BadResponse),
            (
                TransportError::Failed("tls".into()),
                ClientError::Network { retryable: false },
            ),
        ] {
            let t = Arc::new(Canned {
                answer: Err(e),
                seen: std::sync::Mutex::new(Vec::new()),
            });
            let c = ServerClient::with_transport("https://idp.example.fr", t).expect("client");
            assert_eq!(c.enrol_nonce().await, Err(want));
        }
    }
}
