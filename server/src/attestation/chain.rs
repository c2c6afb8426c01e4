// SPDX-License-Identifier: Apache-2.0
//! X.509 certificate chains of device attestations, leaf first.
//!
//! Guarantees of [`verify_chain`]: every certificate is strict DER (`x509-cert`), version 3,
//! with the same signature algorithm inside and outside its TBS part and no duplicated
//! extension; each one's issuer name equals the next one's subject; each signature verifies
//! (ring) under the next certificate's key; each certificate of the path is valid at the
//! verification time (a last certificate holding an anchor key is the anchor, whose dates do not
//! count);
//! issuers are CAs (basic constraints `cA`, `keyCertSign` when key usage is present, path
//! lengths honoured), except the leaf's issuer in Android's legacy factory chains (see
//! [`ChainRules`]); no critical extension is left unprocessed; and the last certificate either
//! carries a trust anchor's key or is signed by one. Trust anchors are public keys, so a root
//! re-issued for the same key (as Google's RSA root is) is trusted alike.

use x509_cert::der::asn1::{AnyRef, ObjectIdentifier};
use x509_cert::der::{Decode, Reader, SliceReader};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::ext::Extension;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::{Certificate, TbsCertificate, Version};

use super::anchors::TrustAnchors;
use super::key::{hex, AttestedKey};
use super::keydesc::KEY_DESCRIPTION_OID;
use super::AttestationError;

/// Most certificates in a chain (real Android chains have 3 to 5).
pub(crate) const MAX_CHAIN_LEN: usize = 8;
/// Largest certificate accepted, in bytes (real ones are under 2 KiB).
pub(crate) const MAX_CERT_LEN: usize = 16 * 1024;

const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");

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
    let last_is_anchor = anchors.contains(last.key());
    if !last_is_anchor {
        let signed_by_anchor = anchors.keys().iter().any(|k| {
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
        // A last certificate that carries an anchor key is the anchor itself, not part of the
        // path (RFC 5280 §6.1): its dates do not matter, the configured key is what is
        // trusted. Real chains carry Google's 2016 certificate of the RSA root key, which
        // expired on 2026-05-24 while the key stays Google's root (re-issued until 2042).
        let is_anchor = last_is_anchor && i == certs.len() - 1;
        if !is_anchor {
            cert.check_time(now)?;
        }
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

/// The KeyDescription extension value (DER) of a DER certificate, if it has one: the bytes
/// [`super::KeyDescription::parse`] reads.
pub fn certificate_key_description(der: &[u8]) -> Result<Option<Vec<u8>>, AttestationError> {
    Ok(Cert::parse(der)?
        .extension(&KEY_DESCRIPTION_OID)
        .map(<[u8]>::to_vec))
}

pub(crate) fn malformed(what: &str) -> AttestationError {
    AttestationError::Malformed(what.to_owned())
}
