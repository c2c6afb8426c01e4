// SPDX-License-Identifier: Apache-2.0
//! TOTP (RFC 6238) as the offline code uses it: HMAC-SHA256, 8 digits, 30-second steps from
//! the Unix epoch (T0 = 0), with RFC 4226's dynamic truncation.
//!
//! Guarantees:
//! - [`code_at`] is RFC 6238's `TOTP` for the SHA-256 rows of its Appendix B (tested on
//!   them, with the RFC's 32-byte ASCII seed `"12345678901234567890123456789012"`).
//! - [`Step::of`] refuses a time before the epoch (`None`), never wraps it.
//! - [`matches()`] compares the 8 digits in constant time (`subtle`), whatever the input.
//! - The secret lives in a [`TotpSecret`] (wiped on drop, `Debug` redacted).

use std::fmt;

use ring::hmac;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Digits of a code.
pub const DIGITS: u32 = 8;
/// Seconds of a time step.
pub const PERIOD_SECS: u64 = 30;
/// Bytes of a secret (RFC 6238's SHA-256 seed length).
pub const SECRET_LEN: usize = 32;
/// The algorithm name of [`crate::protocol::OfflineOtpInfo::algorithm`].
pub const ALGORITHM: &str = "SHA256";

/// A TOTP secret of [`SECRET_LEN`] bytes, wiped on drop.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<[u8; SECRET_LEN]>);

impl TotpSecret {
    /// The secret with these bytes.
    pub fn new(bytes: [u8; SECRET_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The secret from a slice of exactly [`SECRET_LEN`] bytes, else `None`.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; SECRET_LEN] = bytes.try_into().ok()?;
        Some(Self::new(arr))
    }

    /// The raw bytes (to seal them; every caller says why at its call site).
    pub fn expose(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// A time step: `floor(unix_secs / 30)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Step(pub u64);

impl Step {
    /// The step of Unix time `unix_secs`; `None` before the epoch.
    pub fn of(unix_secs: i64) -> Option<Self> {
        u64::try_from(unix_secs).ok().map(|t| Self(t / PERIOD_SECS))
    }

    /// Seconds from `unix_secs` (inside this step) until the step ends (1..=30).
    pub fn secs_left(unix_secs: i64) -> u32 {
        let t = u64::try_from(unix_secs).unwrap_or(0);
        // PERIOD_SECS - (t % PERIOD_SECS) is in 1..=30: fits.
        u32::try_from(PERIOD_SECS - t % PERIOD_SECS).unwrap_or(1)
    }
}

/// The 8-digit code of `secret` at step `step` (RFC 4226 HOTP with HMAC-SHA256 over the
/// step's 8-byte big-endian counter), zero-padded.
pub fn code_at(secret: &TotpSecret, step: Step) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose());
    code_with_key(&key, step)
}

/// The code of `step` under an HMAC-SHA256 `key` of any length (the RFC's vectors use a
/// 32-byte ASCII seed; the product always uses [`SECRET_LEN`] random bytes).
pub fn code_with_key(key: &hmac::Key, step: Step) -> String {
    let tag = hmac::sign(key, &step.0.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]) & 0x7fff_ffff;
    format!("{:08}", bin % 10u32.pow(DIGITS))
}

/// Whether `typed` is the code of `secret` at `step`, compared in constant time (a typed
/// string of another length compares as different without leaking where).
pub fn matches(secret: &TotpSecret, step: Step, typed: &str) -> bool {
    let want = code_at(secret, step);
    let typed = typed.as_bytes();
    if typed.len() != want.len() {
        return false;
    }
    bool::from(want.as_bytes().ct_eq(typed))
}

/// Whether `typed` has the shape of a code: exactly [`DIGITS`] ASCII digits.
pub fn is_code_shaped(typed: &str) -> bool {
    typed.len() == DIGITS as usize && typed.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, the SHA-256 rows: (time, TOTP).
    const RFC6238_SHA256: [(i64, &str); 6] = [
        (59, "46119246"),
        (1_111_111_109, "68084774"),
        (1_111_111_111, "67062674"),
        (1_234_567_890, "91819424"),
        (2_000_000_000, "90698825"),
        (20_000_000_000, "77737706"),
    ];

    #[test]
    fn rfc6238_appendix_b_sha256() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"12345678901234567890123456789012");
        let secret = TotpSecret::new(*b"12345678901234567890123456789012");
        for (t, want) in RFC6238_SHA256 {
            let step = Step::of(t).expect("after the epoch");
            assert_eq!(code_with_key(&key, step), want, "T = {t}");
            assert_eq!(code_at(&secret, step), want, "T = {t}");
            assert!(matches(&secret, step, want));
        }
    }

    #[test]
    fn matching_is_exact() {
        let secret = TotpSecret::new([7u8; SECRET_LEN]);
        let step = Step::of(1_700_000_000).expect("step");
        let code = code_at(&secret, step);
        assert!(matches(&secret, step, &code));
        assert!(!matches(&secret, step, &code[..7]));
        assert!(!matches(&secret, step, &format!("{code}0")));
        let other = TotpSecret::new([8u8; SECRET_LEN]);
        assert_ne!(code_at(&other, step), code);
    }

    #[test]
    fn steps_and_seconds_left() {
        assert_eq!(Step::of(-1), None);
        assert_eq!(Step::of(0), Some(Step(0)));
        assert_eq!(Step::of(29), Some(Step(0)));
        assert_eq!(Step::of(30), Some(Step(1)));
        assert_eq!(Step::secs_left(0), 30);
        assert_eq!(Step::secs_left(29), 1);
        assert_eq!(Step::secs_left(45), 15);
    }

    #[test]
    fn code_shape() {
        assert!(is_code_shaped("01234567"));
        assert!(!is_code_shaped("0123456"));
        assert!(!is_code_shaped("0123456a"));
        assert!(!is_code_shaped("０1234567"));
        assert_eq!(
            format!("{:?}", TotpSecret::new([1; 32])),
            "TotpSecret(<redacted>)"
        );
    }
}
