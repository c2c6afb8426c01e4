// SPDX-License-Identifier: Apache-2.0
//! HTTP plumbing: the router, JSON error bodies, and body extractors that turn every
//! malformed input into a clear [`ErrorBody`] instead of a plain-text rejection.
//!
//! Guarantees: every error response is JSON `ErrorBody` with a 4xx status for bad input
//! (413 for oversized bodies, 404 for unknown paths, 405 for wrong methods); a rejected
//! body, query or path names the field and the kind of fault, never the submitted value. A
//! 5xx only for
//! server faults (database, random generator), logged without secrets. Every route except
//! the device long-poll has a request timeout (408).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, RawForm, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use tower_http::timeout::TimeoutLayer;
use vistalid_core::protocol::{
    ErrorBody, PATH_ANSWER, PATH_CHALLENGES, PATH_CIBA, PATH_DISCOVERY, PATH_ENROL,
    PATH_ENROL_NONCE, PATH_ISSUER_KEYS, PATH_JWKS, PATH_REDEEM, PATH_TOKEN,
};

use crate::secrets::SecretsError;
use crate::store::StoreError;
use crate::{device, limits, oidc, openapi, qr, Shared};

/// Path of the (CIBA-only) authorization endpoint named in discovery.
pub(crate) const PATH_AUTHORIZE: &str = "/protocol/openid-connect/auth";
/// Path of the OpenAPI document of this API.
pub(crate) const PATH_OPENAPI: &str = "/openapi.json";

/// Builds the application router.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let timeout = Duration::from_secs(shared.config.request_timeout_secs.max(1));
    let limit = shared.config.body_limit_bytes;
    let timed = Router::new()
        .route(PATH_DISCOVERY, get(oidc::discovery))
        .route(PATH_JWKS, get(oidc::jwks))
        .route(PATH_AUTHORIZE, get(oidc::authorize).post(oidc::authorize))
        .route(PATH_CIBA, post(oidc::ciba))
        .route(PATH_TOKEN, post(oidc::token))
        .route(
            PATH_ENROL_NONCE,
            post(device::enrol_nonce).layer(from_fn_with_state(
                Arc::clone(&shared),
                limits::enrol_per_ip,
            )),
        )
        .route(
            PATH_ENROL,
            post(device::enrol).layer(from_fn_with_state(
                Arc::clone(&shared),
                limits::enrol_per_ip,
            )),
        )
        .route(PATH_OPENAPI, get(openapi::serve))
        .route(PATH_ANSWER, post(device::answer))
        .route(PATH_REDEEM, post(qr::redeem))
        .route(PATH_ISSUER_KEYS, get(qr::issuer_keys))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ));
    // The long-poll has its own cap (`max_wait_secs`), so it is outside the timeout layer.
    let long_poll = Router::new().route(PATH_CHALLENGES, get(device::challenges));
    timed
        .merge(long_poll)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(shared)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that HTTP method",
    )
}

/// An error answer: status, OAuth-style code, description (never secrets).
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: Option<String>,
    /// Adds `WWW-Authenticate` (401 on client or bearer authentication).
    pub(crate) challenge: Option<&'static str>,
}

impl ApiError {
    /// An error with a description.
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
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
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 500 `server_error`; the cause is logged, not sent.
    pub(crate) fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "internal error, try again later",
        )
    }

    /// Adds a `WWW-Authenticate` challenge.
    pub(crate) fn with_challenge(mut self, value: &'static str) -> Self {
        self.challenge = Some(value);
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal(&e)
    }
}

impl From<SecretsError> for ApiError {
    fn from(e: SecretsError) -> Self {
        Self::internal(&e)
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_client_error() {
            tracing::debug!(status = %self.status, error = self.error, "request refused");
        }
        let body = ErrorBody {
            error: self.error.to_owned(),
            error_description: self.description,
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
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
        if self.status == StatusCode::UNAUTHORIZED || self.status == StatusCode::BAD_REQUEST {
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        resp
    }
}

fn rejection(status: StatusCode, what: &str, detail: &str) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(status, "request_too_large", "request body is too large");
    }
    if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return ApiError::new(
            status,
            "invalid_request",
            format!("{what} body needs the right Content-Type"),
        );
    }
    ApiError::bad_request(format!("malformed {what} body: {detail}"))
}

/// The description of a value that does not fit the expected shape: where (the field path)
/// and what kind of fault, never the submitted value. Serde's own messages quote values
/// (`invalid type: string "…"`, ``unknown variant `…` ``), so only two of them, which name a
/// field of our own types, pass through: ``missing field `x` `` and ``duplicate field `x` ``.
fn shape_error<E: std::fmt::Display>(what: &str, e: &serde_path_to_error::Error<E>) -> ApiError {
    let inner = e.inner().to_string();
    let fault = ["missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| {
            let name = inner.strip_prefix(prefix)?.split('`').next()?;
            is_name(name).then(|| format!("{prefix}{name}`"))
        })
        .unwrap_or_else(|| "a value has the wrong type or is not allowed".to_owned());
    let path = field_path(e.path());
    if path.is_empty() {
        ApiError::bad_request(format!("malformed {what}: {fault}"))
    } else {
        ApiError::bad_request(format!("malformed {what}: {fault} at `{path}`"))
    }
}

/// A field path such as `public_key.crv` or `candidates[2]`; names that are not plain
/// identifiers (a map key the client chose) are written `?`.
fn field_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key: name } | Segment::Enum { variant: name } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(if is_name(name) { name } else { "?" });
            }
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    out
}

/// A field name of our own types: short, ASCII letters, digits and `_`.
fn is_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A JSON body; rejections become [`ApiError`]s that never echo submitted values.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Content type, size limit and syntax first (axum), then the shape with a field path.
        match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => serde_path_to_error::deserialize(v)
                .map(Self)
                .map_err(|e| shape_error("JSON body", &e)),
            Err(e) => Err(json_rejection(&e)),
        }
    }
}

fn json_rejection(e: &JsonRejection) -> ApiError {
    let detail = match e {
        JsonRejection::JsonSyntaxError(_) | JsonRejection::JsonDataError(_) => "not valid JSON",
        _ => "could not be read",
    };
    rejection(e.status(), "JSON", detail)
}

/// An `application/x-www-form-urlencoded` body; rejections become [`ApiError`]s that never
/// echo submitted values.
pub(crate) struct FormBody<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for FormBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawForm(bytes) = RawForm::from_request(req, state)
            .await
            .map_err(|e| rejection(e.status(), "form", "could not be read"))?;
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(&bytes));
        serde_path_to_error::deserialize(de)
            .map(Self)
            .map_err(|e| shape_error("form body", &e))
    }
}

/// Query parameters; rejections become [`ApiError`]s that never echo submitted values.
pub(crate) struct QueryParams<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Self)
            .map_err(|e| shape_error("query", &e))
    }
}

/// Path parameters; rejections (e.g. invalid UTF-8) become [`ApiError`]s that name the
/// parameter, never its value.
pub(crate) struct PathParam<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParam<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(e) => Err(path_rejection(&e)),
        }
    }
}

fn path_rejection(e: &PathRejection) -> ApiError {
    use axum::extract::path::ErrorKind;
    let key = match e {
        PathRejection::FailedToDeserializePathParams(d) => match d.kind() {
            ErrorKind::ParseErrorAtKey { key, .. }
            | ErrorKind::InvalidUtf8InPathParam { key }
            | ErrorKind::DeserializeError { key, .. } => Some(key.as_str()),
            _ => None,
        },
        _ => None,
    };
    match key.filter(|k| is_name(k)) {
        Some(k) => ApiError::bad_request(format!("malformed path: `{k}` is not valid")),
        None => ApiError::bad_request("malformed path"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Shape {
        n: u32,
        kind: Kind,
        list: Vec<u8>,
    }

    #[derive(Debug, serde::Deserialize)]
    enum Kind {
        A,
    }

    fn json(text: &str) -> String {
        let v: serde_json::Value = serde_json::from_str(text).expect("json");
        let e = serde_path_to_error::deserialize::<_, Shape>(v).expect_err("bad shape");
        shape_error("JSON body", &e)
            .description
            .expect("description")
    }

    #[test]
    fn shape_errors_name_the_field_never_the_value() {
        let d = json(r#"{"n": "SECRET1", "kind": "A", "list": []}"#);
        assert_eq!(
            d,
            "malformed JSON body: a value has the wrong type or is not allowed at `n`"
        );
        let d = json(r#"{"n": 1, "kind": "SECRET2", "list": []}"#);
        assert!(d.ends_with("at `kind`") && !d.contains("SECRET"), "{d}");
        let d = json(r#"{"n": 1, "kind": "A", "list": [1, "SECRET3"]}"#);
        assert!(d.ends_with("at `list[1]`") && !d.contains("SECRET"), "{d}");
        let d = json(r#"{"n": 1, "list": []}"#);
        assert_eq!(d, "malformed JSON body: missing field `kind`");
        let d = json(r#""SECRET4""#);
        assert!(!d.contains("SECRET"), "{d}");
    }
}
