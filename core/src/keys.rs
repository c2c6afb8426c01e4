// SPDX-License-Identifier: Apache-2.0
//! Device and server keys: ECDSA P-256 with SHA-256 (ES256).
//!
//! Guarantees:
//! - Signatures are the raw 64-byte `r || s` form used by JOSE and COSE.
//! - A [`PublicKey`] always holds a valid, uncompressed point on P-256: every constructor
//!   (SEC1 bytes, JWK, COSE_Key) checks the length, the encoding and that the point is on the
//!   curve, and rejects anything else with a typed [`KeyError`].
//! - Private keys live in [`Zeroizing`] buffers; `Debug` never prints them.
//!
//! ring does the signing and verifying (measured 4–7x faster than the `p256` crate); `p256`
//! is used only to check that an imported point is on the curve, which ring has no API for.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ciborium::value::{Integer, Value};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair as _, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Length of a raw ES256 signature (`r || s`).
pub const SIGNATURE_LEN: usize = 64;
/// Length of an uncompressed SEC1 P-256 point (`0x04 || x || y`).
pub const PUBLIC_KEY_LEN: usize = 65;

/// Errors of the key layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The bytes are not a valid P-256 public key (wrong length, encoding, or not on the curve).
    #[error("invalid P-256 public key")]
    InvalidPublicKey,
    /// The private key bytes are not a valid PKCS#8 P-256 key.
    #[error("invalid P-256 private key")]
    InvalidPrivateKey,
    /// The JWK or COSE_Key is malformed or not an EC P-256 key.
    #[error("invalid key encoding: {0}")]
    InvalidEncoding(&'static str),
    /// The signature does not verify under the key (or is not 64 bytes).
    #[error("signature does not verify")]
    BadSignature,
    /// The operating system's random generator failed.
    #[error("random generator failure")]
    Random,
}

/// An ES256 signing key (device key or server key). The private half never leaves this type
/// except through [`SigningKey::to_pkcs8`], for sealing it into the vault.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    pkcs8: Zeroizing<Vec<u8>>,
    rng: SystemRandom,
}

impl SigningKey {
    /// Makes a new random key from the OS CSPRNG.
    pub fn make() -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| KeyError::Random)?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// Loads a key from its PKCS#8 v1/v2 DER form (as [`SigningKey::to_pkcs8`] writes it).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|_| KeyError::InvalidPrivateKey)?;
        Ok(Self {
            pair,
            pkcs8: Zeroizing::new(der.to_vec()),
            rng,
        })
    }

    /// The PKCS#8 DER bytes of the private key, to be sealed in the vault. Every call site must
    /// carry an `// EXPOSE: reason` comment.
    pub fn to_pkcs8(&self) -> &Zeroizing<Vec<u8>> {
        // EXPOSE: the caller seals these bytes (vault) or stores them server-side.
        &self.pkcs8
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        let mut sec1 = [0u8; PUBLIC_KEY_LEN];
        sec1.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey { sec1 }
    }

    /// Signs `msg` (SHA-256 then ECDSA); returns raw `r || s`.
    pub fn sign(&self, msg: &[u8]) -> Result<[u8; SIGNATURE_LEN], KeyError> {
        let sig = self
            .pair
            .sign(&self.rng, msg)
            .map_err(|_| KeyError::Random)?;
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(sig.as_ref());
        Ok(out)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public_key().thumbprint())
            .finish()
    }
}

/// A validated P-256 public key, stored as the uncompressed SEC1 point.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey {
    sec1: [u8; PUBLIC_KEY_LEN],
}

impl PublicKey {
    /// Parses an uncompressed SEC1 point (65 bytes, `0x04 || x || y`) and checks it is on the
    /// curve. Compressed points and the point at infinity are refused.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != PUBLIC_KEY_LEN || bytes[0] != 0x04 {
            return Err(KeyError::InvalidPublicKey);
        }
        p256::PublicKey::from_sec1_bytes(bytes).map_err(|_| KeyError::InvalidPublicKey)?;
        let mut sec1 = [0u8; PUBLIC_KEY_LEN];
        sec1.copy_from_slice(bytes);
        Ok(Self { sec1 })
    }

    /// Builds the key from its affine coordinates (32 bytes each, big-endian).
    pub fn from_coordinates(x: &[u8], y: &[u8]) -> Result<Self, KeyError> {
        if x.len() != 32 || y.len() != 32 {
            return Err(KeyError::InvalidPublicKey);
        }
        let mut sec1 = [0u8; PUBLIC_KEY_LEN];
        sec1[0] = 0x04;
        sec1[1..33].copy_from_slice(x);
        sec1[33..].copy_from_slice(y);
        Self::from_sec1(&sec1)
    }

    /// The uncompressed SEC1 bytes.
    pub fn as_sec1(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.sec1
    }

    /// The x coordinate.
    pub fn x(&self) -> &[u8] {
        &self.sec1[1..33]
    }

    /// The y coordinate.
    pub fn y(&self) -> &[u8] {
        &self.sec1[33..]
    }

    /// Verifies a raw `r || s` ES256 signature over `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), KeyError> {
        if sig.len() != SIGNATURE_LEN {
            return Err(KeyError::BadSignature);
        }
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.sec1[..])
            .verify(msg, sig)
            .map_err(|_| KeyError::BadSignature)
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): a stable key id.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            B64URL.encode(self.x()),
            B64URL.encode(self.y())
        );
        let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
        B64URL.encode(digest.as_ref())
    }

    /// The key as a JWK (`kty` EC, `crv` P-256, `alg` ES256, `kid` = thumbprint).
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: B64URL.encode(self.x()),
            y: B64URL.encode(self.y()),
            kid: Some(self.thumbprint()),
            alg: Some("ES256".into()),
            key_use: Some("sig".into()),
        }
    }

    /// Parses a JWK strictly: `kty` EC, `crv` P-256, `alg` ES256 when present, 32-byte
    /// coordinates in unpadded base64url, point on the curve.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        if jwk.kty != "EC" || jwk.crv != "P-256" {
            return Err(KeyError::InvalidEncoding("JWK is not an EC P-256 key"));
        }
        if jwk.alg.as_deref().is_some_and(|a| a != "ES256") {
            return Err(KeyError::InvalidEncoding("JWK alg is not ES256"));
        }
        let x = B64URL
            .decode(&jwk.x)
            .map_err(|_| KeyError::InvalidEncoding("JWK x"))?;
        let y = B64URL
            .decode(&jwk.y)
            .map_err(|_| KeyError::InvalidEncoding("JWK y"))?;
        Self::from_coordinates(&x, &y)
    }

    /// The key as a COSE_Key CBOR map (RFC 9052/9053: kty 2 EC2, alg -7 ES256, crv 1 P-256,
    /// x, y), as a [`ciborium::Value`] so it can be nested in other structures.
    pub fn to_cose_value(&self) -> Value {
        Value::Map(vec![
            (int(1), int(2)),
            (int(3), int(-7)),
            (int(-1), int(1)),
            (int(-2), Value::Bytes(self.x().to_vec())),
            (int(-3), Value::Bytes(self.y().to_vec())),
        ])
    }

    /// The key as encoded COSE_Key bytes.
    pub fn to_cose_key(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(80);
        // Writing CBOR into a Vec cannot fail.
        let _ = ciborium::into_writer(&self.to_cose_value(), &mut out);
        out
    }

    /// Parses a COSE_Key CBOR map strictly: kty EC2, crv P-256, alg ES256 when present,
    /// 32-byte x and y (compressed y refused), no duplicate labels.
    pub fn from_cose_value(value: &Value) -> Result<Self, KeyError> {
        let Value::Map(entries) = value else {
            return Err(KeyError::InvalidEncoding("COSE_Key is not a map"));
        };
        let (mut kty, mut alg, mut crv, mut x, mut y) = (None, None, None, None, None);
        for (k, v) in entries {
            let label = k
                .as_integer()
                .and_then(|i| i64::try_from(i).ok())
                .ok_or(KeyError::InvalidEncoding("COSE_Key label"))?;
            let slot = match label {
                1 => &mut kty,
                3 => &mut alg,
                -1 => &mut crv,
                -2 => &mut x,
                -3 => &mut y,
                _ => continue,
            };
            if slot.replace(v).is_some() {
                return Err(KeyError::InvalidEncoding("COSE_Key duplicate label"));
            }
        }
        let as_int = |v: Option<&Value>| {
            v.and_then(|v| v.as_integer())
                .and_then(|i| i64::try_from(i).ok())
        };
        if as_int(kty) != Some(2) || as_int(crv) != Some(1) {
            return Err(KeyError::InvalidEncoding(
                "COSE_Key is not an EC2 P-256 key",
            ));
        }
        if alg.is_some() && as_int(alg) != Some(-7) {
            return Err(KeyError::InvalidEncoding("COSE_Key alg is not ES256"));
        }
        let x = x
            .and_then(Value::as_bytes)
            .ok_or(KeyError::InvalidEncoding("COSE_Key x"))?;
        let y = y
            .and_then(Value::as_bytes)
            .ok_or(KeyError::InvalidEncoding("COSE_Key y"))?;
        Self::from_coordinates(x, y)
    }

    /// Parses encoded COSE_Key bytes (see [`PublicKey::from_cose_value`]).
    pub fn from_cose_key(bytes: &[u8]) -> Result<Self, KeyError> {
        let value: Value =
            ciborium::from_reader(bytes).map_err(|_| KeyError::InvalidEncoding("COSE_Key CBOR"))?;
        Self::from_cose_value(&value)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.thumbprint())
    }
}

fn int(i: i64) -> Value {
    Value::Integer(Integer::from(i))
}

/// A JSON Web Key (RFC 7517) for an EC P-256 public key. Parse it with
/// [`PublicKey::from_jwk`], which validates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type; must be `EC`.
    pub kty: String,
    /// Curve; must be `P-256`.
    pub crv: String,
    /// x coordinate, base64url.
    pub x: String,
    /// y coordinate, base64url.
    pub y: String,
    /// Key id (the RFC 7638 thumbprint when we write it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Algorithm; `ES256` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Public key use; `sig`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
}

/// A JWK set (RFC 7517 section 5), `{"keys": [...]}`: what the server's JWKS and
/// `/qr/issuer-keys` endpoints serve, and what a verifier is given as its trusted keys. The one
/// place that reads and writes that shape; every key in it goes through
/// [`PublicKey::from_jwk`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys, in the order given.
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// The set of `keys`, each as [`PublicKey::to_jwk`] writes it.
    pub fn from_public_keys(keys: &[PublicKey]) -> Self {
        Self {
            keys: keys.iter().map(PublicKey::to_jwk).collect(),
        }
    }

    /// Parses a JWK set JSON text and every key in it: all of them or an error
    /// ([`KeyError::InvalidEncoding`] when the text is not a JWK set, the key's own error when
    /// one key is invalid). An empty set is a valid set.
    pub fn parse_public_keys(json: &str) -> Result<Vec<PublicKey>, KeyError> {
        let set: Self = serde_json::from_str(json)
            .map_err(|_| KeyError::InvalidEncoding("not a JWK set ({\"keys\": [...]})"))?;
        set.public_keys()
    }

    /// Every key of the set, validated; the first invalid one is the error.
    pub fn public_keys(&self) -> Result<Vec<PublicKey>, KeyError> {
        self.keys.iter().map(PublicKey::from_jwk).collect()
    }

    /// The set as compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a JWK set is plain strings and always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwk_sets_round_trip_and_refuse_any_bad_key() {
        let a = SigningKey::make().expect("key").public_key();
        let b = SigningKey::make().expect("key").public_key();
        let json = JwkSet::from_public_keys(&[a, b]).to_json();
        assert!(json.starts_with(r#"{"keys":[{"kty":"EC""#), "{json}");
        assert_eq!(JwkSet::parse_public_keys(&json), Ok(vec![a, b]));
        assert_eq!(JwkSet::parse_public_keys(r#"{"keys":[]}"#), Ok(vec![]));
        for bad in ["[]", "{}", "not json", r#"{"keys":{}}"#] {
            assert!(
                matches!(
                    JwkSet::parse_public_keys(bad),
                    Err(KeyError::InvalidEncoding(_))
                ),
                "{bad}"
            );
        }
        // One key off the curve spoils the set: nothing is trusted from it.
        let mut set = JwkSet::from_public_keys(&[a]);
        let mut off = set.keys[0].clone();
        off.y = off.x.clone();
        set.keys.push(off);
        assert!(JwkSet::parse_public_keys(&set.to_json()).is_err());
    }

    #[test]
    fn sign_verify_round_trip_and_tamper() {
        let key = SigningKey::make().expect("key");
        let sig = key.sign(b"hello").expect("sign");
        let public = key.public_key();
        assert!(public.verify(b"hello", &sig).is_ok());
        assert_eq!(public.verify(b"hellO", &sig), Err(KeyError::BadSignature));
        assert_eq!(
            public.verify(b"hello", &sig[..63]),
            Err(KeyError::BadSignature)
        );
        // EXPOSE: test reloads the key from its PKCS#8 bytes.
        let reloaded = SigningKey::from_pkcs8(key.to_pkcs8()).expect("reload");
        assert_eq!(reloaded.public_key(), public);
    }

    #[test]
    fn jwk_and_cose_round_trip() {
        let public = SigningKey::make().expect("key").public_key();
        let jwk = public.to_jwk();
        assert_eq!(PublicKey::from_jwk(&jwk).expect("jwk"), public);
        let json = serde_json::to_string(&jwk).expect("json");
        let back: Jwk = serde_json::from_str(&json).expect("parse");
        assert_eq!(PublicKey::from_jwk(&back).expect("jwk"), public);
        assert_eq!(
            PublicKey::from_cose_key(&public.to_cose_key()).expect("cose"),
            public
        );
    }

    #[test]
    fn rejects_points_off_the_curve_and_bad_lengths() {
        let public = SigningKey::make().expect("key").public_key();
        let mut bad = *public.as_sec1();
        bad[64] ^= 1;
        assert_eq!(PublicKey::from_sec1(&bad), Err(KeyError::InvalidPublicKey));
        assert_eq!(
            PublicKey::from_sec1(&bad[..64]),
            Err(KeyError::InvalidPublicKey)
        );
        let mut compressed = vec![0x02];
        compressed.extend_from_slice(public.x());
        assert_eq!(
            PublicKey::from_sec1(&compressed),
            Err(KeyError::InvalidPublicKey)
        );
        assert_eq!(
            PublicKey::from_sec1(&[0u8; 65]),
            Err(KeyError::InvalidPublicKey)
        );
        let mut jwk = public.to_jwk();
        jwk.crv = "P-384".into();
        assert!(PublicKey::from_jwk(&jwk).is_err());
        let mut jwk = public.to_jwk();
        jwk.x.push('A');
        assert!(PublicKey::from_jwk(&jwk).is_err());
    }

    #[test]
    fn rfc7638_thumbprint_shape() {
        let t = SigningKey::make().expect("key").public_key().thumbprint();
        assert_eq!(t.len(), 43);
    }

    #[test]
    fn debug_never_prints_private_key() {
        let key = SigningKey::make().expect("key");
        let dbg = format!("{key:?}");
        // EXPOSE: test looks for the key bytes in the Debug output.
        assert!(!dbg.contains(&hex::encode(key.to_pkcs8().as_slice())));
        assert!(dbg.starts_with("SigningKey"));
    }
}
