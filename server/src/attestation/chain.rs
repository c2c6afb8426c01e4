// SPDX-License-Identifier: Apache-2.0
//! X.509 certificate chains of device attestations, leaf first.
//!
//! Guarantees of [`verify_chain`]: every certificate is strict DER (`x509-cert`), version 3,
//! with the same signature algorithm inside and outside its TBS part and no duplicated
//! extension; each one's issuer name equals the next one's subject; each signature verifies
//! (ring) under the next certificate's key; each certificate is valid at the verification time;
//! issuers are CAs (basic constraints `cA`, `keyCertSign` when key usage is present, path
//! lengths honoured), except the leaf's issuer in Android's legacy factory chains (see
//! [`ChainRules`]); no critical extension is left unprocessed; and the last certificate either
//! carries a trust anchor's key or is signed by one. Trust anchors are public keys, so a root
//! re-issued for the same key (as Google's RSA root is) is trusted alike.

use ring::digest;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_cert::der::asn1::{AnyRef, ObjectIdentifier};
use x509_cert::der::{Decode, Reader, SliceReader};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::ext::Extension;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::{Certificate, TbsCertificate, Version};

use super::keydesc::KEY_DESCRIPTION_OID;
use super::AttestationError;

/// Most certificates in a chain (real Android chains have 3 to 5).
pub(crate) const MAX_CHAIN_LEN: usize = 8;
/// Largest certificate accepted, in bytes (real ones are under 2 KiB).
pub(crate) const MAX_CERT_LEN: usize = 16 * 1024;

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");

/// SHA-256 of the SubjectPublicKeyInfo of Android's software attestation root (EC P-256,
/// "Android Keystore Software Attestation Root", AOSP `system/keymaster`). Its private key is
/// public, so a chain ending there proves nothing; [`TrustAnchors`] refuses it.
const SOFTWARE_ROOT_SPKI_SHA256: [[u8; 32]; 1] = [[
    0xd5, 0x10, 0x0c, 0x79, 0x42, 0xef, 0x2e, 0x83, 0x10, 0xdc, 0x30, 0xef, 0x82, 0x72, 0x96, 0x80,
    0xcf, 0x48, 0xd6, 0x90, 0x73, 0x5c, 0x3f, 0x68, 0x17, 0x9a, 0x33, 0xc7, 0xc3, 0x70, 0xf2, 0x86,
]];

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
    algorithm: KeyAlgorithm,
    /// RSA: the PKCS#1 `RSAPublicKey` DER; EC: the SEC1 uncompressed point.
    key: Vec<u8>,
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

    fn from_spki(
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
    fn verify_certificate_signature(
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

/// A parsed certificate and the exact bytes its signature covers.
pub(crate) struct Cert {
    tbs_der: Vec<u8>,
    tbs: TbsCertificate,
    sig_alg: AlgorithmIdentifierOwned,
    signature: Vec<u8>,
    key: AttestedKey,
}

impl Cert {
    /// Parses one DER certificate (strict: no trailing bytes).
    pub(crate) fn parse(der: &[u8]) -> Result<Self, AttestationError> {
        if der.len() > MAX_CERT_LEN {
            return Err(malformed("certificate too large"));
        }
        let cert = Certificate::from_der(der)?;
        // The signed bytes exactly as received (re-encoding could differ from what was signed).
        let outer = AnyRef::from_der(der)?;
        let tbs_der = SliceReader::new(outer.value())?.tlv_bytes()?.to_vec();
        let tbs = cert.tbs_certificate().clone();
        if tbs.version() != Version::V3 {
            return Err(malformed("certificate is not X.509 version 3"));
        }
        if tbs.signature() != cert.signature_algorithm() {
            return Err(AttestationError::ChainInvalid(
                "inner and outer signature algorithms differ",
            ));
        }
        let signature = cert
            .signature()
            .as_bytes()
            .ok_or_else(|| malformed("signature bit string has unused bits"))?
            .to_vec();
        let spki = tbs.subject_public_key_info();
        let key = AttestedKey::from_spki(spki, x509_cert::der::Encode::to_der(spki)?)?;
        let mut seen: Vec<&ObjectIdentifier> = Vec::new();
        for ext in tbs.extensions().map(|e| e.as_slice()).unwrap_or_default() {
            if seen.contains(&&ext.extn_id) {
                return Err(AttestationError::ChainInvalid(
                    "duplicated certificate extension",
                ));
            }
            seen.push(&ext.extn_id);
        }
        Ok(Self {
            tbs_der,
            sig_alg: cert.signature_algorithm().clone(),
            signature,
            tbs,
            key,
        })
    }

    /// The certificate's public key.
    pub(crate) fn key(&self) -> &AttestedKey {
        &self.key
    }

    /// The serial number in lower-case hexadecimal without leading zeros (Google's revocation
    /// list format).
    pub(crate) fn serial_hex(&self) -> String {
        let hex = hex(self.tbs.serial_number().as_bytes());
        let trimmed = hex.trim_start_matches('0');
        if trimmed.is_empty() {
            "0".to_owned()
        } else {
            trimmed.to_owned()
        }
    }

    /// The value of the extension `oid`, if present.
    pub(crate) fn extension(&self, oid: &ObjectIdentifier) -> Option<&[u8]> {
        self.extensions()
            .iter()
            .find(|e| &e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes())
    }

    fn extensions(&self) -> &[Extension] {
        self.tbs
            .extensions()
            .map(|e| e.as_slice())
            .unwrap_or_default()
    }

    fn basic_constraints(&self) -> Result<Option<BasicConstraints>, AttestationError> {
        self.extension(&OID_BASIC_CONSTRAINTS)
            .map(BasicConstraints::from_der)
            .transpose()
            .map_err(Into::into)
    }

    fn key_usage(&self) -> Result<Option<KeyUsage>, AttestationError> {
        self.extension(&OID_KEY_USAGE)
            .map(KeyUsage::from_der)
            .transpose()
            .map_err(Into::into)
    }

    fn check_time(&self, now: i64) -> Result<(), AttestationError> {
        let validity = self.tbs.validity();
        let secs = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        if now < secs(validity.not_before) {
            return Err(AttestationError::NotYetValid);
        }
        if now > secs(validity.not_after) {
            return Err(AttestationError::Expired);
        }
        Ok(())
    }
}

/// Parses a DER chain, leaf first.
pub(crate) fn parse_chain(chain_der: &[Vec<u8>]) -> Result<Vec<Cert>, AttestationError> {
    if chain_der.is_empty() {
        return Err(malformed("empty certificate chain"));
    }
    if chain_der.len() > MAX_CHAIN_LEN {
        return Err(AttestationError::ChainInvalid("certificate chain too long"));
    }
    chain_der.iter().map(|der| Cert::parse(der)).collect()
}

/// Platform differences in chain rules.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChainRules {
    /// Android: the certificate of a factory-provisioned attestation key (the leaf's issuer)
    /// may be an end-entity certificate (`cA` false, `digitalSignature`), as older devices
    /// issue them (Sony Xperia 10 III sample). Google's own verifier checks no CA bits at all;
    /// every certificate above that one must still be a CA.
    pub(crate) leaf_issuer_may_be_end_entity: bool,
}

/// Verifies a parsed chain (leaf first) against `anchors` at `now` (Unix seconds). See the
/// module documentation for what is checked.
pub(crate) fn verify_chain(
    certs: &[Cert],
    anchors: &TrustAnchors,
    now: i64,
    rules: ChainRules,
) -> Result<(), AttestationError> {
    let last = certs
        .last()
        .ok_or_else(|| malformed("empty certificate chain"))?;
    // Trust first: the last certificate holds an anchor key, or an anchor key signed it.
    if !anchors.contains(last.key()) {
        let signed_by_anchor = anchors.keys.iter().any(|k| {
            k.verify_certificate_signature(&last.sig_alg, &last.tbs_der, &last.signature)
                .is_ok()
        });
        if !signed_by_anchor {
            return Err(AttestationError::UntrustedRoot);
        }
    }
    for (i, pair) in certs.windows(2).enumerate() {
        let (child, issuer) = (&pair[0], &pair[1]);
        if child.tbs.issuer() != issuer.tbs.subject() {
            return Err(AttestationError::ChainInvalid(
                "issuer name does not match the next certificate's subject",
            ));
        }
        check_issuer(issuer, i + 1, rules)?;
        issuer.key.verify_certificate_signature(
            &child.sig_alg,
            &child.tbs_der,
            &child.signature,
        )?;
    }
    for (i, cert) in certs.iter().enumerate() {
        cert.check_time(now)?;
        for ext in cert.extensions() {
            let known = ext.extn_id == OID_BASIC_CONSTRAINTS || ext.extn_id == OID_KEY_USAGE;
            if ext.critical && !known {
                return Err(AttestationError::ChainInvalid(
                    "unprocessed critical extension",
                ));
            }
        }
        if i > 0 && cert.extension(&KEY_DESCRIPTION_OID).is_some() {
            return Err(AttestationError::ChainInvalid(
                "attestation extension outside the leaf",
            ));
        }
    }
    Ok(())
}

/// Checks that the certificate at `index` (> 0) may issue the one below it.
fn check_issuer(issuer: &Cert, index: usize, rules: ChainRules) -> Result<(), AttestationError> {
    let bc = issuer.basic_constraints()?;
    let ku = issuer.key_usage()?;
    let is_ca = bc.as_ref().is_some_and(|b| b.ca);
    if !is_ca {
        let end_entity_signer = rules.leaf_issuer_may_be_end_entity
            && index == 1
            && ku.as_ref().is_some_and(|k| k.digital_signature());
        if end_entity_signer {
            return Ok(());
        }
        return Err(AttestationError::ChainInvalid("issuer is not a CA"));
    }
    if ku.is_some_and(|k| !k.key_cert_sign()) {
        return Err(AttestationError::ChainInvalid(
            "issuer key usage lacks keyCertSign",
        ));
    }
    // Path length: the number of intermediate certificates below this one (leaf excluded).
    if let Some(max) = bc.and_then(|b| b.path_len_constraint) {
        if index - 1 > usize::from(max) {
            return Err(AttestationError::ChainInvalid(
                "path length constraint exceeded",
            ));
        }
    }
    Ok(())
}

/// The public keys a chain must end at: Google's attestation roots for Android, Apple's App
/// Attestation Root CA for App Attest. Matched by public key, not certificate bytes.
#[derive(Clone, Debug, Default)]
pub struct TrustAnchors {
    keys: Vec<AttestedKey>,
}

impl TrustAnchors {
    /// No anchors (every chain is then untrusted).
    pub fn new() -> Self {
        Self::default()
    }

    /// Anchors from PEM text holding `CERTIFICATE` and/or `PUBLIC KEY` blocks.
    pub fn from_pem(pem: &str) -> Result<Self, AttestationError> {
        let mut anchors = Self::new();
        for (label, der) in pem_blocks(pem)? {
            match label.as_str() {
                "CERTIFICATE" => anchors.add_certificate_der(&der)?,
                "PUBLIC KEY" => anchors.add_spki_der(&der)?,
                _ => {
                    return Err(malformed(
                        "PEM block is neither a certificate nor a public key",
                    ))
                }
            }
        }
        if anchors.keys.is_empty() {
            return Err(malformed("no trust anchor in PEM text"));
        }
        Ok(anchors)
    }

    /// Anchors from Google's `roots.json` format: a JSON array of PEM certificates.
    pub fn from_roots_json(json: &str) -> Result<Self, AttestationError> {
        let pems: Vec<String> = serde_json::from_str(json)
            .map_err(|_| malformed("roots JSON is not an array of PEM strings"))?;
        Self::from_pem(&pems.join("\n"))
    }

    /// Adds the key of a DER certificate (only its key is kept).
    pub fn add_certificate_der(&mut self, der: &[u8]) -> Result<(), AttestationError> {
        let cert = Cert::parse(der)?;
        self.push(cert.key)
    }

    /// Adds a DER SubjectPublicKeyInfo.
    pub fn add_spki_der(&mut self, spki_der: &[u8]) -> Result<(), AttestationError> {
        self.push(AttestedKey::from_spki_der(spki_der)?)
    }

    fn push(&mut self, key: AttestedKey) -> Result<(), AttestationError> {
        let fingerprint = digest::digest(&digest::SHA256, key.spki_der());
        if SOFTWARE_ROOT_SPKI_SHA256
            .iter()
            .any(|f| f == fingerprint.as_ref())
        {
            return Err(AttestationError::BadTrustAnchor(
                "Android software attestation root",
            ));
        }
        if !self.contains(&key) {
            self.keys.push(key);
        }
        Ok(())
    }

    /// Whether `key` is one of the anchors (same algorithm and key bytes).
    fn contains(&self, key: &AttestedKey) -> bool {
        self.keys
            .iter()
            .any(|k| k.algorithm == key.algorithm && k.key == key.key)
    }

    /// Number of distinct anchor keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no anchor.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The DER certificates of PEM text, in order (`CERTIFICATE` blocks only).
pub fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, AttestationError> {
    pem_blocks(pem)?
        .into_iter()
        .map(|(label, der)| {
            if label == "CERTIFICATE" {
                Ok(der)
            } else {
                Err(malformed("PEM block is not a certificate"))
            }
        })
        .collect()
}

/// The KeyDescription extension value (DER) of a DER certificate, if it has one: the bytes
/// [`super::KeyDescription::parse`] reads.
pub fn certificate_key_description(der: &[u8]) -> Result<Option<Vec<u8>>, AttestationError> {
    Ok(Cert::parse(der)?
        .extension(&KEY_DESCRIPTION_OID)
        .map(<[u8]>::to_vec))
}

fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, AttestationError> {
    const BEGIN: &str = "-----BEGIN ";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let block = &rest[start..];
        let label_end = block[BEGIN.len()..]
            .find("-----")
            .ok_or_else(|| malformed("PEM header"))?;
        let label = &block[BEGIN.len()..BEGIN.len() + label_end];
        let end_marker = format!("-----END {label}-----");
        let end = block
            .find(&end_marker)
            .ok_or_else(|| malformed("PEM block without its END line"))?;
        let block_text = &block[..end + end_marker.len()];
        let (label, der) = x509_cert::der::pem::decode_vec(block_text.as_bytes())
            .map_err(|_| malformed("PEM block is not valid base64"))?;
        out.push((label.to_owned(), der));
        rest = &block[end + end_marker.len()..];
    }
    Ok(out)
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

pub(crate) fn malformed(what: &str) -> AttestationError {
    AttestationError::Malformed(what.to_owned())
}
