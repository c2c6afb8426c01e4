// SPDX-License-Identifier: Apache-2.0
//! Registered relying parties: their records, HTTP Basic authentication, and the cache of
//! records in front of the database.
//!
//! Guarantees:
//! - Clients authenticate with HTTP Basic only; secrets are stored as SHA-256 hashes of
//!   256-bit random values and compared in constant time.
//! - A record read from the database is reused for at most `client_cache_secs` (real time).
//!   The admin of this server drops the cached copy when it removes a client or
//!   rotates its secret, so the change applies at once here; another process on the same file
//!   (the admin CLI) cannot tell this server, so there the old secret works at most
//!   `client_cache_secs` longer. A secret that does not match the cached hash is checked
//!   against the database again, so a new secret works at once everywhere.

use std::sync::Arc;

use axum::http::{header, HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use zeroize::Zeroizing;

use crate::api::ApiError;
use crate::secrets;
use crate::state::Shared;
use crate::store::ClientRecord;
use vistalid_core::protocol::ErrorCode;

/// `WWW-Authenticate` value for client authentication failures.
const BASIC_CHALLENGE: &str = "Basic realm=\"vistalid\"";
/// Longest client id looked up.
const MAX_CLIENT_ID: usize = 128;

/// Authenticates the client from its HTTP Basic header (RFC 6749 §2.3.1).
pub(crate) async fn authenticate(
    s: &Shared,
    headers: &HeaderMap,
) -> Result<Arc<ClientRecord>, ApiError> {
    let invalid = |d: &str| {
        ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::InvalidClient, d)
            .with_challenge(BASIC_CHALLENGE)
    };
    let (id, secret) = basic_credentials(headers).map_err(invalid)?;
    let given = secrets::hash(secret.as_bytes());
    if let Some(r) = s.clients.fresh(&id) {
        if secrets::ct_eq(&given, &r.secret_hash) {
            return Ok(r);
        }
    }
    // Not cached, stale, or a mismatch (the secret may have been rotated): ask the database.
    match fetch(s, &id).await? {
        Some(r) if secrets::ct_eq(&given, &r.secret_hash) => Ok(r),
        _ => Err(invalid("unknown client or wrong secret")),
    }
}

/// The client id and secret of an HTTP Basic header, or why there are none.
fn basic_credentials(headers: &HeaderMap) -> Result<(String, Zeroizing<String>), &'static str> {
    const MISSING: &str = "HTTP Basic client authentication is required";
    const MALFORMED: &str = "malformed Basic credentials";
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(MISSING)?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
        .ok_or(MISSING)?;
    let decoded = Zeroizing::new(B64.decode(encoded.trim()).map_err(|_| MALFORMED)?);
    let text = std::str::from_utf8(&decoded).map_err(|_| MALFORMED)?;
    let (id, secret) = text.split_once(':').ok_or(MALFORMED)?;
    let id = percent_decode(id).ok_or(MALFORMED)?;
    let secret = Zeroizing::new(percent_decode(secret).ok_or(MALFORMED)?);
    Ok((id, secret))
}

/// Reads the record of `id` from the database and refreshes the cache (dropping the entry
/// when the client is gone).
async fn fetch(s: &Shared, id: &str) -> Result<Option<Arc<ClientRecord>>, ApiError> {
    if id.is_empty() || id.len() > MAX_CLIENT_ID {
        return Ok(None);
    }
    let Some(record) = s.store.clients().find(id).await? else {
        s.clients.forget(id);
        return Ok(None);
    };
    let record = Arc::new(record);
    s.clients.keep(Arc::clone(&record));
    Ok(Some(record))
}

/// Decodes `%XX` escapes and `+` (form encoding, as RFC 6749 §2.3.1 requires for Basic).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn percent_decode_never_panics(input in ".{0,64}") {
            let _ = percent_decode(&input);
        }
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%3Ab+c").as_deref(), Some("a:b c"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
    }
}
