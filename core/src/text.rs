// SPDX-License-Identifier: Apache-2.0
//! Text that is shown to a person as a security decision (the approval card: service name,
//! binding message, request context; account and device names): the one check both the
//! server and the wallet apply, so a relying party cannot draw a fake line or reorder what
//! the user reads.
//!
//! [`is_display_safe`] refuses every character of these classes:
//! - Unicode general category **Cc** (controls: C0, DEL, C1), as [`char::is_control`];
//! - **Cf** (format characters), from the Unicode 15.1–17 data (`DerivedGeneralCategory.txt`,
//!   unchanged across those versions; the table is [`FORMAT`]). It includes every
//!   bidirectional control: U+061C ARABIC LETTER MARK, U+200E/U+200F (LRM/RLM), U+202A–U+202E
//!   (embeddings and overrides), U+2066–U+2069 (isolates); and the invisible ones: U+00AD SOFT
//!   HYPHEN, U+200B–U+200D (zero width space, non-joiner, joiner), U+2060–U+2064, U+FEFF, the
//!   tag characters U+E0001 and U+E0020–U+E007F;
//! - **Zl** (U+2028 LINE SEPARATOR) and **Zp** (U+2029 PARAGRAPH SEPARATOR).
//!
//! Consequence to know: the zero width joiner and non-joiner are refused too, so emoji
//! sequences and a few scripts that need them (Persian, some Indic conjuncts) cannot be
//! written in these fields; a prompt that decides a login prefers plain text. Ordinary letters
//! of every script, combining marks, spaces (Zs) and symbols pass. Unassigned code points pass
//! (a later Unicode may make one of them a format character: update [`FORMAT`] then).
//!
//! The table was checked against the category of every code point reported by Python's
//! `unicodedata` (Unicode 14, which lacks only U+13439–U+1343F, added as Cf in 15.0).

/// Inclusive code point ranges of general category Cf (Unicode 15.1–17), sorted.
pub const FORMAT: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// True when `c` is a format character (general category Cf).
pub fn is_format(c: char) -> bool {
    let cp = u32::from(c);
    // The table is sorted and disjoint: find the last range starting at or before `cp`.
    let i = FORMAT.partition_point(|&(start, _)| start <= cp);
    i > 0 && cp <= FORMAT[i - 1].1
}

/// True when `c` must not appear in text shown to a person: a control (Cc), a format
/// character (Cf, bidirectional controls included), or a line or paragraph separator (Zl,
/// Zp). See the module docs.
pub fn is_refused(c: char) -> bool {
    c.is_control() || is_format(c) || c == '\u{2028}' || c == '\u{2029}'
}

/// True when no character of `s` is [refused](is_refused): the text can be shown as it is,
/// on one line, in the order it was written.
pub fn is_display_safe(s: &str) -> bool {
    !s.chars().any(is_refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_disjoint() {
        for w in FORMAT.windows(2) {
            assert!(w[0].0 <= w[0].1 && w[0].1 < w[1].0, "{w:x?}");
        }
        let count: u32 = FORMAT.iter().map(|(a, b)| b - a + 1).sum();
        assert_eq!(count, 170, "Cf has 170 code points in Unicode 15.1 to 17");
    }

    #[test]
    fn refuses_controls_format_and_separators() {
        for c in [
            '\u{0}',
            '\n',
            '\u{7f}',
            '\u{85}',
            '\u{ad}',
            '\u{600}',
            '\u{61c}',
            '\u{200b}',
            '\u{200d}',
            '\u{200e}',
            '\u{200f}',
            '\u{202a}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{2028}',
            '\u{2029}',
            '\u{feff}',
            '\u{fffb}',
            '\u{1343f}',
            '\u{e0001}',
            '\u{e007f}',
        ] {
            assert!(is_refused(c), "U+{:04X}", u32::from(c));
            assert!(!is_display_safe(&format!("Service{c}: x")));
        }
    }

    #[test]
    fn accepts_ordinary_text_of_every_script() {
        for s in [
            "Connexion au DMP",
            "Hôpital Saint-Éloi, Lyon",
            "Ünïcödé ß ø Ω Ж",
            "مستشفى",
            "東京 病院",
            "e\u{301}",
            "\u{a0}non-breaking",
            "🙂",
            "",
        ] {
            assert!(is_display_safe(s), "{s}");
        }
        // Neighbours of each range are not format characters.
        for &(a, b) in FORMAT {
            for cp in [a.wrapping_sub(1), b + 1] {
                if let Some(c) = char::from_u32(cp) {
                    assert!(!is_format(c), "U+{cp:04X}");
                }
            }
        }
        assert!(!is_format('\u{2065}'), "unassigned, not Cf");
    }
}
