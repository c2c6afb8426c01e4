// SPDX-License-Identifier: Apache-2.0
//! Test certificates with `rcgen`: keys, parameters with a fixed validity, and chains in
//! which each certificate is signed by the next one (the last is self-signed).

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber,
};

use crate::sha256;

/// A fresh P-256 key.
pub fn p256() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key")
}

/// A fresh P-384 key.
pub fn p384() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("key")
}

/// Certificate parameters: name `cn`, valid 2025-01-01 to 2035-01-01, CA or not; the serial
/// is the first 8 bytes of SHA-256 of `cn`.
pub fn params(cn: &str, ca: Option<BasicConstraints>) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.not_before = rcgen::date_time_ymd(2025, 1, 1);
    p.not_after = rcgen::date_time_ymd(2035, 1, 1);
    p.serial_number = Some(SerialNumber::from_slice(&sha256(cn.as_bytes())[..8]));
    match ca {
        Some(bc) => {
            p.is_ca = IsCa::Ca(bc);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        None => {
            p.is_ca = IsCa::NoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
    }
    p
}

/// A time inside [`params`]' validity (2030-01-01).
pub const INSIDE: i64 = 1_893_456_000;

/// One certificate to build: its parameters and key; signed by the next one in a chain.
pub struct Link {
    /// The certificate's parameters.
    pub params: CertificateParams,
    /// Its key pair.
    pub key: KeyPair,
}

/// Builds a chain, leaf first: each certificate is signed by the next; the last one is
/// self-signed. Returns the DER certificates.
pub fn build_chain(links: Vec<Link>) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new(); links.len()];
    let mut issuer: Option<Issuer<'static, KeyPair>> = None;
    for (i, link) in links.into_iter().enumerate().rev() {
        let cert = match &issuer {
            None => link.params.self_signed(&link.key),
            Some(iss) => link.params.signed_by(&link.key, iss),
        }
        .expect("sign");
        out[i] = cert.der().to_vec();
        issuer = Some(Issuer::new(link.params, link.key));
    }
    out
}
