// SPDX-License-Identifier: Apache-2.0
//! Registered relying parties: their records, HTTP Basic authentication, and the cache of
//! records in front of the database.
//!
//! Guarantees:
//! - Clients authenticate with HTTP Basic only; secrets are stored as SHA-256 hashes of
//!   256-bit random values and compared in constant time.
//! - A record read from the database is reused for at most `client_cache_secs` (real time).
//!   The [`crate::Admin`] of this server drops the cached copy when it removes a client or
//!   rotates its secret, so the change applies at once here; another process on the same file
//!   (the admin CLI) cannot tell this server, so there the old secret works at most
//!   `client_cache_secs` longer. A secret that does not match the cached hash is checked
//!   against the database again, so a new secret works at once everywhere.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rusqlite::OptionalExtension as _;
use vistalid_core::protocol::CodeMode;
use zeroize::Zeroizing;

use crate::http::ApiError;
use crate::secrets;
use crate::Shared;

/// `WWW-Authenticate` value for client authentication failures.
const BASIC_CHALLENGE: &str = "Basic realm=\"vistalid\"";
/// Longest client id looked up.
const MAX_CLIENT_ID: usize = 128;

/// A registered relying party, as read from the database.
#[derive(Debug)]
pub(crate) struct ClientRecord {
    pub(crate) client_id: String,
    pub(crate) name: String,
    pub(crate) secret_hash: [u8; 32],
    pub(crate) mode: CodeMode,
    /// The QR audience this client redeems for (see `qr`); `None`: audience-less QR only.
    pub(crate) audience: Option<String>,
    /// When it was read from the database.
    fetched: Instant,
}

/// Parses a stored mode.
pub(crate) fn mode_from_str(s: &str) -> CodeMode {
    match s {
        "type" => CodeMode::Type,
        _ => CodeMode::Pick,
    }
}

/// The stored name of a mode.
pub(crate) fn mode_str(m: CodeMode) -> &'static str {
    match m {
        CodeMode::Type => "type",
        CodeMode::Pick => "pick",
    }
}

/// Drops the cached record of `client_id` (after an admin change).
pub(crate) fn forget(s: &Shared, client_id: &str) {
    s.clients
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .remove(client_id);
}

/// Authenticates the client from its HTTP Basic header (RFC 6749 §2.3.1).
pub(crate) async fn authenticate(
    s: &Arc<Shared>,
    headers: &HeaderMap,
) -> Result<Arc<ClientRecord>, ApiError> {
    let invalid = |d: &str| {
        ApiError::new(StatusCode::UNAUTHORIZED, "invalid_client", d).with_challenge(BASIC_CHALLENGE)
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| invalid("HTTP Basic client authentication is required"))?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
        .ok_or_else(|| invalid("HTTP Basic client authentication is required"))?;
    let decoded = Zeroizing::new(
        B64.decode(encoded.trim())
            .map_err(|_| invalid("malformed Basic credentials"))?,
    );
    let text = std::str::from_utf8(&decoded).map_err(|_| invalid("malformed Basic credentials"))?;
    let (id, secret) = text
        .split_once(':')
        .ok_or_else(|| invalid("malformed Basic credentials"))?;
    let id = percent_decode(id).ok_or_else(|| invalid("malformed Basic credentials"))?;
    let secret = Zeroizing::new(
        percent_decode(secret).ok_or_else(|| invalid("malformed Basic credentials"))?,
    );
    let given = secrets::hash(secret.as_bytes());
    if let Some(r) = cached(s, &id) {
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

/// The cached record of `id`, if it is younger than `client_cache_secs`.
fn cached(s: &Shared, id: &str) -> Option<Arc<ClientRecord>> {
    let ttl = Duration::from_secs(s.config.client_cache_secs);
    let map = s.clients.read().unwrap_or_else(|p| p.into_inner());
    map.get(id)
        .filter(|r| r.fetched.elapsed() < ttl)
        .map(Arc::clone)
}

/// Reads the record of `id` from the database and refreshes the cache (dropping the entry
/// when the client is gone).
async fn fetch(s: &Arc<Shared>, id: &str) -> Result<Option<Arc<ClientRecord>>, ApiError> {
    if id.is_empty() || id.len() > MAX_CLIENT_ID {
        return Ok(None);
    }
    let key = id.to_owned();
    let found =
        s.db.read(move |c| -> Result<_, ApiError> {
            Ok(c.prepare_cached(
                "SELECT client_id, name, secret_hash, mode, audience FROM clients
                 WHERE client_id = ?1",
            )?
            .query_row([&key], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })
            .optional()?)
        })
        .await?;
    let Some((client_id, name, hash, mode, audience)) = found else {
        forget(s, id);
        return Ok(None);
    };
    let secret_hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| ApiError::internal(&"client secret hash is not 32 bytes"))?;
    let record = Arc::new(ClientRecord {
        client_id: client_id.clone(),
        name,
        secret_hash,
        mode: mode_from_str(&mode),
        audience,
        fetched: Instant::now(),
    });
    if s.config.client_cache_secs > 0 {
        s.clients
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(client_id, Arc::clone(&record));
    }
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
