// SPDX-License-Identifier: Apache-2.0
//! The app's HTTP stack as a foreign trait: Kotlin (`HttpUrlConnectionTransport`) and Swift
//! (`URLSessionTransport`) implement [`HttpTransport`]; Rust calls it through
//! [`TransportBridge`], core's [`Transport`].
//!
//! Guarantees:
//! - The library ships no HTTP or TLS code: TLS, proxies, certificate trust and the
//!   platform's network policy are the platform's. Core still builds every request (https
//!   only, loopback http excepted), bounds every response and verifies every signed answer.
//! - A transport that throws [`VistalidError::Network`] gives a network error with the same
//!   `retryable` flag; anything else it throws gives a non-retryable network error whose
//!   reason is kept; none panics.

use std::collections::HashMap;
use std::sync::Arc;

use vistalid_core::transport::{
    BoxFuture, HttpRequest as CoreRequest, HttpResponse as CoreResponse, Method,
    Transport as CoreTransport, TransportError,
};

use crate::error::VistalidError;

/// One HTTP request built by the library. Send it exactly as given.
///
/// `headers` can hold a bearer token or a client secret: never log them.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Absolute URL (`https`, or `http` on loopback only).
    pub url: String,
    /// Header names (lower case) and values.
    pub headers: HashMap<String, String>,
    /// Body to send (empty for `GET`).
    pub body: Vec<u8>,
    /// Total time allowed for connecting, sending and reading the whole answer, in
    /// milliseconds; give up with `Network(retryable = true)` after it.
    pub timeout_ms: u64,
    /// Largest body the library accepts: read at most one byte more than this (the library
    /// refuses a longer body) and stop.
    pub max_response_bytes: u64,
}

/// The server's answer: status and body, whatever the status (a 4xx is not an error here).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Sends the library's HTTP requests with the platform's HTTP stack.
///
/// Implementations must **not follow redirects** (return the 3xx as it is), must honour
/// `timeout_ms`, must verify TLS with the platform's trust store, and throw
/// `VistalidError.Network(retryable)` when no answer came (retryable for timeouts, refused
/// or broken connections, no network; not retryable for TLS failures).
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait HttpTransport: Send + Sync {
    /// Sends `request` and returns the answer.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, VistalidError>;
}

/// Core's [`CoreTransport`] over an app-provided [`HttpTransport`]: maps the request out and
/// the response and errors back, nothing else.
#[derive(Clone)]
pub(crate) struct TransportBridge {
    inner: Arc<dyn HttpTransport>,
}

impl TransportBridge {
    /// Wraps a foreign transport.
    pub(crate) fn new(inner: Arc<dyn HttpTransport>) -> Self {
        Self { inner }
    }
}

impl CoreTransport for TransportBridge {
    fn send(&self, request: CoreRequest) -> BoxFuture<'_, Result<CoreResponse, TransportError>> {
        let request = to_foreign(request);
        Box::pin(async move {
            self.inner
                .send(request)
                .await
                .map(|r| CoreResponse {
                    status: r.status,
                    body: r.body,
                })
                .map_err(to_core)
        })
    }
}

/// The foreign view of a core request.
fn to_foreign(r: CoreRequest) -> HttpRequest {
    HttpRequest {
        method: match r.method {
            Method::Get => "GET",
            Method::Post => "POST",
        }
        .to_owned(),
        url: r.url,
        headers: r.headers.into_iter().collect(),
        body: r.body,
        timeout_ms: u64::try_from(r.timeout.as_millis()).unwrap_or(u64::MAX),
        max_response_bytes: r.max_response_len as u64,
    }
}

/// Core's view of what a foreign transport threw.
fn to_core(e: VistalidError) -> TransportError {
    match e {
        VistalidError::Network { retryable: true } => TransportError::Interrupted,
        VistalidError::Network { retryable: false } => {
            TransportError::Failed("the platform refused the request".into())
        }
        other => TransportError::Failed(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn requests_map_out_whole() {
        let r = to_foreign(CoreRequest {
            method: Method::Post,
            url: "https://idp.example.fr/device/enrol".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: b"{}".to_vec(),
            timeout: Duration::from_secs(30),
            max_response_len: 1024,
        });
        assert_eq!(r.method, "POST");
        assert_eq!(r.url, "https://idp.example.fr/device/enrol");
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(r.body, b"{}");
        assert_eq!(r.timeout_ms, 30_000);
        assert_eq!(r.max_response_bytes, 1024);
    }

    #[test]
    fn foreign_errors_keep_their_retry_flag() {
        assert!(to_core(VistalidError::Network { retryable: true }).is_retryable());
        assert!(!to_core(VistalidError::Network { retryable: false }).is_retryable());
        let e = to_core(VistalidError::Internal {
            reason: "foreign callback failed: boom".into(),
        });
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("boom"), "{e}");
    }
}
