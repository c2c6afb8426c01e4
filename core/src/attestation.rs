// SPDX-License-Identifier: Apache-2.0
//! What binds a device's hardware key to one enrolment (ADR 0001): the attestation challenge
//! and the hardware key's alias.
//!
//! Guarantees:
//! - [`attestation_challenge`] is the one definition of the challenge both sides compute:
//!   `SHA-256("vistalid/attestation/v1" || nonce || SEC1(account public key))`, with the
//!   enrolment nonce's UTF-8 text as sent and the uncompressed 65-byte point of the account
//!   key. An attestation made for one enrolment (or one account key) therefore fails for any
//!   other, and the server needs no state beyond the nonce it issued.
//! - [`make_hardware_alias`] draws `hw-` and 16 random lower-case hex digits (64 bits), so two
//!   accounts on one device never share a hardware key; [`is_hardware_alias`] accepts exactly
//!   that shape, and keystores refuse any other alias they are asked to use.

use ring::digest::{Context, SHA256};
use ring::rand::{SecureRandom, SystemRandom};

use crate::keys::{KeyError, PublicKey};

/// Domain separation prefix of [`attestation_challenge`].
pub const ATTESTATION_CONTEXT: &[u8] = b"vistalid/attestation/v1";

/// Prefix of every hardware key alias.
pub const HARDWARE_ALIAS_PREFIX: &str = "hw-";

/// Number of hex digits after [`HARDWARE_ALIAS_PREFIX`].
const ALIAS_HEX_DIGITS: usize = 16;

/// The attestation challenge of an enrolment: SHA-256 of [`ATTESTATION_CONTEXT`], the
/// enrolment `nonce` (its text, as the server issued it) and the uncompressed SEC1 point of
/// the new account key. Android passes it to `setAttestationChallenge`; Apple passes it as the
/// `clientDataHash` of `attestKey`.
pub fn attestation_challenge(nonce: &str, account_key: &PublicKey) -> [u8; 32] {
    let mut ctx = Context::new(&SHA256);
    ctx.update(ATTESTATION_CONTEXT);
    ctx.update(nonce.as_bytes());
    ctx.update(account_key.as_sec1());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Draws a new hardware key alias: `hw-` and 16 random lower-case hex digits.
pub fn make_hardware_alias() -> Result<String, KeyError> {
    let mut bytes = [0u8; ALIAS_HEX_DIGITS / 2];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| KeyError::Random)?;
    let mut alias = String::with_capacity(HARDWARE_ALIAS_PREFIX.len() + ALIAS_HEX_DIGITS);
    alias.push_str(HARDWARE_ALIAS_PREFIX);
    for b in bytes {
        alias.push_str(&format!("{b:02x}"));
    }
    Ok(alias)
}

/// Whether `alias` has the shape [`make_hardware_alias`] draws (keystores refuse others).
pub fn is_hardware_alias(alias: &str) -> bool {
    alias
        .strip_prefix(HARDWARE_ALIAS_PREFIX)
        .is_some_and(|hex| {
            hex.len() == ALIAS_HEX_DIGITS
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    #[test]
    fn challenge_is_sha256_of_context_nonce_and_point() {
        let key = SigningKey::make().expect("key").public_key();
        let mut input = b"vistalid/attestation/v1".to_vec();
        input.extend_from_slice(b"nonce-text");
        input.extend_from_slice(key.as_sec1());
        assert_eq!(input.len(), 23 + 10 + 65);
        let expected = ring::digest::digest(&SHA256, &input);
        assert_eq!(
            attestation_challenge("nonce-text", &key).as_slice(),
            expected.as_ref()
        );
    }

    #[test]
    fn challenge_changes_with_the_nonce_and_the_key() {
        let a = SigningKey::make().expect("key").public_key();
        let b = SigningKey::make().expect("key").public_key();
        assert_ne!(
            attestation_challenge("n1", &a),
            attestation_challenge("n2", &a)
        );
        assert_ne!(
            attestation_challenge("n1", &a),
            attestation_challenge("n1", &b)
        );
    }

    #[test]
    fn aliases_have_the_shape_and_differ() {
        let a = make_hardware_alias().expect("alias");
        let b = make_hardware_alias().expect("alias");
        assert_ne!(a, b);
        assert!(is_hardware_alias(&a), "{a}");
        assert_eq!(a.len(), 19);
        for bad in [
            "",
            "hw-",
            "hw-0123456789abcde",
            "hw-0123456789abcdef0",
            "hw-0123456789ABCDEF",
            "xx-0123456789abcdef",
            "hw-0123456789abcdeg",
            "hw-012345678/abcdef",
        ] {
            assert!(!is_hardware_alias(bad), "{bad}");
        }
        assert!(is_hardware_alias("hw-0123456789abcdef"));
    }
}
