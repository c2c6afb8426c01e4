// SPDX-License-Identifier: Apache-2.0
//! Shared test helper: decode a QR code from PNG bytes with independent decoders (`png` for
//! the image, `rqrr` for the QR code).
#![allow(dead_code)] // each test binary uses a different part of this module

/// What an independent decoder read from a PNG image.
pub(crate) struct Scanned {
    /// The decoded text.
    pub(crate) text: String,
    /// The QR version rqrr found.
    pub(crate) version: usize,
    /// The raw ECC level field of the format information (M is 0, L 1, H 2, Q 3).
    pub(crate) ecc_format_bits: u16,
}

/// Decodes the first QR code found in a PNG image, or `None`.
pub(crate) fn scan_png(bytes: &[u8]) -> Option<Scanned> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().ok()?;
    let mut buf = vec![0u8; reader.output_buffer_size()?];
    let info = reader.next_frame(&mut buf).ok()?;
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return None, // EXPAND turns palettes into RGB(A)
    };
    let stride = info.line_size;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let p = &buf[y * stride + x * channels..];
        if channels >= 3 {
            ((u16::from(p[0]) + u16::from(p[1]) + u16::from(p[2])) / 3) as u8
        } else {
            p[0]
        }
    });
    let grids = img.detect_grids();
    let grid = grids.first()?;
    let (meta, text) = grid.decode().ok()?;
    Some(Scanned {
        text,
        version: meta.version.0,
        ecc_format_bits: meta.ecc_level,
    })
}
