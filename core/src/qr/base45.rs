// SPDX-License-Identifier: Apache-2.0
//! Base45 (RFC 9285), the text encoding whose 45-character alphabet is exactly the QR code
//! alphanumeric set.
//!
//! Guarantees: [`decode`] is strict. It refuses a character outside the alphabet (lower case
//! included), a text whose length is 1 modulo 3, a three-character group worth more than
//! 65535 and a two-character group worth more than 255, so every accepted text has exactly
//! one decoding and [`encode`] gives it back unchanged.

use super::QrError;

/// The RFC 9285 alphabet, in value order.
pub const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Value of each byte in the alphabet, or `INVALID`.
const INVALID: u8 = 0xff;
const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Encodes `bytes` as Base45 text: 3 characters per 2 bytes, 2 for a trailing byte.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(encoded_len(bytes.len()));
    let mut pairs = bytes.chunks_exact(2);
    for pair in &mut pairs {
        let n = u32::from(pair[0]) * 256 + u32::from(pair[1]);
        out.push(ALPHABET[(n % 45) as usize]);
        out.push(ALPHABET[(n / 45 % 45) as usize]);
        out.push(ALPHABET[(n / 2025) as usize]);
    }
    if let [last] = pairs.remainder() {
        let n = u32::from(*last);
        out.push(ALPHABET[(n % 45) as usize]);
        out.push(ALPHABET[(n / 45) as usize]);
    }
    // Every byte pushed comes from ALPHABET, which is ASCII.
    String::from_utf8(out).expect("Base45 alphabet is ASCII")
}

/// The length of the Base45 text for `n` bytes.
pub const fn encoded_len(n: usize) -> usize {
    n / 2 * 3 + n % 2 * 2
}

/// Decodes Base45 text strictly (see the module guarantees).
pub fn decode(text: &str) -> Result<Vec<u8>, QrError> {
    let text = text.as_bytes();
    if text.len() % 3 == 1 {
        return Err(QrError::BadBase45);
    }
    let mut out = Vec::with_capacity(text.len() / 3 * 2 + 1);
    let mut groups = text.chunks_exact(3);
    for group in &mut groups {
        let n = value(group[0])? + value(group[1])? * 45 + value(group[2])? * 2025;
        if n > 0xffff {
            return Err(QrError::BadBase45);
        }
        out.extend_from_slice(&(n as u16).to_be_bytes());
    }
    if let [c, d] = groups.remainder() {
        let n = value(*c)? + value(*d)? * 45;
        out.push(u8::try_from(n).map_err(|_| QrError::BadBase45)?);
    }
    Ok(out)
}

fn value(c: u8) -> Result<u32, QrError> {
    match DECODE[usize::from(c)] {
        INVALID => Err(QrError::BadBase45),
        v => Ok(u32::from(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of RFC 9285 §4.
    #[test]
    fn rfc9285_examples() {
        for (plain, b45) in [
            (&b"AB"[..], "BB8"),
            (b"Hello!!", "%69 VD92EX0"),
            (b"base-45", "UJCLQE7W581"),
            (b"ietf!", "QED8WEX0"),
            (b"", ""),
        ] {
            assert_eq!(encode(plain), b45);
            assert_eq!(decode(b45).expect("decodes"), plain);
        }
    }

    #[test]
    fn strictness() {
        assert_eq!(decode("GGW"), Err(QrError::BadBase45)); // 65535 + 1 = 65536
        assert_eq!(decode("FGW").expect("max"), vec![0xff, 0xff]);
        assert_eq!(decode("U5"), Ok(vec![255]));
        assert_eq!(decode("V5"), Err(QrError::BadBase45)); // 256
        assert_eq!(decode("A"), Err(QrError::BadBase45));
        assert_eq!(decode("ABCD"), Err(QrError::BadBase45));
        assert_eq!(decode("bb8"), Err(QrError::BadBase45));
        assert_eq!(decode("BB\u{e9}"), Err(QrError::BadBase45));
        assert_eq!(decode("BB#"), Err(QrError::BadBase45));
    }

    #[test]
    fn all_byte_values_round_trip() {
        let bytes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for n in 0..bytes.len() {
            let text = encode(&bytes[..n]);
            assert_eq!(text.len(), encoded_len(n));
            assert_eq!(decode(&text).expect("round trip"), &bytes[..n]);
        }
    }
}
