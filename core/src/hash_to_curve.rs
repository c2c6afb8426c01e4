// SPDX-License-Identifier: Apache-2.0
//! RFC 9380 `hash_to_curve` for P-256, suite `P256_XMD:SHA-256_SSWU_RO_`: a curve point from
//! any bytes, whose discrete logarithm nobody knows.
//!
//! The iOS keystore needs such a point: its PRF is an ECDH between the Secure Enclave key and
//! a point derived from the input. Deriving a *scalar* from the input instead would be broken
//! (anyone could compute `scalar · public key` without the enclave), and a try-and-increment
//! search takes an input-dependent time. Here the map is the RFC's random-oracle construction
//! (`hash_to_field` with `expand_message_xmd`/SHA-256, simplified SWU on both field elements,
//! the sum; P-256's cofactor is 1), from the `p256` crate, checked against the RFC's
//! Appendix J.1.1 vectors below. The Swift shell calls it through the bindings and only does
//! the enclave ECDH and the HKDF.
//!
//! Guarantees: the output is always a valid uncompressed SEC1 point (65 bytes, `0x04 || x ||
//! y`), never the identity; the domain tag must be 1 to 255 bytes
//! ([`KeyError::InvalidEncoding`] otherwise), as RFC 9380 section 3.1 requires a non-empty tag
//! and this module does not implement the hashing of over-long tags.

use p256::elliptic_curve::hash2curve::{ExpandMsgXmd, GroupDigest};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::NistP256;
use sha2::Sha256;

use crate::keys::{KeyError, PUBLIC_KEY_LEN};

/// Longest domain separation tag accepted, in bytes (RFC 9380 section 5.3.3: longer tags
/// must be hashed first, which callers here never need).
pub const MAX_DOMAIN_TAG_LEN: usize = 255;

/// `hash_to_curve(message)` on P-256 with the suite `P256_XMD:SHA-256_SSWU_RO_` and the
/// domain separation tag `domain_tag` (1 to [`MAX_DOMAIN_TAG_LEN`] bytes), as an uncompressed
/// SEC1 point (`0x04 || x || y`).
pub fn hash_to_curve_p256(
    message: &[u8],
    domain_tag: &[u8],
) -> Result<[u8; PUBLIC_KEY_LEN], KeyError> {
    if domain_tag.is_empty() || domain_tag.len() > MAX_DOMAIN_TAG_LEN {
        return Err(KeyError::InvalidEncoding(
            "hash-to-curve domain tag must be 1 to 255 bytes",
        ));
    }
    let point = NistP256::hash_from_bytes::<ExpandMsgXmd<Sha256>>(&[message], &[domain_tag])
        .map_err(|_| KeyError::InvalidEncoding("hash-to-curve input"))?;
    let encoded = point.to_affine().to_encoded_point(false);
    encoded
        .as_bytes()
        .try_into()
        .map_err(|_| KeyError::InvalidEncoding("hash-to-curve gave the identity"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::PublicKey;

    const RFC_DST: &[u8] = b"QUUX-V01-CS02-with-P256_XMD:SHA-256_SSWU_RO_";

    /// RFC 9380 Appendix J.1.1: message, then P.x and P.y.
    fn rfc_vectors() -> Vec<(Vec<u8>, &'static str, &'static str)> {
        let q128 = [b"q128_".as_slice(), &[b'q'; 128]].concat();
        let a512 = [b"a512_".as_slice(), &[b'a'; 512]].concat();
        vec![
            (
                b"".to_vec(),
                "2c15230b26dbc6fc9a37051158c95b79656e17a1a920b11394ca91c44247d3e4",
                "8a7a74985cc5c776cdfe4b1f19884970453912e9d31528c060be9ab5c43e8415",
            ),
            (
                b"abc".to_vec(),
                "0bb8b87485551aa43ed54f009230450b492fead5f1cc91658775dac4a3388a0f",
                "5c41b3d0731a27a7b14bc0bf0ccded2d8751f83493404c84a88e71ffd424212e",
            ),
            (
                b"abcdef0123456789".to_vec(),
                "65038ac8f2b1def042a5df0b33b1f4eca6bff7cb0f9c6c1526811864e544ed80",
                "cad44d40a656e7aff4002a8de287abc8ae0482b5ae825822bb870d6df9b56ca3",
            ),
            (
                q128,
                "4be61ee205094282ba8a2042bcb48d88dfbb609301c49aa8b078533dc65a0b5d",
                "98f8df449a072c4721d241a3b1236d3caccba603f916ca680f4539d2bfb3c29e",
            ),
            (
                a512,
                "457ae2981f70ca85d8e24c308b14db22f3e3862c5ea0f652ca38b5e49cd64bc5",
                "ecb9f0eadc9aeed232dabc53235368c1394c78de05dd96893eefa62b0f4757dc",
            ),
        ]
    }

    #[test]
    fn matches_the_rfc_9380_vectors() {
        for (msg, x, y) in rfc_vectors() {
            let point = hash_to_curve_p256(&msg, RFC_DST).expect("hash");
            assert_eq!(point[0], 0x04);
            assert_eq!(
                hex::encode(&point[1..33]),
                x,
                "x for a {}-byte message",
                msg.len()
            );
            assert_eq!(
                hex::encode(&point[33..]),
                y,
                "y for a {}-byte message",
                msg.len()
            );
            // A valid public key for core's own strict parser too.
            PublicKey::from_sec1(&point).expect("on the curve");
        }
    }

    #[test]
    fn the_tag_separates_domains_and_must_be_1_to_255_bytes() {
        let a = hash_to_curve_p256(b"input", b"tag-a").expect("hash");
        let b = hash_to_curve_p256(b"input", b"tag-b").expect("hash");
        assert_ne!(a, b);
        assert_eq!(a, hash_to_curve_p256(b"input", b"tag-a").expect("hash"));
        assert!(hash_to_curve_p256(b"input", &[7u8; MAX_DOMAIN_TAG_LEN]).is_ok());
        for bad in [&[][..], &[7u8; MAX_DOMAIN_TAG_LEN + 1][..]] {
            assert!(matches!(
                hash_to_curve_p256(b"input", bad),
                Err(KeyError::InvalidEncoding(_))
            ));
        }
    }
}
