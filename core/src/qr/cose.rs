// SPDX-License-Identifier: Apache-2.0
//! COSE_Sign1 (RFC 9052 §4.2) with ES256 (alg -7) only.
//!
//! Guarantees:
//! - [`sign`] writes a tagged (18) COSE_Sign1 whose protected header (a bstr) holds the
//!   algorithm and, when given, the key id (label 4); the unprotected header is empty.
//! - [`Sign1::parse`] accepts the tagged or untagged form, optionally inside the CWT tag 61
//!   (RFC 8392 §6), and refuses anything else: other tags, wrong arity, a protected header
//!   that is not a bstr holding a map (or empty), a detached payload, duplicate labels, the
//!   algorithm in both buckets, a `crit` header (no extension is understood). Input is
//!   bounded by [`MAX_COSE_LEN`]; no input makes it panic.
//! - [`Sign1::verify`] rebuilds `Sig_structure = ["Signature1", protected, external_aad,
//!   payload]` from the exact protected bytes received, and accepts only ES256 with a raw
//!   64-byte `r || s` signature.
//! - The key id is taken from the protected header when present there, else from the
//!   unprotected one (as the EU DCC specification and its test vectors require). The key id
//!   is only a hint for finding the key: trust comes from the signature check.

use ciborium::value::Value;

use super::{QrError, MAX_PAYLOAD_LEN};
use crate::keys::{PublicKey, SigningKey, SIGNATURE_LEN};

/// COSE algorithm identifier of ES256 (ECDSA P-256 with SHA-256).
pub const ALG_ES256: i64 = -7;
/// CBOR tag of COSE_Sign1.
pub const TAG_SIGN1: u64 = 18;
/// CBOR tag of a CWT (RFC 8392), which may wrap the COSE_Sign1.
pub const TAG_CWT: u64 = 61;
/// Largest COSE_Sign1 we parse, in bytes.
pub const MAX_COSE_LEN: usize = MAX_PAYLOAD_LEN;

/// Header label of the algorithm.
const LABEL_ALG: i64 = 1;
/// Header label of the critical-headers list.
const LABEL_CRIT: i64 = 2;
/// Header label of the key id.
const LABEL_KID: i64 = 4;
/// Nesting bound for the CBOR parser (COSE and claims are shallow).
const MAX_DEPTH: usize = 16;

/// A parsed, not yet verified COSE_Sign1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sign1 {
    protected: Vec<u8>,
    alg: i64,
    kid: Option<Vec<u8>>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

/// Signs `payload` with ES256 and returns the tagged COSE_Sign1 bytes. `kid`, when given, goes
/// into the protected header; `external_aad` is bound into the signature but not carried.
pub fn sign(
    key: &SigningKey,
    kid: Option<&[u8]>,
    payload: &[u8],
    external_aad: &[u8],
) -> Result<Vec<u8>, QrError> {
    let mut protected = Vec::with_capacity(16);
    put_head(&mut protected, 5, if kid.is_some() { 2 } else { 1 });
    protected.extend_from_slice(&[0x01, 0x26]); // 1: -7
    if let Some(kid) = kid {
        protected.push(0x04);
        put_bytes(&mut protected, kid);
    }
    let to_sign = sig_structure(&protected, external_aad, payload);
    let signature = key.sign(&to_sign).map_err(|_| QrError::Signing)?;

    let mut out = Vec::with_capacity(payload.len() + protected.len() + SIGNATURE_LEN + 12);
    put_head(&mut out, 6, TAG_SIGN1);
    put_head(&mut out, 4, 4);
    put_bytes(&mut out, &protected);
    out.push(0xa0); // empty unprotected map
    put_bytes(&mut out, payload);
    put_bytes(&mut out, &signature);
    Ok(out)
}

impl Sign1 {
    /// Parses COSE_Sign1 bytes (see the module guarantees). Does not check the signature.
    pub fn parse(bytes: &[u8]) -> Result<Self, QrError> {
        if bytes.len() > MAX_COSE_LEN {
            return Err(QrError::TooLarge);
        }
        let value = parse_cbor(bytes)?;
        let value = match value {
            Value::Tag(TAG_CWT, inner) => match *inner {
                Value::Tag(TAG_SIGN1, inner) => *inner,
                Value::Tag(..) => return Err(QrError::BadCose("unexpected tag")),
                other => other,
            },
            Value::Tag(TAG_SIGN1, inner) => *inner,
            Value::Tag(..) => return Err(QrError::BadCose("unexpected tag")),
            other => other,
        };
        let Value::Array(items) = value else {
            return Err(QrError::BadCose("not an array"));
        };
        let [protected, unprotected, payload, signature]: [Value; 4] = items
            .try_into()
            .map_err(|_| QrError::BadCose("not an array of 4"))?;

        let Value::Bytes(protected) = protected else {
            return Err(QrError::BadCose("protected header is not a bstr"));
        };
        let protected_map = if protected.is_empty() {
            Vec::new()
        } else {
            match parse_cbor(&protected)? {
                Value::Map(entries) => entries,
                _ => return Err(QrError::BadCose("protected header is not a map")),
            }
        };
        let Value::Map(unprotected_map) = unprotected else {
            return Err(QrError::BadCose("unprotected header is not a map"));
        };
        let p = Headers::read(&protected_map)?;
        let u = Headers::read(&unprotected_map)?;
        if p.crit || u.crit {
            return Err(QrError::BadCose("critical headers are not supported"));
        }
        let alg = match (p.alg, u.alg) {
            (Some(_), Some(_)) => return Err(QrError::BadCose("alg in both headers")),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return Err(QrError::BadCose("no alg")),
        };
        let kid = p.kid.or(u.kid);

        let Value::Bytes(payload) = payload else {
            return Err(QrError::BadCose("payload is not a bstr"));
        };
        let Value::Bytes(signature) = signature else {
            return Err(QrError::BadCose("signature is not a bstr"));
        };
        Ok(Self {
            protected,
            alg,
            kid,
            payload,
            signature,
        })
    }

    /// The algorithm named in the headers (only [`ALG_ES256`] can verify).
    pub fn alg(&self) -> i64 {
        self.alg
    }

    /// The key id: from the protected header if there, else from the unprotected one.
    pub fn kid(&self) -> Option<&[u8]> {
        self.kid.as_deref()
    }

    /// The signed payload bytes (not yet trusted).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The exact protected header bytes as received.
    pub fn protected(&self) -> &[u8] {
        &self.protected
    }

    /// Checks the signature with `key`. `Ok(true)` when it verifies, `Ok(false)` when it does
    /// not (the caller names the failure: issuer or device), and
    /// [`QrError::UnsupportedAlgorithm`] when the algorithm is not ES256.
    pub fn verify(&self, key: &PublicKey, external_aad: &[u8]) -> Result<bool, QrError> {
        if self.alg != ALG_ES256 {
            return Err(QrError::UnsupportedAlgorithm(self.alg));
        }
        if self.signature.len() != SIGNATURE_LEN {
            return Ok(false);
        }
        let to_sign = sig_structure(&self.protected, external_aad, &self.payload);
        Ok(key.verify(&to_sign, &self.signature).is_ok())
    }
}

/// The headers we read from one bucket.
#[derive(Default)]
struct Headers {
    alg: Option<i64>,
    kid: Option<Vec<u8>>,
    crit: bool,
}

impl Headers {
    fn read(entries: &[(Value, Value)]) -> Result<Self, QrError> {
        let mut h = Headers::default();
        let mut seen_int: Vec<i128> = Vec::with_capacity(entries.len());
        let mut seen_text: Vec<&str> = Vec::new();
        for (label, value) in entries {
            let label = match label {
                Value::Integer(i) => i128::from(*i),
                Value::Text(t) => {
                    if seen_text.contains(&t.as_str()) {
                        return Err(QrError::BadCose("duplicate header label"));
                    }
                    seen_text.push(t);
                    continue;
                }
                _ => return Err(QrError::BadCose("header label type")),
            };
            if seen_int.contains(&label) {
                return Err(QrError::BadCose("duplicate header label"));
            }
            seen_int.push(label);
            match i64::try_from(label) {
                Ok(LABEL_ALG) => {
                    let alg = match value {
                        Value::Integer(i) => {
                            i64::try_from(i128::from(*i)).map_err(|_| QrError::BadCose("alg"))?
                        }
                        Value::Text(_) => {
                            return Err(QrError::BadCose("text alg names are not supported"))
                        }
                        _ => return Err(QrError::BadCose("alg type")),
                    };
                    h.alg = Some(alg);
                }
                Ok(LABEL_CRIT) => h.crit = true,
                Ok(LABEL_KID) => match value {
                    Value::Bytes(kid) => h.kid = Some(kid.clone()),
                    _ => return Err(QrError::BadCose("kid is not a bstr")),
                },
                _ => {}
            }
        }
        Ok(h)
    }
}

/// Parses one CBOR item, with bounded nesting, and refuses trailing bytes.
pub(crate) fn parse_cbor(bytes: &[u8]) -> Result<Value, QrError> {
    let mut reader = bytes;
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut reader, MAX_DEPTH)
        .map_err(|_| QrError::BadCbor)?;
    if !reader.is_empty() {
        return Err(QrError::BadCbor);
    }
    Ok(value)
}

/// `Sig_structure` for COSE_Sign1, in deterministic CBOR.
fn sig_structure(protected: &[u8], external_aad: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + external_aad.len() + payload.len() + 24);
    out.push(0x84);
    out.push(0x6a);
    out.extend_from_slice(b"Signature1");
    put_bytes(&mut out, protected);
    put_bytes(&mut out, external_aad);
    put_bytes(&mut out, payload);
    out
}

/// Writes a CBOR head with the shortest argument encoding.
pub(crate) fn put_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    match arg {
        0..=23 => out.push(m | arg as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, arg as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(arg as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(arg as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&arg.to_be_bytes());
        }
    }
}

/// Writes a CBOR byte string.
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_head(out, 2, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_parse_verify_round_trip() {
        let key = SigningKey::make().expect("key");
        let bytes = sign(&key, Some(b"kid-1"), b"payload", b"aad").expect("sign");
        assert_eq!(bytes[0], 0xd2);
        let s = Sign1::parse(&bytes).expect("parse");
        assert_eq!(s.alg(), ALG_ES256);
        assert_eq!(s.kid(), Some(&b"kid-1"[..]));
        assert_eq!(s.payload(), b"payload");
        assert_eq!(s.verify(&key.public_key(), b"aad"), Ok(true));
        assert_eq!(s.verify(&key.public_key(), b"other"), Ok(false));
        let other = SigningKey::make().expect("key").public_key();
        assert_eq!(s.verify(&other, b"aad"), Ok(false));
        // Untagged form (drop the tag byte) parses the same.
        assert_eq!(Sign1::parse(&bytes[1..]).expect("untagged"), s);
    }

    #[test]
    fn structural_errors() {
        let key = SigningKey::make().expect("key");
        let bytes = sign(&key, None, b"p", b"").expect("sign");
        assert!(matches!(
            Sign1::parse(&bytes[..bytes.len() - 1]),
            Err(QrError::BadCbor)
        ));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(Sign1::parse(&trailing), Err(QrError::BadCbor));
        let mut wrong_tag = bytes.clone();
        wrong_tag[0] = 0xd1; // tag 17 (COSE_Mac0)
        assert!(matches!(Sign1::parse(&wrong_tag), Err(QrError::BadCose(_))));
        // [h'', {}, h'', h''] has no alg.
        assert!(matches!(
            Sign1::parse(&[0x84, 0x40, 0xa0, 0x40, 0x40]),
            Err(QrError::BadCose(_))
        ));
        // alg in both buckets.
        assert!(matches!(
            Sign1::parse(&[0x84, 0x43, 0xa1, 0x01, 0x26, 0xa1, 0x01, 0x26, 0x40, 0x40]),
            Err(QrError::BadCose(_))
        ));
        // Duplicate label in the protected map.
        assert!(matches!(
            Sign1::parse(&[0x84, 0x45, 0xa2, 0x01, 0x26, 0x01, 0x26, 0xa0, 0x40, 0x40]),
            Err(QrError::BadCose(_))
        ));
        // Detached payload (nil).
        assert!(matches!(
            Sign1::parse(&[0x84, 0x43, 0xa1, 0x01, 0x26, 0xa0, 0xf6, 0x40]),
            Err(QrError::BadCose(_))
        ));
        // PS256 parses but does not verify.
        let ps =
            Sign1::parse(&[0x84, 0x44, 0xa1, 0x01, 0x38, 0x24, 0xa0, 0x40, 0x40]).expect("parses");
        assert_eq!(
            ps.verify(&key.public_key(), b""),
            Err(QrError::UnsupportedAlgorithm(-37))
        );
        assert_eq!(
            Sign1::parse(&vec![0u8; MAX_COSE_LEN + 1]),
            Err(QrError::TooLarge)
        );
    }
}
