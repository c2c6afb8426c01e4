// SPDX-License-Identifier: Apache-2.0
//! Time-ordered identifiers and tokens, and the keys tokens are stored under.
//!
//! A database keeps each table's rows in a B-tree ordered by its key. Random keys spread a
//! day's inserts over every page of a large index, so once the index no longer fits in
//! memory each insert reads and writes a page of its own; keys that begin with their creation
//! time put a day's inserts (and the lookups of the next minutes) on the last pages, which
//! stay in memory however large the table grows.
//!
//! Guarantees:
//! - [`make_ordered_token`] is 12 lowercase hex digits of the creation time (milliseconds
//!   since the Unix epoch, from the wall clock) followed by 256 bits from the OS CSPRNG as
//!   base64url: [`TOKEN_LEN`] characters. The time prefix is public (a token says when it was
//!   made, as a signed token's `iat` does); the secret is the 256 random bits.
//! - [`make_ordered_id`] is the same prefix followed by 128 random bits: [`ID_LEN`]
//!   characters, for identifiers that are not secrets.
//! - Both sort as text in the order they were made (to the millisecond; the wall clock may
//!   step back, which only costs locality).
//! - [`token_key`] of a token made by [`make_ordered_token`] is the 6 bytes of its time
//!   prefix followed by the first 26 bytes of the SHA-256 of the whole token (208 bits: no
//!   collision or preimage within reach); of any other text, the plain SHA-256, which is how
//!   tokens were stored before, so tokens issued before this scheme are still found. The two
//!   kinds cannot be confused: they differ in length.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use zeroize::Zeroizing;

use crate::secrets::{self, SecretsError};

/// Hex digits of the time prefix (48 bits of milliseconds: until the year 10889).
const PREFIX_LEN: usize = 12;
/// Bytes of the time prefix in a [`token_key`].
const PREFIX_BYTES: usize = PREFIX_LEN / 2;
/// Length of a [`make_ordered_token`] token: the prefix and 43 base64url characters.
pub(crate) const TOKEN_LEN: usize = PREFIX_LEN + 43;
/// Length of a [`make_ordered_id`] identifier: the prefix and 22 base64url characters.
pub(crate) const ID_LEN: usize = PREFIX_LEN + 22;

/// Milliseconds since the Unix epoch on the wall clock, in 48 bits (0 before the epoch).
fn now_ms() -> u64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    u64::try_from(ms).unwrap_or(u64::MAX) & 0xffff_ffff_ffff
}

/// The prefix and `N` random bytes as base64url, in memory that is wiped when dropped.
fn make<const N: usize>() -> Result<Zeroizing<String>, SecretsError> {
    let mut random = Zeroizing::new([0u8; N]);
    secrets::fill(random.as_mut())?;
    let mut out = Zeroizing::new(String::with_capacity(PREFIX_LEN + N.div_ceil(3) * 4));
    out.push_str(&format!("{:012x}", now_ms()));
    B64URL.encode_string(random.as_ref(), &mut out);
    Ok(out)
}

/// A secret token that begins with its creation time: codes, access and refresh tokens,
/// session secrets, request and challenge ids.
pub(crate) fn make_ordered_token() -> Result<Zeroizing<String>, SecretsError> {
    make::<32>()
}

/// A non-secret identifier that begins with its creation time (sessions, login attempts,
/// token families).
pub(crate) fn make_ordered_id() -> Result<String, SecretsError> {
    let id = make::<16>()?.to_string();
    debug_assert_eq!(id.len(), ID_LEN);
    Ok(id)
}

/// The time prefix of an ordered token as 6 bytes, or `None` if `token` is not one.
fn prefix_of(token: &str) -> Option<[u8; PREFIX_BYTES]> {
    if token.len() != TOKEN_LEN {
        return None;
    }
    let hex = token.as_bytes().get(..PREFIX_LEN)?;
    let mut out = [0u8; PREFIX_BYTES];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        out[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// The key a token is stored and looked up under (see the module's guarantees).
pub(crate) fn token_key(token: &str) -> [u8; 32] {
    let digest = secrets::hash(token.as_bytes());
    let Some(prefix) = prefix_of(token) else {
        return digest;
    };
    let mut out = [0u8; 32];
    out[..PREFIX_BYTES].copy_from_slice(&prefix);
    out[PREFIX_BYTES..].copy_from_slice(&digest[..32 - PREFIX_BYTES]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_ids_have_their_lengths_and_alphabet() {
        let t = make_ordered_token().expect("rng");
        let i = make_ordered_id().expect("rng");
        assert_eq!(t.len(), TOKEN_LEN);
        assert_eq!(i.len(), ID_LEN);
        for s in [t.as_str(), i.as_str()] {
            assert!(s[..PREFIX_LEN].bytes().all(|b| b.is_ascii_hexdigit()));
            assert!(s[..PREFIX_LEN].bytes().all(|b| !b.is_ascii_uppercase()));
            assert!(s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
        assert_ne!(make_ordered_token().expect("rng"), t);
    }

    #[test]
    fn the_prefix_is_the_creation_time() {
        let before = now_ms();
        let t = make_ordered_token().expect("rng");
        let after = now_ms();
        let ms = u64::from_str_radix(&t[..PREFIX_LEN], 16).expect("hex");
        assert!(
            (before..=after).contains(&ms),
            "{before} <= {ms} <= {after}"
        );
    }

    #[test]
    fn later_tokens_sort_after_earlier_ones() {
        let a = make_ordered_id().expect("rng");
        std::thread::sleep(std::time::Duration::from_millis(3));
        let b = make_ordered_id().expect("rng");
        assert!(a < b, "{a} < {b}");
        let key_a = token_key(&make_ordered_token().expect("rng"));
        std::thread::sleep(std::time::Duration::from_millis(3));
        let key_b = token_key(&make_ordered_token().expect("rng"));
        assert!(key_a < key_b);
    }

    #[test]
    fn an_ordered_key_is_the_prefix_and_the_hash_of_the_whole_token() {
        let t = make_ordered_token().expect("rng");
        let key = token_key(&t);
        let ms = u64::from_str_radix(&t[..PREFIX_LEN], 16).expect("hex");
        assert_eq!(key[..PREFIX_BYTES], ms.to_be_bytes()[2..]);
        assert_eq!(key[PREFIX_BYTES..], secrets::hash(t.as_bytes())[..26]);
        // One character changed anywhere changes the key.
        let mut other = t.to_string();
        let last = if other.ends_with('A') { "B" } else { "A" };
        other.replace_range(TOKEN_LEN - 1.., last);
        assert_ne!(token_key(&other), key);
    }

    #[test]
    fn other_texts_keep_the_plain_hash() {
        // A token issued before time-ordered tokens (43 characters), and texts of the right
        // length whose prefix is not lowercase hex.
        let legacy = secrets::make_token().expect("rng");
        assert_eq!(token_key(&legacy), secrets::hash(legacy.as_bytes()));
        let upper = format!("{}{}", "ABCDEF012345", &legacy);
        assert_eq!(upper.len(), TOKEN_LEN);
        assert_eq!(token_key(&upper), secrets::hash(upper.as_bytes()));
        let signed = format!("+{}", &upper[1..]);
        assert_eq!(token_key(&signed), secrets::hash(signed.as_bytes()));
    }

    proptest::proptest! {
        #[test]
        fn token_key_never_panics(input in ".{0,80}") {
            let key = token_key(&input);
            if prefix_of(&input).is_none() {
                proptest::prop_assert_eq!(key, secrets::hash(input.as_bytes()));
            }
        }

        #[test]
        fn keys_of_ordered_texts_keep_their_prefix(ms in 0u64..(1 << 48), tail in "[A-Za-z0-9_-]{43}") {
            let token = format!("{ms:012x}{tail}");
            let key = token_key(&token);
            proptest::prop_assert_eq!(&key[..PREFIX_BYTES], &ms.to_be_bytes()[2..]);
        }
    }
}
