// SPDX-License-Identifier: Apache-2.0
//! The languages of the pages a person reads, and how one is chosen.
//!
//! Guarantees: French unless the request asks for English, first through `ui_locales` (OIDC
//! Core §3.1.2.1, space-separated BCP 47 tags in order of preference), then through
//! `Accept-Language` (RFC 9110 §12.5.4, quality values honoured); the first supported
//! language wins. Malformed input is skipped, never an error.

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Lang {
    /// French (the default).
    #[default]
    Fr,
    /// English.
    En,
}

impl Lang {
    /// Every language, in the order discovery lists them.
    pub(crate) const ALL: [Self; 2] = [Self::Fr, Self::En];

    /// The BCP 47 tag (`fr`, `en`), also the page's `lang` attribute.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Self::Fr => "fr",
            Self::En => "en",
        }
    }

    /// The language a BCP 47 tag names (`en-GB` → English); `None` when unsupported.
    fn of_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.trim();
        Self::ALL
            .into_iter()
            .find(|l| primary.eq_ignore_ascii_case(l.tag()))
    }

    /// The language for `ui_locales` and an `Accept-Language` header (either may be absent).
    pub(crate) fn negotiate(ui_locales: Option<&str>, accept_language: Option<&str>) -> Self {
        if let Some(l) = ui_locales
            .into_iter()
            .flat_map(|v| v.split(' '))
            .take(16)
            .find_map(Self::of_tag)
        {
            return l;
        }
        let Some(header) = accept_language else {
            return Self::default();
        };
        let mut best: Option<(u16, Self)> = None;
        for item in header.split(',').take(32) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), quality);
            let (Some(lang), Some(q)) = (Self::of_tag(tag), q) else {
                continue;
            };
            if q > 0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

/// An RFC 9110 quality value (`0`, `0.8`, `1.000`) in thousandths.
fn quality(text: &str) -> Option<u16> {
    let text = text.trim();
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole = match int {
        "0" => 0u16,
        "1" => 1000,
        _ => return None,
    };
    let mut thousandths = 0u16;
    for (i, b) in frac.bytes().enumerate() {
        let digit = u16::from(b - b'0');
        thousandths += digit * [100, 10, 1][i];
    }
    (whole + thousandths <= 1000).then_some(whole + thousandths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_unless_english_is_asked() {
        assert_eq!(Lang::negotiate(None, None), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("en"), None), Lang::En);
        assert_eq!(Lang::negotiate(Some("de en-GB fr"), None), Lang::En);
        assert_eq!(Lang::negotiate(Some("de"), Some("en")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr"), Some("en")), Lang::Fr);
        assert_eq!(Lang::negotiate(None, Some("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::negotiate(None, Some("de-DE, en;q=0.5, fr;q=0.7")),
            Lang::Fr
        );
        assert_eq!(Lang::negotiate(None, Some("fr;q=0, en;q=0.1")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("de")), Lang::Fr);
        assert_eq!(Lang::negotiate(None, Some("en;q=2, ;;;, q=")), Lang::Fr);
    }

    #[test]
    fn quality_values() {
        assert_eq!(quality("1"), Some(1000));
        assert_eq!(quality("0.8"), Some(800));
        assert_eq!(quality("0.125"), Some(125));
        assert_eq!(quality("1.0001"), None);
        assert_eq!(quality("1.5"), None);
        assert_eq!(quality("x"), None);
    }

    proptest::proptest! {
        #[test]
        fn negotiation_never_panics(a in ".{0,64}", b in ".{0,128}") {
            let _ = Lang::negotiate(Some(&a), Some(&b));
        }
    }
}
