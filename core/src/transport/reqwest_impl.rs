// SPDX-License-Identifier: Apache-2.0
//! [`ReqwestTransport`]: the Rust [`Transport`] (reqwest, rustls on ring), for the CLI, the
//! tests and Rust apps. The mobile bindings do not include it: apps pass the platform's HTTP
//! stack instead.

use super::{BoxFuture, HttpRequest, HttpResponse, Method, Transport, TransportError};
use crate::client::CONNECT_TIMEOUT;

/// A [`Transport`] over reqwest with rustls: connection pooling, no redirects, a connect
/// timeout of [`CONNECT_TIMEOUT`] and each request's own total deadline.
///
/// Keep one per wallet or client: the connection pool lives in it (and in the tokio runtime
/// it was first used on).
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    http: reqwest::Client,
}

impl ReqwestTransport {
    /// Builds the transport. Fails only when the TLS backend cannot start.
    pub fn new() -> Result<Self, TransportError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TransportError::Failed(e.to_string()))?;
        Ok(Self { http })
    }
}

impl Transport for ReqwestTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let method = match request.method {
                Method::Get => reqwest::Method::GET,
                Method::Post => reqwest::Method::POST,
            };
            let mut builder = self
                .http
                .request(method, request.url.as_str())
                .timeout(request.timeout);
            for (name, value) in &request.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            if request.method == Method::Post {
                builder = builder.body(request.body);
            }
            let mut resp = builder.send().await.map_err(map_error)?;
            let status = resp.status().as_u16();
            let limit = request.max_response_len;
            if resp.content_length().is_some_and(|n| n > limit as u64) {
                return Err(TransportError::TooLarge);
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(map_error)? {
                if body.len() + chunk.len() > limit {
                    return Err(TransportError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(HttpResponse { status, body })
        })
    }
}

fn map_error(e: reqwest::Error) -> TransportError {
    if e.is_timeout() {
        TransportError::Timeout
    } else if e.is_connect() {
        TransportError::Connect
    } else if e.is_request() || e.is_body() {
        TransportError::Interrupted
    } else {
        TransportError::Failed(e.to_string())
    }
}
