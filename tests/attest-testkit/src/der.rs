// SPDX-License-Identifier: Apache-2.0
//! A small DER writer for test inputs: every function returns one encoded element. Lengths
//! use the definite short or long form; nothing here validates (tests build bad input too).

/// DER TLV with a one-byte `tag`.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(len(content.len()));
    out.extend_from_slice(content);
    out
}

fn len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let bytes: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

/// A `SEQUENCE` of the given encoded elements.
pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A DER `SET OF` (elements sorted as DER requires).
pub fn set(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut sorted = parts.to_vec();
    sorted.sort();
    tlv(0x31, &sorted.concat())
}

/// A `SET OF` in the given order (to build non-DER input).
pub fn set_unsorted(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x31, &parts.concat())
}

/// An `INTEGER` in its shortest two's-complement form.
pub fn int(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    tlv(0x02, &bytes[start..])
}

/// An `ENUMERATED`.
pub fn enumerated(v: i64) -> Vec<u8> {
    let mut out = int(v);
    out[0] = 0x0a;
    out
}

/// An `OCTET STRING`.
pub fn octets(b: &[u8]) -> Vec<u8> {
    tlv(0x04, b)
}

/// `NULL`.
pub fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

/// A `BOOLEAN` (DER: `0xff` for true).
pub fn boolean(b: bool) -> Vec<u8> {
    vec![0x01, 0x01, if b { 0xff } else { 0x00 }]
}

/// `[n] EXPLICIT inner` (context-specific, constructed; high tag numbers in base 128).
pub fn explicit(n: u32, inner: &[u8]) -> Vec<u8> {
    let mut out = if n < 31 {
        vec![0xa0 | n as u8]
    } else {
        let mut digits = vec![(n & 0x7f) as u8];
        let mut rest = n >> 7;
        while rest > 0 {
            digits.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        digits.reverse();
        let mut v = vec![0xbf];
        v.extend(digits);
        v
    };
    out.extend(len(inner.len()));
    out.extend_from_slice(inner);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_lengths_and_high_tags_encode_as_der() {
        assert_eq!(int(0), [0x02, 0x01, 0x00]);
        assert_eq!(int(128), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(int(-1), [0x02, 0x01, 0xff]);
        assert_eq!(tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(explicit(704, &null())[..3], [0xbf, 0x85, 0x40]);
        assert_eq!(set(&[int(3), int(2)]), set_unsorted(&[int(2), int(3)]));
    }
}
