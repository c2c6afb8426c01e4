// SPDX-License-Identifier: Apache-2.0
//! The two signed assertions the push providers take: FCM's OAuth 2.0 JWT bearer assertion
//! (RFC 7523, RS256 with the service account's key) and APNs' provider token (ES256 with the
//! team's key), as compact JWS; and the PEM-to-DER reading of their key files.
//!
//! Guarantees: the keys are parsed once (a key of the wrong kind is an error naming the
//! file's role); signing uses ring (constant-time, fixed-size ES256 signatures as JOSE
//! wants); no key material appears in an error or a `Debug`.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64URL};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use zeroize::Zeroizing;

/// Why a key or a signature failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JwtError {
    /// The PEM text holds no `PRIVATE KEY` block, or its base64 is broken.
    #[error("{0}: not a PEM PKCS#8 private key")]
    Pem(&'static str),
    /// The key is not of the expected kind (RSA for FCM, P-256 for APNs) or is malformed.
    #[error("{0}: the key is not of the expected kind")]
    Key(&'static str),
    /// Signing failed (random generator).
    #[error("signing failed")]
    Sign,
}

/// The DER of the first `-----BEGIN PRIVATE KEY-----` block of `pem`.
pub(crate) fn pem_pkcs8(pem: &str, what: &'static str) -> Result<Zeroizing<Vec<u8>>, JwtError> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let start = pem.find(BEGIN).ok_or(JwtError::Pem(what))? + BEGIN.len();
    let end = pem[start..].find(END).ok_or(JwtError::Pem(what))? + start;
    let b64: Zeroizing<String> = Zeroizing::new(
        pem[start..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect(),
    );
    STANDARD
        .decode(b64.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| JwtError::Pem(what))
}

fn compact(header: &serde_json::Value, claims: &serde_json::Value) -> String {
    format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    )
}

/// An RS256 signer (FCM's service-account key).
pub(crate) struct Rs256 {
    key: RsaKeyPair,
}

impl Rs256 {
    /// Parses a PKCS#8 RSA key.
    pub(crate) fn from_pkcs8(der: &[u8], what: &'static str) -> Result<Self, JwtError> {
        RsaKeyPair::from_pkcs8(der)
            .map(|key| Self { key })
            .map_err(|_| JwtError::Key(what))
    }

    /// The compact JWS of `claims` under `header`.
    pub(crate) fn sign(
        &self,
        header: &serde_json::Value,
        claims: &serde_json::Value,
    ) -> Result<String, JwtError> {
        let input = compact(header, claims);
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| JwtError::Sign)?;
        Ok(format!("{input}.{}", B64URL.encode(sig)))
    }
}

/// An ES256 signer (APNs' team key, the `.p8` file).
pub(crate) struct Es256 {
    key: EcdsaKeyPair,
}

impl Es256 {
    /// Parses a PKCS#8 P-256 key.
    pub(crate) fn from_pkcs8(der: &[u8], what: &'static str) -> Result<Self, JwtError> {
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
            .map(|key| Self { key })
            .map_err(|_| JwtError::Key(what))
    }

    /// The compact JWS of `claims` under `header` (signature `r || s`, 64 bytes).
    pub(crate) fn sign(
        &self,
        header: &serde_json::Value,
        claims: &serde_json::Value,
    ) -> Result<String, JwtError> {
        let input = compact(header, claims);
        let sig = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| JwtError::Sign)?;
        Ok(format!("{input}.{}", B64URL.encode(sig.as_ref())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{KeyPair as _, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    #[test]
    fn es256_verifies_and_pem_reads() {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .expect("key");
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(pkcs8.as_ref())
        );
        let der = pem_pkcs8(&pem, "test key").expect("pem");
        assert_eq!(der.as_slice(), pkcs8.as_ref());
        let signer = Es256::from_pkcs8(&der, "test key").expect("key");
        let jws = signer
            .sign(
                &serde_json::json!({"alg": "ES256"}),
                &serde_json::json!({"iss": "T"}),
            )
            .expect("sign");
        let (input, sig) = jws.rsplit_once('.').expect("three parts");
        let public =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &SystemRandom::new())
                .expect("key")
                .public_key()
                .as_ref()
                .to_vec();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public)
            .verify(input.as_bytes(), &B64URL.decode(sig).expect("b64"))
            .expect("verifies");
        assert_eq!(pem_pkcs8("nothing", "k"), Err(JwtError::Pem("k")));
        assert!(
            Rs256::from_pkcs8(&der, "k").is_err(),
            "a P-256 key is not RSA"
        );
    }
}
