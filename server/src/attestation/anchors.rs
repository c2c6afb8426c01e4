// SPDX-License-Identifier: Apache-2.0
//! Trust anchors (the public keys a chain must end at) and PEM input.
//!
//! Guarantees: anchors are keys, not certificates, so a root re-issued for the same key is
//! trusted alike; Android's software attestation root is refused as an anchor; PEM text is
//! read block by block (RFC 7468, strict base64), and a block of another kind is an error.

use ring::digest;

use super::chain::{malformed, Cert};
use super::{AttestationError, AttestedKey};

/// SHA-256 of the SubjectPublicKeyInfo of Android's software attestation root (EC P-256,
/// "Android Keystore Software Attestation Root", AOSP `system/keymaster`). Its private key is
/// public, so a chain ending there proves nothing; [`TrustAnchors`] refuses it.
const SOFTWARE_ROOT_SPKI_SHA256: [[u8; 32]; 1] = [[
    0xd5, 0x10, 0x0c, 0x79, 0x42, 0xef, 0x2e, 0x83, 0x10, 0xdc, 0x30, 0xef, 0x82, 0x72, 0x96, 0x80,
    0xcf, 0x48, 0xd6, 0x90, 0x73, 0x5c, 0x3f, 0x68, 0x17, 0x9a, 0x33, 0xc7, 0xc3, 0x70, 0xf2, 0x86,
]];

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
        self.push(cert.key().clone())
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
    pub(crate) fn contains(&self, key: &AttestedKey) -> bool {
        self.keys
            .iter()
            .any(|k| k.algorithm == key.algorithm && k.key == key.key)
    }

    /// The anchor keys.
    pub(crate) fn keys(&self) -> &[AttestedKey] {
        &self.keys
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_input_is_checked() {
        let refused = |text: &str| {
            matches!(
                TrustAnchors::from_pem(text),
                Err(AttestationError::Malformed(_))
            )
        };
        assert!(refused(""), "no block");
        assert!(
            refused("-----BEGIN CERTIFICATE-----\nAAAA\n"),
            "no END line"
        );
        assert!(
            refused("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
            "not base64"
        );
        assert!(
            refused("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            "other kind"
        );
        assert!(
            refused("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            "not a certificate"
        );
        assert!(matches!(
            TrustAnchors::from_roots_json("{}"),
            Err(AttestationError::Malformed(_))
        ));
        assert!(matches!(
            pem_certificates("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
            Err(AttestationError::Malformed(_))
        ));
        assert_eq!(pem_certificates("no PEM here"), Ok(Vec::new()));
        assert!(TrustAnchors::new().is_empty());
    }
}
