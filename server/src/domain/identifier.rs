// SPDX-License-Identifier: Apache-2.0
//! Login identifiers (ADR 0002): what a user types on the login page and what a relying party
//! gives as CIBA `login_hint`, read into the one stored form.
//!
//! Guarantees:
//! - A practitioner's identifier is the national id, `8` followed by the 11-digit RPPS number
//!   (Pro Santé Connect's `SubjectNameID`); it is read with or without the leading `8`.
//! - An insured citizen's identifier is `V` followed by 11 Crockford base32 characters drawn
//!   from the CSPRNG: no QR code carries it (the QR names the pseudonymous id), so scanning a
//!   QR code does not let anyone start logins.
//! - Reading forgives case, spaces, dashes and the Crockford look-alikes (I, L → 1; O → 0);
//!   anything else is `None`, never a panic.

use crate::secrets::{self, SecretsError};

/// Digits of an RPPS number.
pub(crate) const RPPS_DIGITS: usize = 11;
/// The prefix that makes an RPPS number a national id.
const NATIONAL_PREFIX: char = '8';
/// The first character of every insured login identifier (never a digit, so it cannot be
/// read as a national id).
const INSURED_PREFIX: char = 'V';
/// Random characters after the insured prefix (55 bits).
const INSURED_RANDOM: usize = 11;
/// Longest text looked at (a typed identifier with generous spacing).
const MAX_TYPED: usize = 64;

/// The national id of an RPPS number (exactly 11 digits); `None` otherwise.
pub(crate) fn national_id(rpps: &str) -> Option<String> {
    (rpps.len() == RPPS_DIGITS && rpps.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("{NATIONAL_PREFIX}{rpps}"))
}

/// A fresh insured login identifier.
pub(crate) fn make_insured() -> Result<String, SecretsError> {
    Ok(format!(
        "{INSURED_PREFIX}{}",
        secrets::make_base32(INSURED_RANDOM)?.as_str()
    ))
}

/// The stored login identifier a typed text names, if it has the shape of one.
pub(crate) fn read(typed: &str) -> Option<String> {
    if typed.len() > MAX_TYPED {
        return None;
    }
    let norm = secrets::normalise_base32(typed)?;
    let digits = norm.bytes().all(|b| b.is_ascii_digit());
    if digits && norm.len() == RPPS_DIGITS {
        return national_id(&norm);
    }
    if digits && norm.len() == RPPS_DIGITS + 1 && norm.starts_with(NATIONAL_PREFIX) {
        return Some(norm.to_string());
    }
    if norm.len() == INSURED_RANDOM + 1 && norm.starts_with(INSURED_PREFIX) {
        return Some(norm.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_national_id_is_read_with_or_without_its_eight_and_spaces() {
        for typed in [
            "10003456789",
            "810003456789",
            "8 1000 345 6789",
            " 10003456789 ",
        ] {
            assert_eq!(read(typed).as_deref(), Some("810003456789"), "{typed}");
        }
        assert_eq!(national_id("10003456789").as_deref(), Some("810003456789"));
        for bad in [
            "1000345678",
            "910003456789",
            "8100034567890",
            "",
            "ps-4f2a9c",
            "1",
        ] {
            assert_eq!(read(bad), None, "{bad}");
        }
        assert_eq!(national_id("1000345678"), None);
        assert_eq!(national_id("1000345678a"), None);
    }

    #[test]
    fn an_insured_identifier_is_fresh_and_read_back_forgivingly() {
        let a = make_insured().expect("rng");
        let b = make_insured().expect("rng");
        assert_ne!(a, b);
        assert_eq!(a.len(), 12);
        assert!(a.starts_with('V'));
        assert_eq!(read(&a).as_deref(), Some(a.as_str()));
        let typed = format!("{}-{}-{}", &a[..4], &a[4..8], &a[8..]).to_lowercase();
        assert_eq!(read(&typed).as_deref(), Some(a.as_str()));
        assert_eq!(read("v3k7-9qxa-m2pd").as_deref(), Some("V3K79QXAM2PD"));
        assert_eq!(read("VOOO-IIII-LLLL").as_deref(), Some("V00011111111"));
        assert_eq!(read("W3K79QXAM2PD"), None, "another prefix");
        assert_eq!(read(&"1".repeat(100)), None);
    }

    proptest::proptest! {
        #[test]
        fn reading_never_panics(typed in ".{0,80}") {
            if let Some(id) = read(&typed) {
                proptest::prop_assert_eq!(id.len(), 12);
            }
        }
    }
}
