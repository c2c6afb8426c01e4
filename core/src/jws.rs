// SPDX-License-Identifier: Apache-2.0
//! Compact JWS (RFC 7515) with ES256 only: the envelope of every signed JSON message
//! (server challenges, device answers, enrolment proofs, ID tokens).
//!
//! Guarantees: [`verify`] accepts only `alg` = `ES256` (no `none`, no algorithm confusion),
//! checks the raw 64-byte signature over the exact signing input, bounds the token size, and
//! returns the payload bytes only when all of that holds. `typ` is checked when asked.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::keys::{KeyError, PublicKey, SigningKey};

/// Largest compact JWS accepted (64 KiB); anything bigger is refused before decoding.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// Errors of the JWS layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// Not three base64url parts, bad base64url, bad header JSON, or too large.
    #[error("malformed JWS")]
    Malformed,
    /// The header names another algorithm than ES256, or another `typ` than expected.
    #[error("unsupported JWS header")]
    UnsupportedHeader,
    /// The signature does not verify under the given key.
    #[error("JWS signature does not verify")]
    BadSignature,
    /// Signing failed (random generator).
    #[error("signing failed: {0}")]
    Key(#[from] KeyError),
}

/// The protected header we write and accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always `ES256`.
    pub alg: String,
    /// Media type of the payload, e.g. `JWT` or `vistalid-challenge+jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Key id of the signer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// Signs `payload` (already-serialised JSON) as a compact JWS with the given `typ`; the `kid`
/// is the signer's RFC 7638 thumbprint.
pub fn sign(key: &SigningKey, typ: &str, payload: &[u8]) -> Result<String, JwsError> {
    let header = Header {
        alg: "ES256".into(),
        typ: Some(typ.into()),
        kid: Some(key.public_key().thumbprint()),
    };
    let header_json = serde_json::to_vec(&header).map_err(|_| JwsError::Malformed)?;
    let mut token = String::with_capacity((header_json.len() + payload.len()) * 4 / 3 + 100);
    B64URL.encode_string(&header_json, &mut token);
    token.push('.');
    B64URL.encode_string(payload, &mut token);
    let sig = key.sign(token.as_bytes())?;
    token.push('.');
    B64URL.encode_string(sig, &mut token);
    Ok(token)
}

/// Serialises `claims` as JSON and signs them (see [`sign`]).
pub fn sign_json<T: Serialize>(
    key: &SigningKey,
    typ: &str,
    claims: &T,
) -> Result<String, JwsError> {
    let payload = serde_json::to_vec(claims).map_err(|_| JwsError::Malformed)?;
    sign(key, typ, &payload)
}

/// Splits a compact JWS and decodes its header without checking the signature (to pick a key
/// by `kid`). Never trust the result before [`verify`].
pub fn peek_header(token: &str) -> Result<Header, JwsError> {
    let (header_b64, _, _) = split(token)?;
    let bytes = B64URL.decode(header_b64).map_err(|_| JwsError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwsError::Malformed)
}

/// Verifies an ES256 compact JWS under `key` and returns its payload. When `typ` is given,
/// the header's `typ` must equal it.
pub fn verify(token: &str, key: &PublicKey, typ: Option<&str>) -> Result<Vec<u8>, JwsError> {
    let (header_b64, payload_b64, sig_b64) = split(token)?;
    let header = peek_header(token)?;
    if header.alg != "ES256" {
        return Err(JwsError::UnsupportedHeader);
    }
    if let Some(expected) = typ {
        if header.typ.as_deref() != Some(expected) {
            return Err(JwsError::UnsupportedHeader);
        }
    }
    let sig = B64URL.decode(sig_b64).map_err(|_| JwsError::Malformed)?;
    let signing_input_len = header_b64.len() + 1 + payload_b64.len();
    key.verify(&token.as_bytes()[..signing_input_len], &sig)
        .map_err(|_| JwsError::BadSignature)?;
    B64URL.decode(payload_b64).map_err(|_| JwsError::Malformed)
}

/// Verifies (see [`verify`]) and parses the payload as JSON.
pub fn verify_json<T: for<'de> Deserialize<'de>>(
    token: &str,
    key: &PublicKey,
    typ: Option<&str>,
) -> Result<T, JwsError> {
    let payload = verify(token, key, typ)?;
    serde_json::from_slice(&payload).map_err(|_| JwsError::Malformed)
}

fn split(token: &str) -> Result<(&str, &str, &str), JwsError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwsError::Malformed);
    }
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) if !h.is_empty() && !s.is_empty() => Ok((h, p, s)),
        _ => Err(JwsError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_typ_check() {
        let key = SigningKey::make().expect("key");
        let token = sign(&key, "JWT", br#"{"a":1}"#).expect("sign");
        let public = key.public_key();
        assert_eq!(
            verify(&token, &public, Some("JWT")).expect("ok"),
            br#"{"a":1}"#
        );
        assert_eq!(
            verify(&token, &public, Some("other")),
            Err(JwsError::UnsupportedHeader)
        );
        let other = SigningKey::make().expect("key").public_key();
        assert_eq!(verify(&token, &other, None), Err(JwsError::BadSignature));
    }

    #[test]
    fn rejects_alg_none_and_garbage() {
        let key = SigningKey::make().expect("key").public_key();
        let none = format!(
            "{}.{}.",
            B64URL.encode(r#"{"alg":"none"}"#),
            B64URL.encode("{}")
        );
        assert_eq!(verify(&none, &key, None), Err(JwsError::Malformed));
        let hs = format!(
            "{}.{}.AAAA",
            B64URL.encode(r#"{"alg":"HS256"}"#),
            B64URL.encode("{}")
        );
        assert_eq!(verify(&hs, &key, None), Err(JwsError::UnsupportedHeader));
        for bad in ["", "a", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert_eq!(verify(bad, &key, None), Err(JwsError::Malformed), "{bad}");
        }
    }

    #[test]
    fn payload_tamper_fails() {
        let key = SigningKey::make().expect("key");
        let token = sign(&key, "JWT", br#"{"a":1}"#).expect("sign");
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = B64URL.encode(br#"{"a":2}"#);
        parts[1] = &forged;
        assert_eq!(
            verify(&parts.join("."), &key.public_key(), None),
            Err(JwsError::BadSignature)
        );
    }
}
