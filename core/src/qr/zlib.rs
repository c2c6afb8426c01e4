// SPDX-License-Identifier: Apache-2.0
//! The optional zlib stage (RFC 1950), as the EU Digital COVID Certificate uses it.
//!
//! Guarantees:
//! - [`inflate`] never produces more than its `limit` bytes ([`QrError::TooLarge`] beyond:
//!   a zip bomb costs at most that much memory) and checks the Adler-32 trailer.
//! - [`has_zlib_header`] is unambiguous for our payloads: a COSE_Sign1 starts with `0xd2`
//!   (tag 18), `0xd8` (tag 61) or `0x84` (array of 4), none of which is a zlib CMF byte
//!   (whose low nibble is 8, deflate).
//! - [`deflate_if_smaller`] returns the input unchanged unless compressing saves bytes.

use std::borrow::Cow;

use miniz_oxide::inflate::{decompress_to_vec_zlib_with_limit, TINFLStatus};

use super::QrError;

/// Compression level used by [`deflate_if_smaller`] (the best, our payloads are tiny).
const LEVEL: u8 = 9;

/// True when `bytes` begin with a valid zlib header: method deflate, window at most 32 KiB,
/// header check bits correct, no preset dictionary.
pub fn has_zlib_header(bytes: &[u8]) -> bool {
    match bytes {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
                && flg & 0x20 == 0
        }
        _ => false,
    }
}

/// Inflates a zlib stream, producing at most `limit` bytes.
pub fn inflate(bytes: &[u8], limit: usize) -> Result<Vec<u8>, QrError> {
    if !has_zlib_header(bytes) {
        return Err(QrError::BadCompression);
    }
    decompress_to_vec_zlib_with_limit(bytes, limit).map_err(|e| match e.status {
        TINFLStatus::HasMoreOutput => QrError::TooLarge,
        _ => QrError::BadCompression,
    })
}

/// Inflates `bytes` if they start with a zlib header, else returns them as they are.
pub fn inflate_if_compressed(bytes: &[u8], limit: usize) -> Result<Cow<'_, [u8]>, QrError> {
    if has_zlib_header(bytes) {
        inflate(bytes, limit).map(Cow::Owned)
    } else if bytes.len() > limit {
        Err(QrError::TooLarge)
    } else {
        Ok(Cow::Borrowed(bytes))
    }
}

/// Compresses `bytes` with zlib and returns the result only if it is strictly smaller;
/// otherwise returns `bytes` unchanged.
pub fn deflate_if_smaller(bytes: &[u8]) -> Cow<'_, [u8]> {
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(bytes, LEVEL);
    if compressed.len() < bytes.len() {
        Cow::Owned(compressed)
    } else {
        Cow::Borrowed(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_pass_through() {
        let text = b"Vistalid Vistalid Vistalid Vistalid Vistalid Vistalid".repeat(4);
        let packed = deflate_if_smaller(&text);
        assert!(packed.len() < text.len());
        assert!(has_zlib_header(&packed));
        assert_eq!(
            &*inflate_if_compressed(&packed, 1024).expect("inflate"),
            &text[..]
        );
        // Random-looking bytes do not shrink: passed through untouched.
        let cose = [0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa0];
        assert_eq!(&*deflate_if_smaller(&cose), &cose[..]);
        assert!(!has_zlib_header(&cose));
        assert_eq!(
            &*inflate_if_compressed(&cose, 1024).expect("raw"),
            &cose[..]
        );
    }

    #[test]
    fn bounded_against_zip_bombs() {
        let bomb = miniz_oxide::deflate::compress_to_vec_zlib(&vec![0u8; 1 << 20], LEVEL);
        assert!(bomb.len() < 2048);
        assert_eq!(inflate(&bomb, 16 * 1024), Err(QrError::TooLarge));
    }

    #[test]
    fn corrupt_streams_are_refused() {
        let mut packed = miniz_oxide::deflate::compress_to_vec_zlib(&[7u8; 300], LEVEL);
        let last = packed.len() - 1;
        packed[last] ^= 1; // Adler-32 trailer
        assert_eq!(inflate(&packed, 1024), Err(QrError::BadCompression));
        packed.truncate(5);
        assert_eq!(inflate(&packed, 1024), Err(QrError::BadCompression));
        assert_eq!(inflate(&[0x78], 1024), Err(QrError::BadCompression));
    }
}
