// SPDX-License-Identifier: Apache-2.0
//! Random identifiers, secrets and their hashes.
//!
//! Guarantees: every random value comes from the OS CSPRNG (ring's `SystemRandom`); uniform
//! choices use rejection sampling (no modulo bias); stored secrets are SHA-256 hashes and are
//! compared in constant time with `subtle`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ring::rand::{SecureRandom as _, SystemRandom};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// Errors of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// The operating system's random generator failed.
    #[error("random generator failure")]
    Random,
}

/// Crockford base32 alphabet (no I, L, O, U), used for activation codes.
pub(crate) const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Fills `buf` from the OS CSPRNG.
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), SecretsError> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| SecretsError::Random)
}

/// A random 256-bit value as unpadded base64url (43 characters): ids, handles and tokens.
pub(crate) fn make_token() -> Result<String, SecretsError> {
    let mut b = Zeroizing::new([0u8; 32]);
    fill(b.as_mut())?;
    Ok(B64URL.encode(b.as_ref()))
}

/// A random 128-bit identifier as unpadded base64url (22 characters), for non-secret ids.
pub(crate) fn make_id() -> Result<String, SecretsError> {
    let mut b = [0u8; 16];
    fill(&mut b)?;
    Ok(B64URL.encode(b))
}

/// A uniform integer in `0..n` (`n` in 1..=256), by rejection sampling of random bytes.
pub(crate) fn make_below(n: u16) -> Result<u8, SecretsError> {
    debug_assert!((1..=256).contains(&n));
    let n = n.clamp(1, 256);
    // Largest multiple of n that fits in 0..256; bytes at or above it are redrawn.
    let limit = 256 - (256 % n);
    loop {
        let mut b = [0u8; 16];
        fill(&mut b)?;
        for x in b {
            if u16::from(x) < limit {
                return Ok(u8::try_from(u16::from(x) % n).expect("value below n <= 256"));
            }
        }
    }
}

/// A random two-digit *code dynamique* (`00`–`99`).
pub(crate) fn make_dynamic_code() -> Result<String, SecretsError> {
    Ok(format!("{:02}", make_below(100)?))
}

/// Three distinct two-digit candidates including `code`, shuffled by a CSPRNG
/// Fisher–Yates, so the position of the right one says nothing.
pub(crate) fn make_candidates(code: &str, count: usize) -> Result<Vec<String>, SecretsError> {
    let mut out = vec![code.to_owned()];
    while out.len() < count.clamp(1, 100) {
        let c = make_dynamic_code()?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    for i in (1..out.len()).rev() {
        let bound = u16::try_from(i + 1).expect("at most 100 candidates");
        let j = usize::from(make_below(bound)?);
        out.swap(i, j);
    }
    Ok(out)
}

/// A random string of `len` Crockford base32 characters.
pub(crate) fn make_base32(len: usize) -> Result<Zeroizing<String>, SecretsError> {
    let mut out = Zeroizing::new(String::with_capacity(len));
    for _ in 0..len {
        out.push(char::from(CROCKFORD[usize::from(make_below(32)?)]));
    }
    Ok(out)
}

/// SHA-256 of `data`.
pub(crate) fn hash(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Constant-time equality of two byte strings (length is not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Normalises a typed activation code: uppercase, separators (`-`, space) dropped, and the
/// Crockford look-alikes mapped (`I`/`L` → `1`, `O` → `0`). `None` if any other character
/// is outside the alphabet.
pub(crate) fn normalise_base32(input: &str) -> Option<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::with_capacity(input.len()));
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            c => c,
        };
        if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_distinct_and_contain_code() {
        for _ in 0..200 {
            let code = make_dynamic_code().expect("rng");
            assert_eq!(code.len(), 2);
            let c = make_candidates(&code, 3).expect("rng");
            assert_eq!(c.len(), 3);
            assert!(c.contains(&code));
            assert!(c[0] != c[1] && c[1] != c[2] && c[0] != c[2]);
        }
    }

    #[test]
    fn right_code_position_is_spread() {
        let mut seen = [0u32; 3];
        for _ in 0..600 {
            let c = make_candidates("42", 3).expect("rng");
            let pos = c.iter().position(|x| x == "42").expect("present");
            seen[pos] += 1;
        }
        // Each position should get about 200; a fixed position would give 600/0/0.
        assert!(seen.iter().all(|&n| n > 100), "{seen:?}");
    }

    #[test]
    fn normalise_maps_lookalikes_and_rejects_garbage() {
        assert_eq!(normalise_base32("ab-cd ol").expect("ok").as_str(), "ABCD01");
        assert!(normalise_base32("ABCU").is_none());
        assert!(normalise_base32("é").is_none());
    }

    proptest::proptest! {
        #[test]
        fn normalise_never_panics_and_outputs_the_alphabet(input in ".{0,64}") {
            if let Some(out) = normalise_base32(&input) {
                proptest::prop_assert!(out.bytes().all(|b| CROCKFORD.contains(&b)));
            }
        }
    }

    #[test]
    fn make_below_is_in_range() {
        for _ in 0..1000 {
            assert!(make_below(3).expect("rng") < 3);
        }
        assert_eq!(make_below(1).expect("rng"), 0);
    }
}
