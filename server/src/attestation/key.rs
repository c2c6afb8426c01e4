// SPDX-License-Identifier: Apache-2.0
//! Public keys of attestation certificates, and the signatures they check (ring only).
//!
//! Guarantees: a key is RSA (parameters NULL) or EC on P-256/P-384 with an uncompressed point;
//! certificate signatures are checked only for the algorithm pairs real chains use (RSA PKCS#1
//! v1.5 with SHA-256/384/512, 2048 to 8192 bits; ECDSA P-256/P-384 with SHA-256/384), with the
//! algorithm's parameters as the RFCs require; anything else is refused, never guessed.

use ring::digest;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::Decode;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::chain::malformed;
use super::AttestationError;

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

/// The algorithm of a public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSA (signatures: PKCS#1 v1.5).
    Rsa,
    /// ECDSA on NIST P-256.
    EcP256,
    /// ECDSA on NIST P-384.
    EcP384,
}

/// A public key taken from a verified certificate: the attested device key of a verdict, or a
/// trust anchor.
#[derive(Clone, PartialEq, Eq)]
pub struct AttestedKey {
    pub(crate) algorithm: KeyAlgorithm,
    /// RSA: the PKCS#1 `RSAPublicKey` DER; EC: the SEC1 uncompressed point.
    pub(crate) key: Vec<u8>,
    spki_der: Vec<u8>,
}

impl std::fmt::Debug for AttestedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttestedKey")
            .field("algorithm", &self.algorithm)
            .field(
                "spki_sha256",
                &hex(&digest::digest(&digest::SHA256, &self.spki_der).as_ref()[..8]),
            )
            .finish()
    }
}

impl AttestedKey {
    /// Reads a DER SubjectPublicKeyInfo (RSA, or EC on P-256/P-384 with an uncompressed point).
    pub fn from_spki_der(spki_der: &[u8]) -> Result<Self, AttestationError> {
        let spki = SubjectPublicKeyInfoOwned::from_der(spki_der)?;
        Self::from_spki(&spki, spki_der.to_vec())
    }

    pub(crate) fn from_spki(
        spki: &SubjectPublicKeyInfoOwned,
        spki_der: Vec<u8>,
    ) -> Result<Self, AttestationError> {
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| malformed("public key bit string has unused bits"))?;
        let algorithm = match spki.algorithm.oid {
            OID_RSA => {
                // RFC 3279: parameters MUST be NULL.
                match &spki.algorithm.parameters {
                    Some(p) if p.is_null() => {}
                    _ => return Err(malformed("RSA key parameters are not NULL")),
                }
                KeyAlgorithm::Rsa
            }
            OID_EC => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .ok_or_else(|| malformed("EC key without a named curve"))?
                    .decode_as::<ObjectIdentifier>()?;
                let (algorithm, len) = match curve {
                    OID_P256 => (KeyAlgorithm::EcP256, 65),
                    OID_P384 => (KeyAlgorithm::EcP384, 97),
                    _ => return Err(AttestationError::ChainInvalid("unsupported EC curve")),
                };
                if bits.len() != len || bits[0] != 0x04 {
                    return Err(malformed("EC public key is not an uncompressed point"));
                }
                algorithm
            }
            _ => {
                return Err(AttestationError::ChainInvalid(
                    "unsupported public key algorithm",
                ))
            }
        };
        Ok(Self {
            algorithm,
            key: bits.to_vec(),
            spki_der,
        })
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The raw key: SEC1 uncompressed point (EC) or PKCS#1 `RSAPublicKey` DER (RSA).
    pub fn public_key_bytes(&self) -> &[u8] {
        &self.key
    }

    /// The DER SubjectPublicKeyInfo, as the certificate carried it.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Checks a signature by this key over `message`, as Android Keystore and App Attest make
    /// them: ECDSA with SHA-256 (P-256) or SHA-384 (P-384), DER-encoded; RSA PKCS#1 v1.5 with
    /// SHA-256.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), AttestationError> {
        let alg: &'static dyn VerificationAlgorithm = match self.algorithm {
            KeyAlgorithm::EcP256 => &signature::ECDSA_P256_SHA256_ASN1,
            KeyAlgorithm::EcP384 => &signature::ECDSA_P384_SHA384_ASN1,
            KeyAlgorithm::Rsa => &signature::RSA_PKCS1_2048_8192_SHA256,
        };
        UnparsedPublicKey::new(alg, &self.key)
            .verify(message, signature)
            .map_err(|_| AttestationError::Signature)
    }

    /// Checks a certificate signature made with `sig_alg` by this key.
    pub(crate) fn verify_certificate_signature(
        &self,
        sig_alg: &AlgorithmIdentifierOwned,
        tbs: &[u8],
        signature: &[u8],
    ) -> Result<(), AttestationError> {
        let rsa_params_ok = || match &sig_alg.parameters {
            None => true,
            Some(p) => p.is_null(),
        };
        let alg: &'static dyn VerificationAlgorithm = match (sig_alg.oid, self.algorithm) {
            (OID_RSA_SHA256, KeyAlgorithm::Rsa) if rsa_params_ok() => {
                &signature::RSA_PKCS1_2048_8192_SHA256
            }
            (OID_RSA_SHA384, KeyAlgorithm::Rsa) if rsa_params_ok() => {
                &signature::RSA_PKCS1_2048_8192_SHA384
            }
            (OID_RSA_SHA512, KeyAlgorithm::Rsa) if rsa_params_ok() => {
                &signature::RSA_PKCS1_2048_8192_SHA512
            }
            (OID_ECDSA_SHA256, KeyAlgorithm::EcP256) if sig_alg.parameters.is_none() => {
                &signature::ECDSA_P256_SHA256_ASN1
            }
            (OID_ECDSA_SHA384, KeyAlgorithm::EcP256) if sig_alg.parameters.is_none() => {
                &signature::ECDSA_P256_SHA384_ASN1
            }
            (OID_ECDSA_SHA256, KeyAlgorithm::EcP384) if sig_alg.parameters.is_none() => {
                &signature::ECDSA_P384_SHA256_ASN1
            }
            (OID_ECDSA_SHA384, KeyAlgorithm::EcP384) if sig_alg.parameters.is_none() => {
                &signature::ECDSA_P384_SHA384_ASN1
            }
            _ => {
                return Err(AttestationError::ChainInvalid(
                    "unsupported signature algorithm for the issuer's key",
                ))
            }
        };
        UnparsedPublicKey::new(alg, &self.key)
            .verify(tbs, signature)
            .map_err(|_| AttestationError::ChainInvalid("certificate signature does not verify"))
    }
}

/// Lower-case hexadecimal of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
