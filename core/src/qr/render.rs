// SPDX-License-Identifier: Apache-2.0
//! QR code rendering: the module matrix (alphanumeric mode, ECC M), SVG, PNG and terminal.
//!
//! Choices, from the side-by-side bench in `benches/qr.rs` (medians on a loaded 2-core
//! machine): `fast_qr` builds the matrix 5–7x faster than the `qrcode` crate (offline-mode
//! version 13: ~0.4 ms vs ~2.8 ms); the PNG is written here (1-bit greyscale, filter Up for
//! repeated pixel rows, deflate level 1 by `miniz_oxide`: ~0.1 ms, ~1.3 KB at 4 px per
//! module), several times faster than the `png` crate's encoder on the same bitmap.
//!
//! Guarantees: text made only of QR alphanumeric characters (all `VL1:` texts) is encoded in
//! alphanumeric mode, anything else in byte mode; the version is the smallest that fits at
//! ECC M; every rendering includes the 4-module quiet zone ([`QUIET_ZONE`]).

use fast_qr::{QRBuilder, ECL};

use super::{base45, QrError};

/// Width of the light border every rendering includes, in modules (ISO/IEC 18004).
pub const QUIET_ZONE: usize = 4;
/// Pixels per module of [`QrMatrix::to_display_png`]: 8, so an online-mode code (version 7,
/// 45 modules, 53 with the quiet zone) is 424 px wide and an offline one (version 13, 69
/// modules) 616 px: sharp on a phone screen, and a whole number of device pixels per module.
pub const PNG_SCALE: u32 = 8;

/// Deflate level of the PNG writer. Measured on a version 13 code at 4 px per module:
/// level 1 takes ~0.1 ms for 1357 B; levels 3–9 take ~0.25 ms for 1110–1180 B.
const PNG_DEFLATE_LEVEL: u8 = 1;

/// A QR code's module matrix, without quiet zone. `true` is a dark module.
#[derive(Clone, PartialEq, Eq)]
pub struct QrMatrix {
    size: usize,
    version: u8,
    modules: Vec<bool>,
}

impl std::fmt::Debug for QrMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "QrMatrix(version {}, {}x{})",
            self.version, self.size, self.size
        )
    }
}

impl QrMatrix {
    /// Encodes `text` at ECC M in the smallest version that holds it.
    pub fn encode(text: &str) -> Result<Self, QrError> {
        let alphanumeric = text.bytes().all(|b| base45::ALPHABET.contains(&b));
        let mut builder = QRBuilder::new(text.as_bytes());
        builder.ecl(ECL::M);
        builder.mode(if alphanumeric {
            fast_qr::Mode::Alphanumeric
        } else {
            fast_qr::Mode::Byte
        });
        let qr = builder.build().map_err(|_| QrError::QrCapacity)?;
        let size = qr.size;
        let modules = qr.data[..size * size].iter().map(|m| m.value()).collect();
        let version = u8::try_from((size - 17) / 4).map_err(|_| QrError::QrCapacity)?;
        Ok(Self {
            size,
            version,
            modules,
        })
    }

    /// Side length in modules, without quiet zone (`17 + 4 × version`).
    pub fn size(&self) -> usize {
        self.size
    }

    /// The QR version (1–40).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// True if the module at column `x`, row `y` is dark; out of range is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.size && y < self.size && self.modules[y * self.size + x]
    }

    /// Side length including the quiet zone on both sides.
    pub fn size_with_quiet_zone(&self) -> usize {
        self.size + 2 * QUIET_ZONE
    }

    /// Dark-ness in quiet-zone coordinates (the border is light).
    fn dark_q(&self, x: usize, y: usize) -> bool {
        x >= QUIET_ZONE && y >= QUIET_ZONE && self.is_dark(x - QUIET_ZONE, y - QUIET_ZONE)
    }

    /// An SVG image, one module per user unit (scale it with CSS or `width`/`height`): a white
    /// background and one path of horizontal runs of dark modules.
    pub fn to_svg(&self) -> String {
        let n = self.size_with_quiet_zone();
        let mut path = String::with_capacity(self.size * self.size * 3);
        for y in 0..self.size {
            let mut x = 0;
            while x < self.size {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.size && self.is_dark(x, y) {
                        x += 1;
                    }
                    path.push('M');
                    push_num(&mut path, start + QUIET_ZONE);
                    path.push(' ');
                    push_num(&mut path, y + QUIET_ZONE);
                    path.push('h');
                    push_num(&mut path, x - start);
                    path.push_str("v1h-");
                    push_num(&mut path, x - start);
                    path.push('z');
                } else {
                    x += 1;
                }
            }
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {n} {n}\" \
             shape-rendering=\"crispEdges\"><rect width=\"{n}\" height=\"{n}\" fill=\"#fff\"/>\
             <path fill=\"#000\" d=\"{path}\"/></svg>"
        )
    }

    /// The matrix of an SVG that [`QrMatrix::to_svg`] wrote (the first `<svg>` of `text`, as
    /// a web page embeds it): the inverse of `to_svg`, for tools that hand a page's QR code
    /// to a decoder as pixels (scan mode's demo and tests). `None` for anything else.
    pub fn from_svg(text: &str) -> Option<Self> {
        let at = text.find("<svg")?;
        let svg = &text[at..at + text[at..].find("</svg>")?];
        let attr = |tag: &str, name: &str| -> Option<String> {
            let key = format!(" {name}=\"");
            let v = tag.find(&key)? + key.len();
            Some(tag[v..v + tag[v..].find('"')?].to_owned())
        };
        let n: usize = attr(svg, "viewBox")?.split(' ').nth(2)?.parse().ok()?;
        let size = n
            .checked_sub(2 * QUIET_ZONE)
            .filter(|s| (21..=177).contains(s))?;
        if (size - 17) % 4 != 0 {
            return None;
        }
        let mut modules = vec![false; size * size];
        let d = attr(&svg[svg.find("<path")?..], "d")?;
        for run in d.split('M').filter(|r| !r.is_empty()) {
            let (xy, rest) = run.split_once('h')?;
            let (x, y) = xy.split_once(' ')?;
            let x = x.parse::<usize>().ok()?.checked_sub(QUIET_ZONE)?;
            let y = y.parse::<usize>().ok()?.checked_sub(QUIET_ZONE)?;
            let len: usize = rest.split('v').next()?.parse().ok()?;
            if x + len > size || y >= size {
                return None;
            }
            modules[y * size + x..y * size + x + len].fill(true);
        }
        Some(Self {
            size,
            version: u8::try_from((size - 17) / 4).ok()?,
            modules,
        })
    }

    /// The PNG to show or hand out: [`QrMatrix::to_png`] at [`PNG_SCALE`]. The bindings give
    /// it to apps and the CLI writes it, so both draw the same image.
    pub fn to_display_png(&self) -> Vec<u8> {
        self.to_png(PNG_SCALE)
    }

    /// A PNG image (1-bit greyscale), `scale` pixels per module (clamped to 1..=32).
    pub fn to_png(&self, scale: u32) -> Vec<u8> {
        let scale = usize::try_from(scale.clamp(1, 32)).expect("at most 32");
        let side = self.size_with_quiet_zone() * scale;
        let row_bytes = side.div_ceil(8);
        let mut raw = Vec::with_capacity((row_bytes + 1) * side);
        let mut row = vec![0u8; row_bytes];
        for my in 0..self.size_with_quiet_zone() {
            row.fill(0);
            for mx in 0..self.size_with_quiet_zone() {
                if !self.dark_q(mx, my) {
                    for px in mx * scale..(mx + 1) * scale {
                        row[px / 8] |= 0x80 >> (px % 8); // 1 = white
                    }
                }
            }
            raw.push(0); // filter None for the first pixel row of a module row
            raw.extend_from_slice(&row);
            for _ in 1..scale {
                // Filter Up: a repeated row is all zeros, which deflate squeezes to nothing.
                raw.push(2);
                raw.resize(raw.len() + row_bytes, 0);
            }
        }
        let idat = miniz_oxide::deflate::compress_to_vec_zlib(&raw, PNG_DEFLATE_LEVEL);
        let side32 = u32::try_from(side).expect("a QR code is at most 185 modules x 32 px");
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&side32.to_be_bytes());
        ihdr.extend_from_slice(&side32.to_be_bytes());
        ihdr.extend_from_slice(&[1, 0, 0, 0, 0]); // 1 bit, greyscale, deflate, adaptive, no interlace
        let mut png = Vec::with_capacity(idat.len() + 64);
        png.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        chunk(&mut png, b"IHDR", &ihdr);
        chunk(&mut png, b"IDAT", &idat);
        chunk(&mut png, b"IEND", &[]);
        png
    }

    /// Text for a terminal with a light background: two module rows per line, drawn with
    /// `█ ▀ ▄` and spaces (ink = dark module).
    pub fn to_terminal(&self) -> String {
        self.half_blocks(false)
    }

    /// Text for a terminal with a dark background: light modules are drawn as ink, so the
    /// code reads correctly on screen.
    pub fn to_terminal_inverted(&self) -> String {
        self.half_blocks(true)
    }

    fn half_blocks(&self, invert: bool) -> String {
        let n = self.size_with_quiet_zone();
        let mut out = String::with_capacity((n + 1) * n.div_ceil(2) * 3);
        for y in (0..n).step_by(2) {
            for x in 0..n {
                let top = self.dark_q(x, y) != invert;
                let bottom = if y + 1 < n {
                    self.dark_q(x, y + 1) != invert
                } else {
                    invert // the row below the image is background
                };
                out.push(match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
        }
        out
    }
}

/// Appends a decimal number below 1000 (QR coordinates with quiet zone are below 186) without `fmt` machinery.
fn push_num(out: &mut String, n: usize) {
    if n >= 100 {
        out.push(char::from(b'0' + (n / 100 % 10) as u8));
    }
    if n >= 10 {
        out.push(char::from(b'0' + (n / 10 % 10) as u8));
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let len = u32::try_from(data.len()).expect("PNG chunks here are small");
    png.extend_from_slice(&len.to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (ISO 3309, as PNG uses), table-driven.
fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    !bytes
        .iter()
        .fold(!0u32, |c, b| TABLE[usize::from((c as u8) ^ b)] ^ (c >> 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_svg_reads_back_to_its_matrix() {
        let m = QrMatrix::encode(
            "VLSCAN1:AAAAAAAAAAAAAAAAAAAAAA.BwcHBwcHBwcHBwcHBwcHBw.https://id.example",
        )
        .expect("encodes");
        let page = format!("<p>x</p><svg role=\"img\" {}</p>", &m.to_svg()[5..]);
        assert_eq!(QrMatrix::from_svg(&page), Some(m));
        assert_eq!(QrMatrix::from_svg("<svg viewBox=\"0 0 9 9\"></svg>"), None);
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn versions_and_quiet_zone() {
        let m = QrMatrix::encode("VL1:ABC").expect("fits");
        assert_eq!(m.version(), 1);
        assert_eq!(m.size(), 21);
        // Alphanumeric at ECC M: version 7 holds 178 characters, 179 needs version 8.
        assert_eq!(QrMatrix::encode(&"A".repeat(178)).expect("v7").version(), 7);
        assert_eq!(QrMatrix::encode(&"A".repeat(179)).expect("v8").version(), 8);
        assert_eq!(
            QrMatrix::encode(&"A".repeat(483)).expect("v13").version(),
            13
        );
        assert_eq!(
            QrMatrix::encode(&"A".repeat(484)).expect("v14").version(),
            14
        );
        assert_eq!(
            QrMatrix::encode(&"A".repeat(4000)),
            Err(QrError::QrCapacity)
        );
        let term = m.to_terminal();
        let lines: Vec<&str> = term.lines().collect();
        assert_eq!(lines.len(), (21 + 8usize).div_ceil(2));
        assert!(lines[0].chars().all(|c| c == ' '));
        assert!(lines.iter().all(|l| l.chars().count() == 29));
        let svg = m.to_svg();
        assert!(svg.contains("viewBox=\"0 0 29 29\""));
        assert!(svg.contains("M4 4h7v1h-7z")); // finder pattern's top row
    }
}
