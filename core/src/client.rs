// SPDX-License-Identifier: Apache-2.0
//! HTTP client for the identity server (reqwest with rustls on ring).
//!
//! Guarantees:
//! - Refuses any server URL that is not `https`, except plain `http` on loopback (127.0.0.0/8,
//!   `::1`, `localhost`) for local testing.
//! - Every call has a connect and a total timeout; long-polls get their wait added.
//! - Failures are typed: [`ClientError::Network`] says whether a retry may help;
//!   [`ClientError::Server`] carries the HTTP status and the server's error code.
//! - Response bodies are size-bounded before JSON decoding.

use std::net::IpAddr;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use crate::protocol::{
    AnswerRequest, AnswerResponse, ChallengesResponse, EnrolRequest, EnrolResponse, ErrorBody,
    NonceResponse, RedeemRequest, RedeemResponse, PATH_ANSWER, PATH_CHALLENGES, PATH_ENROL,
    PATH_ENROL_NONCE, PATH_ISSUER_KEYS, PATH_REDEEM,
};

/// Connect timeout for every request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Total timeout of a request that is not a long-poll.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response body accepted (1 MiB).
pub const MAX_RESPONSE_LEN: usize = 1024 * 1024;

/// Errors of the HTTP client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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

/// A client for one identity server.
#[derive(Debug, Clone)]
pub struct ServerClient {
    base: Url,
    http: reqwest::Client,
}

impl ServerClient {
    /// Makes a client for `base_url` after checking it is https or loopback http.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let base = check_server_url(base_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .https_only(base.scheme() == "https")
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| ClientError::Network { retryable: false })?;
        Ok(Self { base, http })
    }

    /// The normalised base URL (no trailing slash).
    pub fn base_url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// Asks for a single-use enrolment nonce.
    pub async fn enrol_nonce(&self) -> Result<NonceResponse, ClientError> {
        let req = self
            .http
            .post(self.url(PATH_ENROL_NONCE))
            .timeout(REQUEST_TIMEOUT);
        send(req).await
    }

    /// Sends the enrolment request.
    pub async fn enrol(&self, body: &EnrolRequest) -> Result<EnrolResponse, ClientError> {
        self.post_json(PATH_ENROL, body).await
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
        let req = self
            .http
            .get(url)
            .bearer_auth(poll_token)
            .timeout(REQUEST_TIMEOUT + Duration::from_secs(u64::from(wait_secs)));
        send(req).await
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
        let req = self.http.post(url).json(body).timeout(REQUEST_TIMEOUT);
        send(req).await
    }

    /// Redeems a presented QR code once (the professional's software calls this, as a
    /// registered client authenticated with HTTP Basic).
    pub async fn redeem(
        &self,
        qr: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<RedeemResponse, ClientError> {
        let req = self
            .http
            .post(self.url(PATH_REDEEM))
            .basic_auth(client_id, Some(client_secret))
            .json(&RedeemRequest { qr: qr.to_owned() })
            .timeout(REQUEST_TIMEOUT);
        send(req).await
    }

    /// Fetches the QR credential issuer's public keys (verifiers trust these).
    pub async fn issuer_keys(&self) -> Result<Vec<crate::keys::PublicKey>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Keys {
            keys: Vec<crate::keys::Jwk>,
        }
        let req = self
            .http
            .get(self.url(PATH_ISSUER_KEYS))
            .timeout(REQUEST_TIMEOUT);
        let keys: Keys = send(req).await?;
        keys.keys
            .iter()
            .map(|k| crate::keys::PublicKey::from_jwk(k).map_err(|_| ClientError::BadResponse))
            .collect()
    }

    async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let req = self
            .http
            .post(self.url(path))
            .json(body)
            .timeout(REQUEST_TIMEOUT);
        send(req).await
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{}", self.base.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url
    }
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

async fn send<T: DeserializeOwned>(req: reqwest::RequestBuilder) -> Result<T, ClientError> {
    let resp = req.send().await.map_err(network_error)?;
    let status = resp.status();
    let bytes = read_bounded(resp).await?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|_| ClientError::BadResponse);
    }
    let code = serde_json::from_slice::<ErrorBody>(&bytes)
        .map(|b| b.error)
        .unwrap_or_else(|_| "unknown".to_owned());
    Err(ClientError::Server {
        status: status.as_u16(),
        code,
    })
}

async fn read_bounded(mut resp: reqwest::Response) -> Result<Vec<u8>, ClientError> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_LEN as u64)
    {
        return Err(ClientError::BadResponse);
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(network_error)? {
        if out.len() + chunk.len() > MAX_RESPONSE_LEN {
            return Err(ClientError::BadResponse);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn network_error(e: reqwest::Error) -> ClientError {
    let retryable = e.is_timeout() || e.is_connect() || e.is_request() || e.is_body();
    ClientError::Network { retryable }
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
}
