// SPDX-License-Identifier: Apache-2.0
//! ES256 device keys and signature checks, mapped from `vistalid_core::{keys, jws}`, and the
//! RFC 9380 hash-to-curve the iOS keystore needs (`vistalid_core::hash_to_curve`).
//!
//! Guarantees: the private key never crosses the FFI (only signatures and the public JWK do);
//! every public key given by the app is parsed by core's strict JWK parser, so a malformed
//! or off-curve key is an [`VistalidError::InvalidInput`], never a panic.

use std::sync::Arc;

use vistalid_core::jws;
use vistalid_core::keys::{Jwk, PublicKey, SigningKey};

use crate::error::VistalidError;

/// An ES256 (ECDSA P-256, SHA-256) signing key held in Rust memory. The private half cannot
/// be read from Kotlin or Swift; it is zeroized when the object is closed/deinitialised.
#[derive(Debug, uniffi::Object)]
pub struct DeviceKey {
    key: SigningKey,
}

#[uniffi::export]
impl DeviceKey {
    /// Generates a fresh random key with the operating system's random generator.
    #[uniffi::constructor]
    pub fn generate() -> Result<Arc<Self>, VistalidError> {
        Ok(Arc::new(Self {
            key: SigningKey::make()?,
        }))
    }

    /// The public key as a JWK JSON object (`kty` EC, `crv` P-256, `x`, `y`, `kid` = RFC 7638
    /// thumbprint, `alg` ES256, `use` sig).
    pub fn public_jwk_json(&self) -> Result<String, VistalidError> {
        serde_json::to_string(&self.key.public_key().to_jwk()).map_err(|e| {
            VistalidError::Internal {
                reason: format!("JWK serialisation: {e}"),
            }
        })
    }

    /// The RFC 7638 thumbprint of the public key (base64url), used as `kid`.
    pub fn thumbprint(&self) -> String {
        self.key.public_key().thumbprint()
    }

    /// Signs `message` and returns the raw 64-byte `r || s` signature.
    pub fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, VistalidError> {
        Ok(self.key.sign(&message)?.to_vec())
    }

    /// Signs `payload` as a compact ES256 JWS with header `typ` and `kid` = thumbprint.
    pub fn sign_jws(&self, typ: String, payload: Vec<u8>) -> Result<String, VistalidError> {
        Ok(jws::sign(&self.key, &typ, &payload)?)
    }
}

/// Parses a public JWK JSON text with core's strict parser.
fn public_key_from_jwk_json(public_jwk_json: &str) -> Result<PublicKey, VistalidError> {
    let jwk: Jwk =
        serde_json::from_str(public_jwk_json).map_err(|_| VistalidError::InvalidInput {
            reason: "public key is not a JWK JSON object".into(),
        })?;
    Ok(PublicKey::from_jwk(&jwk)?)
}

/// Checks a raw 64-byte ES256 signature over `message` under the public key given as JWK
/// JSON. Returns normally only when it verifies; throws [`VistalidError::BadSignature`] when
/// it does not and [`VistalidError::InvalidInput`] when the key is malformed.
#[uniffi::export]
pub fn verify_es256(
    public_jwk_json: String,
    message: Vec<u8>,
    signature: Vec<u8>,
) -> Result<(), VistalidError> {
    Ok(public_key_from_jwk_json(&public_jwk_json)?.verify(&message, &signature)?)
}

/// Verifies a compact ES256 JWS under the public key given as JWK JSON and returns its
/// payload. When `expected_typ` is given, the header's `typ` must equal it. Throws
/// [`VistalidError::BadSignature`] or [`VistalidError::InvalidInput`] otherwise.
#[uniffi::export]
pub fn jws_verify(
    token: String,
    public_jwk_json: String,
    expected_typ: Option<String>,
) -> Result<Vec<u8>, VistalidError> {
    let key = public_key_from_jwk_json(&public_jwk_json)?;
    Ok(jws::verify(&token, &key, expected_typ.as_deref())?)
}

/// RFC 9380 `hash_to_curve` on P-256 (suite `P256_XMD:SHA-256_SSWU_RO_`) of `message`, with
/// the domain separation tag `domain_tag` (1 to 255 bytes): an uncompressed SEC1 point (65
/// bytes, `0x04 || x || y`) whose discrete logarithm nobody knows. The iOS keystore
/// (`SecureEnclaveKeystore`) ECDHs it with its enclave key. Throws
/// [`VistalidError::InvalidInput`] for an empty or over-long tag.
#[uniffi::export]
pub fn hash_to_curve_p256(message: Vec<u8>, domain_tag: Vec<u8>) -> Result<Vec<u8>, VistalidError> {
    Ok(vistalid_core::hash_to_curve::hash_to_curve_p256(&message, &domain_tag)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_to_curve_gives_the_rfc_point_and_types_a_bad_tag() {
        let point = hash_to_curve_p256(
            b"abc".to_vec(),
            b"QUUX-V01-CS02-with-P256_XMD:SHA-256_SSWU_RO_".to_vec(),
        )
        .expect("hash");
        assert_eq!(point.len(), 65);
        assert_eq!(point[0], 4);
        assert_eq!(
            point[1..5],
            [0x0b, 0xb8, 0xb8, 0x74],
            "RFC 9380 J.1.1, msg \"abc\""
        );
        assert!(matches!(
            hash_to_curve_p256(b"abc".to_vec(), Vec::new()),
            Err(VistalidError::InvalidInput { .. })
        ));
    }

    #[test]
    fn sign_verify_and_typed_errors() {
        let key = DeviceKey::generate().expect("key");
        let jwk = key.public_jwk_json().expect("jwk");
        let sig = key.sign(b"hello".to_vec()).expect("sign");
        assert_eq!(sig.len(), 64);
        verify_es256(jwk.clone(), b"hello".to_vec(), sig.clone()).expect("verifies");
        assert_eq!(
            verify_es256(jwk.clone(), b"hellO".to_vec(), sig),
            Err(VistalidError::BadSignature)
        );
        assert!(matches!(
            verify_es256("{}".into(), vec![], vec![]),
            Err(VistalidError::InvalidInput { .. })
        ));

        let token = key
            .sign_jws("test+jwt".into(), b"{}".to_vec())
            .expect("jws");
        assert_eq!(
            jws_verify(token.clone(), jwk.clone(), Some("test+jwt".into())).expect("ok"),
            b"{}"
        );
        assert!(matches!(
            jws_verify(token, jwk, Some("other".into())),
            Err(VistalidError::InvalidInput { .. })
        ));
    }
}
