// SPDX-License-Identifier: Apache-2.0
//! The shape of an activation code: `XXXX-XXXX-XXXX` in Crockford base32, 4 lookup characters
//! (20 bits, not secret: they find the code) and 8 secret ones (40 bits, stored as SHA-256).
//!
//! Guarantees: a typed code is normalised (case, dashes, spaces and the I/L/O look-alikes
//! forgiven) before it is split; only the secret part's hash leaves this module, never the
//! secret itself.

use zeroize::Zeroizing;

use crate::secrets;

/// Characters of the lookup part (not secret; 20 bits).
pub(crate) const LOOKUP_LEN: usize = 4;
/// Characters of the secret part (40 bits).
pub(crate) const SECRET_LEN: usize = 8;

/// An activation code as the store keeps it: its lookup part and its secret part's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CodeKey {
    /// The 4 lookup characters.
    pub(crate) lookup: String,
    /// SHA-256 of the 8 secret characters.
    pub(crate) secret_hash: [u8; 32],
}

impl CodeKey {
    /// The key of a typed code; `None` when it is not 12 characters of the alphabet (after
    /// normalisation).
    pub(crate) fn parse(typed: &str) -> Option<Self> {
        let code = secrets::normalise_base32(typed)?;
        (code.len() == LOOKUP_LEN + SECRET_LEN).then(|| Self::of(&code))
    }

    /// The key of a normalised 12-character code.
    fn of(code: &str) -> Self {
        let (lookup, secret) = code.split_at(LOOKUP_LEN);
        Self {
            lookup: lookup.to_owned(),
            secret_hash: secrets::hash(secret.as_bytes()),
        }
    }
}

/// A freshly drawn code: the text shown once, and its key.
pub(crate) struct NewCode {
    /// `XXXX-XXXX-XXXX`.
    pub(crate) text: Zeroizing<String>,
    /// What the store keeps.
    pub(crate) key: CodeKey,
}

impl NewCode {
    /// Draws a code from the OS random generator.
    pub(crate) fn make() -> Result<Self, secrets::SecretsError> {
        let raw = secrets::make_base32(LOOKUP_LEN + SECRET_LEN)?;
        let mut text = Zeroizing::new(String::with_capacity(14));
        for (i, ch) in raw.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                text.push('-');
            }
            text.push(ch);
        }
        Ok(Self {
            key: CodeKey::of(&raw),
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drawn_code_parses_back_to_its_key() {
        let code = NewCode::make().expect("rng");
        assert_eq!(code.text.len(), 14);
        assert_eq!(code.text.matches('-').count(), 2);
        assert_eq!(CodeKey::parse(&code.text), Some(code.key.clone()));
        assert_eq!(
            CodeKey::parse(&code.text.to_lowercase().replace('-', " ")),
            Some(code.key)
        );
    }

    #[test]
    fn wrong_lengths_and_alphabets_are_refused() {
        assert_eq!(CodeKey::parse("ABCD-EFGH-JKM"), None);
        assert_eq!(CodeKey::parse("ABCD-EFGH-JKMNP"), None);
        assert_eq!(CodeKey::parse("ABCD-EFGH-JKMU"), None);
        assert!(CodeKey::parse("abcd-efgh-jkmo").is_some(), "O is read as 0");
    }
}
