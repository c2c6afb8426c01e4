// SPDX-License-Identifier: Apache-2.0
//! The bindings' `HttpTransport` implemented in Rust over core's `ReqwestTransport`: what a
//! Kotlin or Swift app's transport does, for the Rust-side tests and benchmarks of the
//! bindings (shared by `#[path]`).

use std::time::Duration;

use vistalid_core::transport::{HttpRequest as CoreRequest, Method, ReqwestTransport, Transport};
use vistalid_ffi::{HttpRequest, HttpResponse, HttpTransport, VistalidError};

/// `HttpTransport` over reqwest.
pub(crate) struct RustTransport(ReqwestTransport);

impl RustTransport {
    /// A new transport with its own connection pool.
    pub(crate) fn new() -> Self {
        Self(ReqwestTransport::new().expect("reqwest"))
    }
}

#[async_trait::async_trait]
impl HttpTransport for RustTransport {
    async fn send(&self, r: HttpRequest) -> Result<HttpResponse, VistalidError> {
        let method = match r.method.as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            other => {
                return Err(VistalidError::InvalidInput {
                    reason: format!("method {other}"),
                })
            }
        };
        let request = CoreRequest {
            method,
            url: r.url,
            headers: r.headers.into_iter().collect(),
            body: r.body,
            timeout: Duration::from_millis(r.timeout_ms),
            max_response_len: usize::try_from(r.max_response_bytes).unwrap_or(usize::MAX),
        };
        let resp = self
            .0
            .send(request)
            .await
            .map_err(|e| VistalidError::Network {
                retryable: e.is_retryable(),
            })?;
        Ok(HttpResponse {
            status: resp.status,
            body: resp.body,
        })
    }
}
