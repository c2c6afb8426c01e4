// SPDX-License-Identifier: Apache-2.0
//! Body, query and path extractors that turn every malformed input into an [`ApiError`]
//! naming the field and the kind of fault, never the submitted value (instead of axum's
//! plain-text rejections).

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, RawForm, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::ApiError;
use vistalid_core::protocol::ErrorCode;

fn rejection(status: StatusCode, what: &str, detail: &str) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            status,
            ErrorCode::RequestTooLarge,
            "request body is too large",
        );
    }
    if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return ApiError::new(
            status,
            ErrorCode::InvalidRequest,
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
