// SPDX-License-Identifier: Apache-2.0
//! The device-signed presentation the insured's wallet shows as a QR code.
//!
//! Text: `VL1:` || Base45( zlib?( COSE_Sign1 ) ), signed by the device key, with external AAD
//! [`EXTERNAL_AAD`] (domain separation from any other COSE object the key might sign).
//!
//! Payload (CBOR map, integer labels; 3/4/6/7 keep their CWT meanings):
//!
//! | label | meaning | type |
//! |---|---|---|
//! | 3 | audience (optional): who the insured shows it to | text (≤ 64 bytes) |
//! | 4 | expiry | seconds since the epoch |
//! | 6 | issued at | seconds since the epoch |
//! | 7 | nonce, fresh per presentation | 16 random bytes |
//! | -1 | offline mode: the full issuer credential | bytes (COSE_Sign1) |
//! | -2 | online mode: the credential id only | bytes |
//!
//! Exactly one of -1 and -2 is present; any other label, a duplicate or a text label is
//! refused (this format is ours: nothing unknown is silently skipped). The COSE protected header is `{1: -7}` only: the
//! verifier knows the device key from the credential (offline) or the server (online).
//!
//! Guarantees: [`present`] refuses a validity outside 1..=[`MAX_VALIDITY_SECS`]; [`decode`]
//! checks structure only (no signature, no time) and is bounded: text ≤
//! [`MAX_TEXT_LEN`], inflated payload ≤
//! [`MAX_PAYLOAD_LEN`].

use ciborium::value::{Integer, Value};
use ring::rand::{SecureRandom as _, SystemRandom};

use super::cose::{self, Sign1};
use super::credential::{self, ParsedCredential};
use super::{base45, zlib, QrError, MAX_PAYLOAD_LEN, MAX_TEXT_LEN, PREFIX};
use crate::keys::{PublicKey, SigningKey};

/// Default validity of a presentation, in seconds.
pub const DEFAULT_VALIDITY_SECS: u32 = 120;
/// Longest validity [`present`] accepts and the verifier tolerates, in seconds.
pub const MAX_VALIDITY_SECS: u32 = 600;
/// Length of the presentation nonce, in bytes.
pub const NONCE_LEN: usize = 16;
/// Longest audience accepted, in bytes.
pub const MAX_AUDIENCE_LEN: usize = 64;
/// External AAD of the device signature.
pub const EXTERNAL_AAD: &[u8] = b"vistalid/qr/v1";

const LABEL_AUD: i64 = 3;
const LABEL_EXP: i64 = 4;
const LABEL_IAT: i64 = 6;
const LABEL_NONCE: i64 = 7;
const LABEL_CREDENTIAL: i64 = -1;
const LABEL_CREDENTIAL_ID: i64 = -2;

/// What the presentation carries to identify the insured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresentationSource<'a> {
    /// The full issuer credential: the verifier can check everything without a network.
    Offline(&'a [u8]),
    /// Only the credential id: smaller QR code; the verifier must redeem it at the server.
    Online(&'a [u8]),
}

/// The mode a presentation was made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Carries the full credential.
    Offline,
    /// Carries only the credential id.
    Online,
}

/// A decoded presentation whose signature and times are NOT yet checked. Use
/// [`Verifier`](super::Verifier) or [`verify_with_device_key`](super::verify_with_device_key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presentation {
    pub(crate) sign1: Sign1,
    pub(crate) mode: Mode,
    /// Offline mode: the embedded credential, parsed but not yet checked.
    pub(crate) credential: Option<ParsedCredential>,
    /// The credential id (offline: the embedded credential's `cti`, not yet verified).
    pub(crate) credential_id: Vec<u8>,
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) issued_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) audience: Option<String>,
}

/// Builds, signs and encodes a presentation: returns the `VL1:` text for the QR code.
pub fn present(
    device_key: &SigningKey,
    source: PresentationSource<'_>,
    now: i64,
    validity_secs: u32,
    audience: Option<&str>,
) -> Result<String, QrError> {
    let cose = sign(device_key, source, now, validity_secs, audience)?;
    Ok(encode_text(&cose))
}

/// Builds and signs a presentation: returns the COSE_Sign1 bytes (before zlib and Base45).
pub fn sign(
    device_key: &SigningKey,
    source: PresentationSource<'_>,
    now: i64,
    validity_secs: u32,
    audience: Option<&str>,
) -> Result<Vec<u8>, QrError> {
    if validity_secs == 0 || validity_secs > MAX_VALIDITY_SECS {
        return Err(QrError::BadPresentation("validity"));
    }
    // A window that does not fit in an i64 (a clock at the end of time) is refused, never
    // cut short.
    let expires_at = match now.checked_add(i64::from(validity_secs)) {
        Some(exp) if now >= 0 => exp,
        _ => return Err(QrError::BadPresentation("iat")),
    };
    if audience.is_some_and(|a| a.is_empty() || a.len() > MAX_AUDIENCE_LEN) {
        return Err(QrError::BadPresentation("audience"));
    }
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| QrError::Signing)?;
    let mut claims = Vec::with_capacity(5);
    let (label, carried, max) = match source {
        PresentationSource::Offline(c) => (LABEL_CREDENTIAL, c, MAX_PAYLOAD_LEN),
        // The decoder refuses longer ids: never sign a presentation no verifier accepts.
        PresentationSource::Online(id) => {
            (LABEL_CREDENTIAL_ID, id, credential::MAX_CREDENTIAL_ID_LEN)
        }
    };
    if carried.is_empty() || carried.len() > max {
        return Err(QrError::BadPresentation("credential"));
    }
    claims.push((int(label), Value::Bytes(carried.to_vec())));
    if let Some(aud) = audience {
        claims.push((int(LABEL_AUD), Value::Text(aud.to_owned())));
    }
    claims.push((int(LABEL_EXP), int(expires_at)));
    claims.push((int(LABEL_IAT), int(now)));
    claims.push((int(LABEL_NONCE), Value::Bytes(nonce.to_vec())));
    let mut payload = Vec::with_capacity(carried.len() + 64);
    ciborium::into_writer(&Value::Map(claims), &mut payload).map_err(|_| QrError::BadCbor)?;
    cose::sign(device_key, None, &payload, EXTERNAL_AAD)
}

/// Encodes COSE bytes as QR text: zlib when it saves bytes, Base45, `VL1:` prefix.
pub fn encode_text(cose: &[u8]) -> String {
    let packed = zlib::deflate_if_smaller(cose);
    let mut text = String::with_capacity(PREFIX.len() + base45::encoded_len(packed.len()));
    text.push_str(PREFIX);
    text.push_str(&base45::encode(&packed));
    text
}

/// Undoes [`encode_text`] for the given prefix: strips it, decodes Base45 and inflates if the
/// bytes carry a zlib header. `VL1:` for ours; the EU DCC uses `HC1:` with the same stages.
pub fn decode_text(text: &str, prefix: &str) -> Result<Vec<u8>, QrError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(QrError::TooLarge);
    }
    let body = text.strip_prefix(prefix).ok_or(QrError::BadPrefix)?;
    let bytes = base45::decode(body)?;
    Ok(zlib::inflate_if_compressed(&bytes, MAX_PAYLOAD_LEN)?.into_owned())
}

/// The issuer key id named by the credential an offline-mode `text` carries, unverified
/// (what a key cache looks up); `None` for an online-mode text or one that does not decode.
pub fn issuer_kid_of(text: &str) -> Option<[u8; 4]> {
    decode(text).ok()?.credential?.issuer_kid()
}

/// Decodes a `VL1:` text into a [`Presentation`], checking structure only.
pub fn decode(text: &str) -> Result<Presentation, QrError> {
    let cose = decode_text(text, PREFIX)?;
    let sign1 = Sign1::parse(&cose)?;
    let Value::Map(entries) = cose::parse_cbor(sign1.payload())? else {
        return Err(QrError::BadPresentation("claims are not a map"));
    };
    let mut seen: Vec<i128> = Vec::with_capacity(entries.len());
    let (mut aud, mut exp, mut iat, mut nonce, mut cred, mut cred_id) =
        (None, None, None, None, None, None);
    for (label, value) in entries {
        let Value::Integer(label) = label else {
            return Err(QrError::BadPresentation("label"));
        };
        let label = i128::from(label);
        if seen.contains(&label) {
            return Err(QrError::BadPresentation("duplicate claim"));
        }
        seen.push(label);
        let label = i64::try_from(label).map_err(|_| QrError::BadPresentation("label"))?;
        match (label, value) {
            (LABEL_AUD, Value::Text(a)) if !a.is_empty() && a.len() <= MAX_AUDIENCE_LEN => {
                aud = Some(a)
            }
            (LABEL_EXP, v) => exp = Some(time(&v, "exp")?),
            (LABEL_IAT, v) => iat = Some(time(&v, "iat")?),
            (LABEL_NONCE, Value::Bytes(n)) => {
                nonce = Some(
                    <[u8; NONCE_LEN]>::try_from(n.as_slice())
                        .map_err(|_| QrError::BadPresentation("nonce"))?,
                )
            }
            (LABEL_CREDENTIAL, Value::Bytes(c)) if !c.is_empty() => cred = Some(c),
            (LABEL_CREDENTIAL_ID, Value::Bytes(c))
                if !c.is_empty() && c.len() <= credential::MAX_CREDENTIAL_ID_LEN =>
            {
                cred_id = Some(c)
            }
            _ => return Err(QrError::BadPresentation("unknown or ill-typed claim")),
        }
    }
    let (mode, credential, credential_id) = match (cred, cred_id) {
        (Some(c), None) => {
            let parsed = ParsedCredential::parse(&c)?;
            let id = parsed.credential_id().to_vec();
            (Mode::Offline, Some(parsed), id)
        }
        (None, Some(id)) => (Mode::Online, None, id),
        _ => return Err(QrError::BadPresentation("needs a credential or its id")),
    };
    let issued_at = iat.ok_or(QrError::BadPresentation("missing iat"))?;
    let expires_at = exp.ok_or(QrError::BadPresentation("missing exp"))?;
    let window = expires_at.checked_sub(issued_at).unwrap_or(i64::MAX);
    if window <= 0 || window > i64::from(MAX_VALIDITY_SECS) {
        return Err(QrError::BadPresentation("validity window"));
    }
    Ok(Presentation {
        sign1,
        mode,
        credential,
        credential_id,
        nonce: nonce.ok_or(QrError::BadPresentation("missing nonce"))?,
        issued_at,
        expires_at,
        audience: aud,
    })
}

impl Presentation {
    /// Offline or online mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The credential id (unverified until a signature check passes).
    pub fn credential_id(&self) -> &[u8] {
        &self.credential_id
    }

    /// Checks the device signature with `device_key`.
    pub(crate) fn check_device_signature(&self, device_key: &PublicKey) -> Result<(), QrError> {
        if self.sign1.verify(device_key, EXTERNAL_AAD)? {
            Ok(())
        } else {
            Err(QrError::BadDeviceSignature)
        }
    }

    /// Checks the presentation window at `now`, allowing `skew_secs` either way.
    pub(crate) fn check_time(&self, now: i64, skew_secs: u32) -> Result<(), QrError> {
        let skew = i64::from(skew_secs);
        if self.issued_at > now.saturating_add(skew) {
            return Err(QrError::NotYetValid);
        }
        if now > self.expires_at.saturating_add(skew) {
            return Err(QrError::Expired);
        }
        Ok(())
    }
}

fn int(i: i64) -> Value {
    Value::Integer(Integer::from(i))
}

fn time(v: &Value, what: &'static str) -> Result<i64, QrError> {
    credential::time(v, what).map_err(|_| QrError::BadPresentation(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A device-signed online presentation with the given times (no check at signing).
    fn raw(iat: i64, exp: i64) -> String {
        let key = SigningKey::make().expect("key");
        let claims = vec![
            (int(LABEL_CREDENTIAL_ID), Value::Bytes(vec![1; 8])),
            (int(LABEL_EXP), int(exp)),
            (int(LABEL_IAT), int(iat)),
            (int(LABEL_NONCE), Value::Bytes(vec![7; NONCE_LEN])),
        ];
        let mut payload = Vec::new();
        ciborium::into_writer(&Value::Map(claims), &mut payload).expect("cbor");
        encode_text(&cose::sign(&key, None, &payload, EXTERNAL_AAD).expect("sign"))
    }

    /// Issue 13 item 5 (audit): times from outside are refused without overflow. Negative
    /// times never get past `credential::time`, so the window's subtraction cannot overflow.
    #[test]
    fn extreme_times_are_refused_without_overflow() {
        for (iat, exp) in [(i64::MIN, i64::MAX), (i64::MIN, 0), (-1, i64::MAX)] {
            assert!(decode(&raw(iat, exp)).is_err(), "{iat} {exp}");
        }
        assert_eq!(
            decode(&raw(0, i64::MAX)).map(|p| p.issued_at),
            Err(QrError::BadPresentation("validity window"))
        );
        assert!(decode(&raw(1_800_000_000, 1_800_000_120)).is_ok());
    }
}
