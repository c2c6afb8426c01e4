// SPDX-License-Identifier: Apache-2.0
//! Scan mode (issue 16): the text of the login page's QR code, and the MAC an answer to a
//! scan-mode challenge carries. One module for both sides: the server writes the text and
//! checks the MAC, the wallet reads the text and computes the MAC.
//!
//! The text is `VLSCAN1:<attempt id>.<secret>.<origin>`: the login attempt's id (22 to 64
//! base64url characters), a fresh 128-bit secret (22 base64url characters, no padding) and
//! the server's origin (`https://host[:port]`, or `http://` on a loopback host), exactly as
//! [`origin_of`] writes it (lower case, no default port, no path).
//!
//! Guarantees:
//! - [`ScanPayload::parse`] accepts only that shape; each fault has its [`ScanError`] and
//!   nothing here panics, whatever the input (a property test).
//! - The secret lives in a [`ScanSecret`]: wiped on drop, `Debug` prints `ScanSecret(***)`,
//!   no `Display`, `Serialize` or `Clone` (its bytes out only through `expose`); the
//!   payload's `Debug` shows the origin and attempt id, never the secret.
//! - The MAC is HMAC-SHA256 keyed with the secret over
//!   `"vistalid/scan-answer/v1" 0x00 <challenge id> 0x00 <decision>`: domain-separated, bound
//!   to one challenge and one decision; [`verify_answer_mac`] compares in constant time.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ring::hmac;
use zeroize::Zeroizing;

use crate::protocol::Decision;

/// The prefix of every scan-mode QR text (the format's version is in it).
pub const SCAN_PREFIX: &str = "VLSCAN1:";
/// Length of the scanned secret, in bytes (128 bits).
pub const SECRET_LEN: usize = 16;
/// Longest scan text accepted (prefix, id, secret and a 400-byte origin).
pub const MAX_SCAN_TEXT: usize = 512;
/// Shortest and longest attempt id accepted.
const ATTEMPT_ID_LEN: std::ops::RangeInclusive<usize> = 16..=64;
/// The MAC's domain-separation label.
const MAC_LABEL: &[u8] = b"vistalid/scan-answer/v1";

/// Why a scanned text is not a scan-mode QR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// Longer than [`MAX_SCAN_TEXT`].
    #[error("the scanned text is too long to be a login QR code")]
    TooLong,
    /// It does not start with [`SCAN_PREFIX`] (another QR code: a presentation, a URL).
    #[error("the scanned text is not a Vistalid login QR code")]
    NotScanText,
    /// The prefix is there but not the three dot-separated parts.
    #[error("the login QR code is malformed: it needs an attempt id, a secret and an origin")]
    Malformed,
    /// The attempt id is not 16 to 64 base64url characters.
    #[error("the login QR code's attempt id is malformed")]
    BadAttemptId,
    /// The secret is not 22 base64url characters of 16 bytes.
    #[error("the login QR code's secret is malformed")]
    BadSecret,
    /// The origin is not `https://host[:port]` (or `http://` on loopback) in its canonical
    /// form.
    #[error("the login QR code's origin is not a canonical https origin")]
    BadOrigin,
}

/// The 128-bit secret of one login attempt's QR code (see the module guarantees).
pub struct ScanSecret(Zeroizing<[u8; SECRET_LEN]>);

impl ScanSecret {
    /// Wraps `bytes` (the server's fresh random secret, or the scanned one).
    pub fn new(bytes: [u8; SECRET_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The secret from a byte slice of exactly [`SECRET_LEN`] bytes (a stored one).
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; SECRET_LEN] = bytes.try_into().ok()?;
        Some(Self::new(arr))
    }

    /// The secret's bytes. Every call site must carry an `// EXPOSE: reason` comment.
    pub fn expose(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }
}

impl fmt::Debug for ScanSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScanSecret(***)")
    }
}

/// A parsed scan-mode QR text.
pub struct ScanPayload {
    /// The server's origin (canonical, as [`origin_of`] writes it).
    pub origin: String,
    /// The login attempt's id.
    pub attempt_id: String,
    /// The attempt's secret.
    pub secret: ScanSecret,
}

impl fmt::Debug for ScanPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanPayload")
            .field("origin", &self.origin)
            .field("attempt_id", &self.attempt_id)
            .field("secret", &self.secret)
            .finish()
    }
}

impl ScanPayload {
    /// Reads a scanned text strictly (see the module guarantees); surrounding ASCII
    /// whitespace (a trailing newline of a file or a decoder) is ignored.
    pub fn parse(text: &str) -> Result<Self, ScanError> {
        if text.len() > MAX_SCAN_TEXT {
            return Err(ScanError::TooLong);
        }
        let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
        let rest = text
            .strip_prefix(SCAN_PREFIX)
            .ok_or(ScanError::NotScanText)?;
        let mut parts = rest.splitn(3, '.');
        let (Some(id), Some(secret), Some(origin)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(ScanError::Malformed);
        };
        if !ATTEMPT_ID_LEN.contains(&id.len()) || !id.bytes().all(is_b64url) {
            return Err(ScanError::BadAttemptId);
        }
        if secret.len() != 22 || !secret.bytes().all(is_b64url) {
            return Err(ScanError::BadSecret);
        }
        let bytes = Zeroizing::new(B64URL.decode(secret).map_err(|_| ScanError::BadSecret)?);
        let secret = ScanSecret::from_slice(&bytes).ok_or(ScanError::BadSecret)?;
        match origin_of(origin) {
            Some(canonical) if canonical == origin => {}
            _ => return Err(ScanError::BadOrigin),
        }
        Ok(Self {
            origin: origin.to_owned(),
            attempt_id: id.to_owned(),
            secret,
        })
    }

    /// The QR text of this payload (it holds the secret: wiped on drop).
    pub fn to_text(&self) -> Zeroizing<String> {
        // EXPOSE: the secret goes into the QR code the login page shows.
        let secret = Zeroizing::new(B64URL.encode(self.secret.expose()));
        Zeroizing::new(format!(
            "{SCAN_PREFIX}{}.{}.{}",
            self.attempt_id,
            secret.as_str(),
            self.origin
        ))
    }
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The canonical origin of `url` (`scheme://host[:port]`, lower case, no default port), when
/// it is https, or http on a loopback host (`localhost`, `127.0.0.1`, `[::1]`), without user
/// info, query or fragment; `None` otherwise. The wallet compares a scanned origin with its
/// accounts' server URLs through it.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let scheme_ok = parsed.scheme() == "https" || (parsed.scheme() == "http" && loopback);
    if !scheme_ok
        || !parsed.username().is_empty()
        || parsed.password().is_some()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return None;
    }
    match parsed.origin() {
        url::Origin::Tuple(..) => Some(parsed.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// The MAC of `decision` on challenge `challenge_id`, keyed with `secret`, base64url (43
/// characters).
pub fn answer_mac(secret: &ScanSecret, challenge_id: &str, decision: Decision) -> String {
    B64URL.encode(mac_tag(secret, challenge_id, decision).as_ref())
}

/// Whether `mac` (base64url, as [`answer_mac`] writes it) is the MAC of `decision` on
/// `challenge_id` under `secret`; compared in constant time.
pub fn verify_answer_mac(
    secret: &ScanSecret,
    challenge_id: &str,
    decision: Decision,
    mac: &str,
) -> bool {
    if mac.len() != 43 {
        return false;
    }
    let Ok(tag) = B64URL.decode(mac) else {
        return false;
    };
    // EXPOSE: the HMAC key of the answer's MAC.
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose());
    hmac::verify(&key, &mac_input(challenge_id, decision), &tag).is_ok()
}

fn mac_tag(secret: &ScanSecret, challenge_id: &str, decision: Decision) -> hmac::Tag {
    // EXPOSE: the HMAC key of the answer's MAC.
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose());
    hmac::sign(&key, &mac_input(challenge_id, decision))
}

fn mac_input(challenge_id: &str, decision: Decision) -> Vec<u8> {
    let decision: &[u8] = match decision {
        Decision::Approve => b"approve",
        Decision::Deny => b"deny",
        Decision::NotMe => b"not_me",
    };
    let mut input = Vec::with_capacity(MAC_LABEL.len() + challenge_id.len() + 16);
    input.extend_from_slice(MAC_LABEL);
    input.push(0);
    input.extend_from_slice(challenge_id.as_bytes());
    input.push(0);
    input.extend_from_slice(decision);
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

    fn payload() -> ScanPayload {
        ScanPayload {
            origin: "https://id.example:8443".into(),
            attempt_id: ID.into(),
            secret: ScanSecret::new([7; SECRET_LEN]),
        }
    }

    #[test]
    fn a_text_reads_back_and_never_shows_its_secret() {
        let text = payload().to_text();
        assert_eq!(
            text.as_str(),
            "VLSCAN1:AAAAAAAAAAAAAAAAAAAAAA.BwcHBwcHBwcHBwcHBwcHBw.https://id.example:8443"
        );
        let back = ScanPayload::parse(&format!("{}\n", text.as_str())).expect("parses");
        assert_eq!(back.origin, "https://id.example:8443");
        assert_eq!(back.attempt_id, ID);
        assert_eq!(back.secret.expose(), &[7; SECRET_LEN]);
        let debug = format!("{back:?}");
        assert!(debug.contains("ScanSecret(***)"), "{debug}");
        assert!(!debug.contains("BwcHBw"), "{debug}");
    }

    #[test]
    fn every_bad_text_has_its_error() {
        let ok = "BwcHBwcHBwcHBwcHBwcHBw";
        let cases: &[(&str, ScanError)] = &[
            ("VL1:ABC", ScanError::NotScanText),
            ("https://id.example", ScanError::NotScanText),
            ("VLSCAN1:", ScanError::Malformed),
            ("VLSCAN1:abc.def", ScanError::Malformed),
            (
                &format!("VLSCAN1:short.{ok}.https://a.example"),
                ScanError::BadAttemptId,
            ),
            (
                &format!("VLSCAN1:AAAAAAAAAAAAAAAAAAAAA+.{ok}.https://a.example"),
                ScanError::BadAttemptId,
            ),
            (
                &format!("VLSCAN1:{ID}.BwcH.https://a.example"),
                ScanError::BadSecret,
            ),
            (
                &format!("VLSCAN1:{ID}.BwcHBwcHBwcHBwcHBwcHB=.https://a.example"),
                ScanError::BadSecret,
            ),
            // 22 characters whose last one carries bits beyond 128: not canonical base64url.
            (
                &format!("VLSCAN1:{ID}.BwcHBwcHBwcHBwcHBwcHBx.https://a.example"),
                ScanError::BadSecret,
            ),
            (
                &format!("VLSCAN1:{ID}.{ok}.http://id.example"),
                ScanError::BadOrigin,
            ),
            (
                &format!("VLSCAN1:{ID}.{ok}.https://id.example/"),
                ScanError::BadOrigin,
            ),
            (
                &format!("VLSCAN1:{ID}.{ok}.https://id.example/login"),
                ScanError::BadOrigin,
            ),
            (
                &format!("VLSCAN1:{ID}.{ok}.https://ID.example"),
                ScanError::BadOrigin,
            ),
            (
                &format!("VLSCAN1:{ID}.{ok}.https://id.example:443"),
                ScanError::BadOrigin,
            ),
            (
                &format!("VLSCAN1:{ID}.{ok}.https://u@id.example"),
                ScanError::BadOrigin,
            ),
            (
                &format!("VLSCAN1:{ID}.{ok}.ftp://id.example"),
                ScanError::BadOrigin,
            ),
            (&format!("VLSCAN1:{ID}.{ok}."), ScanError::BadOrigin),
        ];
        for (text, want) in cases {
            assert_eq!(
                ScanPayload::parse(text).map(|_| ()).expect_err("refused"),
                *want,
                "{text}"
            );
        }
        let long = format!("VLSCAN1:{ID}.{ok}.https://{}.example", "a".repeat(600));
        assert_eq!(
            ScanPayload::parse(&long).expect_err("refused"),
            ScanError::TooLong
        );
        let loopback = format!("VLSCAN1:{ID}.{ok}.http://127.0.0.1:8080");
        assert!(ScanPayload::parse(&loopback).is_ok());
    }

    #[test]
    fn origins_are_canonical() {
        assert_eq!(
            origin_of("https://ID.example:443/path").as_deref(),
            Some("https://id.example")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:9000").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(origin_of("http://id.example"), None);
        assert_eq!(origin_of("https://id.example/?q=1"), None);
    }

    #[test]
    fn the_mac_binds_key_challenge_and_decision() {
        let secret = ScanSecret::new([1; SECRET_LEN]);
        let mac = answer_mac(&secret, "ch1", Decision::Approve);
        assert_eq!(mac.len(), 43);
        assert!(verify_answer_mac(&secret, "ch1", Decision::Approve, &mac));
        assert!(!verify_answer_mac(&secret, "ch1", Decision::Deny, &mac));
        assert!(!verify_answer_mac(&secret, "ch1", Decision::NotMe, &mac));
        assert!(!verify_answer_mac(&secret, "ch2", Decision::Approve, &mac));
        let other = ScanSecret::new([2; SECRET_LEN]);
        assert!(!verify_answer_mac(&other, "ch1", Decision::Approve, &mac));
        assert!(!verify_answer_mac(
            &secret,
            "ch1",
            Decision::Approve,
            "short"
        ));
        assert!(!verify_answer_mac(
            &secret,
            "ch1",
            Decision::Approve,
            &"!".repeat(43)
        ));
        // Known answer: HMAC-SHA256(01*16, "vistalid/scan-answer/v1\0ch1\0approve").
        let key = hmac::Key::new(hmac::HMAC_SHA256, &[1; SECRET_LEN]);
        let want = hmac::sign(&key, b"vistalid/scan-answer/v1\0ch1\0approve");
        assert_eq!(mac, B64URL.encode(want.as_ref()));
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(text in ".{0,600}") {
            let _ = ScanPayload::parse(&text);
        }

        #[test]
        fn parsing_after_the_prefix_never_panics(text in "[A-Za-z0-9._:/-]{0,120}") {
            let _ = ScanPayload::parse(&format!("{SCAN_PREFIX}{text}"));
        }
    }
}
