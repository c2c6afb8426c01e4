// SPDX-License-Identifier: Apache-2.0
//! How the wallet reaches the identity server: the [`Transport`] trait.
//!
//! Core builds every request (URL, headers, JSON body, deadline, response bound) and reads
//! every response; a transport only moves bytes. Apps inject the platform's HTTP stack
//! (Android `HttpURLConnection`, Apple `URLSession`) through the bindings, so the shipped
//! library carries no TLS or HTTP code of its own; Rust users (CLI, tests) get
//! [`ReqwestTransport`] with the default `reqwest` feature.
//!
//! Contract every implementation keeps (core cannot check it from the outside):
//! - Send exactly the request given: method, URL, headers and body, once.
//! - **Never follow redirects**: a 3xx is returned as it is (core treats it as an error).
//! - Give up after [`HttpRequest::timeout`] with [`TransportError::Timeout`].
//! - Stop reading a body longer than [`HttpRequest::max_response_len`] with
//!   [`TransportError::TooLarge`].
//! - Verify TLS with the platform's trust store; core only hands over `https` URLs (plain
//!   `http` only for loopback).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

#[cfg(feature = "reqwest")]
mod reqwest_impl;
#[cfg(feature = "reqwest")]
pub use reqwest_impl::ReqwestTransport;

/// A boxed, sendable future (the return type of [`Transport::send`], so the trait can be
/// used as `Arc<dyn Transport>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// HTTP method of a request (the protocol uses only these two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// One request, fully built by core.
///
/// `Debug` leaves out header values and the body: they can hold bearer tokens, client
/// secrets and signed answers.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Absolute URL, already checked against the https-only policy.
    pub url: String,
    /// Header names and values, in order (`content-type`, `authorization`, ...).
    pub headers: Vec<(String, String)>,
    /// Body (empty for `GET`).
    pub body: Vec<u8>,
    /// Total time allowed for connecting, sending and reading the whole answer.
    pub timeout: Duration,
    /// Largest response body to accept.
    pub max_response_len: usize,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &names)
            .field("body_len", &self.body.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A response: status and the whole body (at most the request's `max_response_len`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The deadline passed.
    #[error("timed out")]
    Timeout,
    /// No connection could be made (DNS, refused, unreachable, no network).
    #[error("could not connect")]
    Connect,
    /// The connection broke while sending or receiving.
    #[error("connection broken")]
    Interrupted,
    /// The response body was longer than allowed.
    #[error("response too large")]
    TooLarge,
    /// Anything else (TLS refused, request refused by the HTTP stack, platform error); a
    /// retry will not help.
    #[error("transport failure: {0}")]
    Failed(String),
}

impl TransportError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Timeout | Self::Connect | Self::Interrupted)
    }
}

/// Sends HTTP requests for core (see the module's contract).
pub trait Transport: Send + Sync {
    /// Sends `request` and returns the response, whatever its status.
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_header_values_and_body() {
        let req = HttpRequest {
            method: Method::Post,
            url: "https://idp.example.fr/qr/redeem".into(),
            headers: vec![("authorization".into(), "Basic c2VjcmV0".into())],
            body: b"{\"qr\":\"VL1:SECRET\"}".to_vec(),
            timeout: Duration::from_secs(1),
            max_response_len: 10,
        };
        let shown = format!("{req:?}");
        assert!(shown.contains("authorization"), "{shown}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn only_network_trouble_is_retryable() {
        assert!(TransportError::Timeout.is_retryable());
        assert!(TransportError::Connect.is_retryable());
        assert!(TransportError::Interrupted.is_retryable());
        assert!(!TransportError::TooLarge.is_retryable());
        assert!(!TransportError::Failed("tls".into()).is_retryable());
    }
}
