// SPDX-License-Identifier: Apache-2.0
//! The HTTP API's shared pieces: JSON error answers ([`ApiError`]), the body, query and path
//! extractors (`extract`), the server-only paths, and the headers every feature sets.
//!
//! Guarantees: every error response is JSON `ErrorBody` with a 4xx status for bad input
//! (413 for oversized bodies, 404 for unknown paths, 405 for wrong methods); a rejected
//! body, query or path names the field and the kind of fault, never the submitted value. A
//! 5xx only for server faults (database, random generator, signing), logged without
//! secrets: 503 `server_error` with `Retry-After` when the database was too slow,
//! unreachable or kept conflicting (a retry may succeed, on this instance or another), 500
//! otherwise.

mod extract;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use vistalid_core::protocol::{ErrorBody, ErrorCode};

pub(crate) use extract::{FormBody, JsonBody, PathParam, QueryParams};

use crate::secrets::SecretsError;
use crate::store::StoreError;

/// Path of the OpenAPI document of this API.
pub(crate) const PATH_OPENAPI: &str = "/openapi.json";

/// An error answer: status, OAuth-style code, description (never secrets).
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) error: ErrorCode,
    pub(crate) description: Option<String>,
    /// Adds `WWW-Authenticate` (401 on client or bearer authentication).
    pub(crate) challenge: Option<&'static str>,
}

impl ApiError {
    /// An error with a description.
    pub(crate) fn new(
        status: StatusCode,
        error: ErrorCode,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            description: Some(description.into()),
            challenge: None,
        }
    }

    /// 400 `invalid_request`.
    pub(crate) fn bad_request(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            description,
        )
    }

    /// 404 `not_found` (no route).
    pub(crate) fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such endpoint",
        )
    }

    /// 405 `method_not_allowed`.
    pub(crate) fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            "this endpoint does not accept that HTTP method",
        )
    }

    /// 500 `server_error`; the cause is logged, not sent.
    pub(crate) fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ServerError,
            "internal error, try again later",
        )
    }

    /// 503 `server_error`, with `Retry-After` (see [`RETRY_AFTER_SECS`]): the database did
    /// not answer in time, could not be reached, or the write kept conflicting; the cause is
    /// logged, not sent. A retry may succeed.
    pub(crate) fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "database unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServerError,
            "the database is unavailable, try again shortly",
        )
    }

    /// Adds a `WWW-Authenticate` challenge.
    pub(crate) fn with_challenge(mut self, value: &'static str) -> Self {
        self.challenge = Some(value);
        self
    }
}

/// Seconds a 503 asks the client to wait before it retries (`Retry-After`).
pub(crate) const RETRY_AFTER_SECS: &str = "1";

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Timeout(_) | StoreError::Unavailable(_) | StoreError::Conflict => {
                Self::unavailable(&e)
            }
            _ => Self::internal(&e),
        }
    }
}

impl From<SecretsError> for ApiError {
    fn from(e: SecretsError) -> Self {
        Self::internal(&e)
    }
}

/// The API error code of a refused request, attached to its response for the metrics
/// (`ops::observe` counts refusals by it; issue 19, branch ops19).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefusalCode(pub(crate) &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_client_error() {
            tracing::debug!(status = %self.status, error = %self.error, "request refused");
        }
        let body = ErrorBody {
            error: self.error.as_str().to_owned(),
            error_description: self.description,
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        resp.extensions_mut()
            .insert(RefusalCode(self.error.as_str()));
        if let Some(c) = self.challenge {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is not read, so the connection cannot be reused: say so,
            // or a client may send its next request on a connection about to close.
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED || self.status == StatusCode::BAD_REQUEST {
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        resp
    }
}

/// `status` with `error` and a `Retry-After` of `retry_after` seconds (at least 1).
pub(crate) fn retry_after(error: ApiError, retry_after: u64) -> Response {
    let mut resp = error.into_response();
    if let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// A 429 answer with `error` and a `Retry-After` of `retry_after` seconds.
pub(crate) fn too_many(error: ErrorCode, wait: u64) -> Response {
    let e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        error,
        "too many requests, retry later",
    );
    retry_after(e, wait)
}

/// Marks a response with tokens in it as never to be cached (RFC 6749 §5.1).
pub(crate) fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// Marks a public document (metadata, keys) as cacheable for five minutes.
pub(crate) fn cacheable(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

/// The token of an `Authorization: Bearer` header (at most 128 characters).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?;
    (!t.is_empty() && t.len() <= 128).then_some(t.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn bearer_never_panics(input in ".{0,200}") {
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&input) {
                headers.insert(header::AUTHORIZATION, v);
                let _ = bearer(&headers);
            }
        }
    }
}
