// SPDX-License-Identifier: Apache-2.0
//! The issuer credential: a CWT (RFC 8392) in a COSE_Sign1 signed by the issuer (the
//! reference server) at the insured's enrolment, binding a pseudonymous identity to the
//! wallet's device key.
//!
//! Claims (CBOR map, integer labels):
//!
//! | label | claim | type |
//! |---|---|---|
//! | 1 | `iss` issuer | text |
//! | 2 | `sub` pseudonymous subject id — never the social security number (NIR) | text |
//! | 4 | `exp` expiry | seconds since the epoch |
//! | 6 | `iat` issued at | seconds since the epoch |
//! | 7 | `cti` credential id | bytes (1–32) |
//! | 8 | `cnf` confirmation (RFC 8747): `{1: COSE_Key}` of the device key | map |
//! | -65537 | name: `[given name, family name]` (private-use label, RFC 8392 §9.1) | array of 2 texts |
//!
//! The `cnf` COSE_Key is written in its compact EC2 form (RFC 9053 §7.1.1): kty 2, crv 1
//! (P-256), x, and y as its sign bit (a boolean), which saves 32 bytes of QR; the full form
//! with a 32-byte y is accepted too. The COSE protected header carries alg ES256 and a 4-byte
//! key id (label 4), [`issuer_kid`]: the first 4 bytes of SHA-256 over the issuer's
//! uncompressed public key. The key id is only a hint that tells "issuer not trusted" apart
//! from "bad signature"; 4 bytes (not the 8 of the EU DCC) save 4 bytes of every offline QR
//! code, and a collision between trusted keys only means trying both. A credential without a
//! key id is tried against every trusted key. Unknown claims are ignored (RFC 8392 §3);
//! duplicate labels are refused.
//!
//! Size budget: the offline presentation fits QR version 13 at ECC M while `iss`, `sub` and
//! both names total at most 49 bytes of UTF-8 ([`OFFLINE_V13_TEXT_BUDGET`]); keep `iss` short.
//!
//! Guarantees: [`verify`] returns a [`Credential`] only if the issuer signature verifies with
//! one of the trusted keys, every required claim is present and well-typed, and the validity
//! window (with skew) covers `now`.

use ciborium::value::{Integer, Value};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;

use super::cose::{self, Sign1};
use super::issuer_keys::IssuerKey;
use super::QrError;
use crate::keys::{PublicKey, SigningKey};

/// Claim label of the issuer.
pub const CLAIM_ISS: i64 = 1;
/// Claim label of the pseudonymous subject.
pub const CLAIM_SUB: i64 = 2;
/// Claim label of the expiry time.
pub const CLAIM_EXP: i64 = 4;
/// Claim label of the issued-at time.
pub const CLAIM_IAT: i64 = 6;
/// Claim label of the credential id.
pub const CLAIM_CTI: i64 = 7;
/// Claim label of the confirmation (proof-of-possession) key.
pub const CLAIM_CNF: i64 = 8;
/// `cnf` member label holding a COSE_Key (RFC 8747 §3.1).
pub const CNF_COSE_KEY: i64 = 1;
/// Private-use claim label of the name, `[given name, family name]`.
pub const CLAIM_NAME: i64 = -65537;
/// Total UTF-8 bytes of `iss`, `sub`, given and family name that still let an offline
/// presentation (without audience) fit QR version 13 at ECC M.
pub const OFFLINE_V13_TEXT_BUDGET: usize = 49;
/// Length of the credential ids [`make_credential_id`] draws, in bytes. 64 random bits are
/// plenty for a lookup key that is not a secret (a presentation also needs the device
/// signature), provided the issuer refuses a duplicate when it stores one; and 8 bytes keep an
/// online-mode QR code at version 7 (16 bytes would need version 8).
pub const CREDENTIAL_ID_LEN: usize = 8;
/// Longest credential id accepted, in bytes.
pub const MAX_CREDENTIAL_ID_LEN: usize = 32;
/// Longest text claim accepted, in bytes.
pub const MAX_TEXT_CLAIM_LEN: usize = 128;

/// What the issuer asserts about the insured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialClaims {
    /// Issuer identifier (`iss`), e.g. the server's URL. Keep it short: it is in every QR.
    pub issuer: String,
    /// Pseudonymous subject id (`sub`). Never the social security number.
    pub subject: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Credential id (`cti`), unique per issued credential; the server's redemption key.
    pub credential_id: Vec<u8>,
    /// Issued at, seconds since the epoch.
    pub issued_at: i64,
    /// Expiry, seconds since the epoch.
    pub expires_at: i64,
}

/// A credential whose issuer signature, claims and validity have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The verified claims.
    pub claims: CredentialClaims,
    /// The device key the credential binds (`cnf`): only it can sign presentations.
    pub device_key: PublicKey,
    /// The trusted issuer key that signed it.
    pub issuer_key: PublicKey,
}

/// The key id of an issuer key: SHA-256 of the uncompressed SEC1 key, first 4 bytes.
pub fn issuer_kid(key: &PublicKey) -> [u8; 4] {
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_sec1());
    let mut kid = [0u8; 4];
    kid.copy_from_slice(&digest.as_ref()[..4]);
    kid
}

/// Draws a random credential id ([`CREDENTIAL_ID_LEN`] bytes) from the OS generator. The
/// issuer must still check it is unused before storing it.
pub fn make_credential_id() -> Result<[u8; CREDENTIAL_ID_LEN], QrError> {
    use ring::rand::SecureRandom as _;
    let mut id = [0u8; CREDENTIAL_ID_LEN];
    ring::rand::SystemRandom::new()
        .fill(&mut id)
        .map_err(|_| QrError::Signing)?;
    Ok(id)
}

/// Issues a credential: checks the claims, encodes them and signs with the issuer key.
pub fn issue(
    issuer: &SigningKey,
    claims: &CredentialClaims,
    device_key: &PublicKey,
) -> Result<Vec<u8>, QrError> {
    check_claims(claims)?;
    let payload = Value::Map(vec![
        (int(CLAIM_ISS), Value::Text(claims.issuer.clone())),
        (int(CLAIM_SUB), Value::Text(claims.subject.clone())),
        (int(CLAIM_EXP), int(claims.expires_at)),
        (int(CLAIM_IAT), int(claims.issued_at)),
        (int(CLAIM_CTI), Value::Bytes(claims.credential_id.clone())),
        (
            int(CLAIM_CNF),
            Value::Map(vec![(int(CNF_COSE_KEY), compact_cose_key(device_key))]),
        ),
        (
            int(CLAIM_NAME),
            Value::Array(vec![
                Value::Text(claims.given_name.clone()),
                Value::Text(claims.family_name.clone()),
            ]),
        ),
    ]);
    let mut bytes = Vec::with_capacity(192);
    ciborium::into_writer(&payload, &mut bytes).map_err(|_| QrError::BadCbor)?;
    let kid = issuer_kid(&issuer.public_key());
    cose::sign(issuer, Some(&kid), &bytes, &[])
}

/// Verifies a credential against the trusted issuer keys at time `now`, allowing
/// `skew_secs` of clock difference on `iat` and `exp`.
pub fn verify(
    bytes: &[u8],
    trusted_issuers: &[PublicKey],
    now: i64,
    skew_secs: u32,
) -> Result<Credential, QrError> {
    let keys: Vec<IssuerKey> = trusted_issuers
        .iter()
        .copied()
        .map(IssuerKey::unbounded)
        .collect();
    ParsedCredential::parse(bytes)?.check(&keys, now, skew_secs)
}

/// A credential decoded but not yet checked (signature, time). Kept inside a decoded
/// presentation so the verifier parses the credential once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedCredential {
    sign1: Sign1,
    claims: CredentialClaims,
    device_key: PublicKey,
}

impl ParsedCredential {
    /// Parses the COSE_Sign1 and its claims; checks nothing else.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, QrError> {
        let sign1 = Sign1::parse(bytes)?;
        let (claims, device_key) = decode_claims(sign1.payload())?;
        Ok(Self {
            sign1,
            claims,
            device_key,
        })
    }

    /// The credential id, unverified.
    pub(crate) fn credential_id(&self) -> &[u8] {
        &self.claims.credential_id
    }

    /// The issuer key id the credential names, unverified.
    pub(crate) fn issuer_kid(&self) -> Option<[u8; 4]> {
        self.sign1.kid().and_then(|k| <[u8; 4]>::try_from(k).ok())
    }

    /// Checks the issuer signature against `trusted_issuers`, the signing key's windows
    /// (issue 19: the credential's `iat` inside the key's signing window, the key still
    /// trusted at `now`), then the credential's validity window.
    pub(crate) fn check(
        self,
        trusted_issuers: &[IssuerKey],
        now: i64,
        skew_secs: u32,
    ) -> Result<Credential, QrError> {
        let skew = i64::from(skew_secs);
        let issuer = check_issuer_signature(&self.sign1, trusted_issuers)?;
        if !issuer.admits(self.claims.issued_at, now, skew) {
            return Err(QrError::IssuerKeyNotValid);
        }
        let issuer_key = issuer.key;
        if self.claims.issued_at > now.saturating_add(skew) {
            return Err(QrError::CredentialNotYetValid);
        }
        if now > self.claims.expires_at.saturating_add(skew) {
            return Err(QrError::CredentialExpired);
        }
        Ok(Credential {
            claims: self.claims,
            device_key: self.device_key,
            issuer_key,
        })
    }
}

/// Finds the trusted key that signed `sign1`: by key id when present, else by trying each.
fn check_issuer_signature(
    sign1: &Sign1,
    trusted_issuers: &[IssuerKey],
) -> Result<IssuerKey, QrError> {
    let mut candidates = trusted_issuers
        .iter()
        .filter(|k| sign1.kid().is_none_or(|kid| kid == issuer_kid(&k.key)))
        .peekable();
    if candidates.peek().is_none() {
        return Err(QrError::UnknownIssuer);
    }
    for key in candidates {
        if sign1.verify(&key.key, &[])? {
            return Ok(*key);
        }
    }
    Err(QrError::BadIssuerSignature)
}

/// Decodes the claims of a credential payload without checking any signature or time.
fn decode_claims(payload: &[u8]) -> Result<(CredentialClaims, PublicKey), QrError> {
    let Value::Map(entries) = cose::parse_cbor(payload)? else {
        return Err(QrError::BadCredential("claims are not a map"));
    };
    let mut seen: Vec<i128> = Vec::with_capacity(entries.len());
    let (mut iss, mut sub, mut exp, mut iat, mut cti, mut cnf, mut given, mut family) =
        (None, None, None, None, None, None, None, None);
    for (label, value) in entries {
        let Value::Integer(label) = label else {
            continue; // text-labelled claims are not ours
        };
        let label = i128::from(label);
        if seen.contains(&label) {
            return Err(QrError::BadCredential("duplicate claim"));
        }
        seen.push(label);
        match i64::try_from(label) {
            Ok(CLAIM_ISS) => iss = Some(text(value, "iss")?),
            Ok(CLAIM_SUB) => sub = Some(text(value, "sub")?),
            Ok(CLAIM_EXP) => exp = Some(time(&value, "exp")?),
            Ok(CLAIM_IAT) => iat = Some(time(&value, "iat")?),
            Ok(CLAIM_CTI) => match value {
                Value::Bytes(b) if !b.is_empty() && b.len() <= MAX_CREDENTIAL_ID_LEN => {
                    cti = Some(b)
                }
                _ => return Err(QrError::BadCredential("cti")),
            },
            Ok(CLAIM_CNF) => cnf = Some(cnf_key(&value)?),
            Ok(CLAIM_NAME) => match value {
                Value::Array(parts) => {
                    let [g, f]: [Value; 2] = parts
                        .try_into()
                        .map_err(|_| QrError::BadCredential("name"))?;
                    given = Some(text(g, "given name")?);
                    family = Some(text(f, "family name")?);
                }
                _ => return Err(QrError::BadCredential("name")),
            },
            _ => {}
        }
    }
    let claims = CredentialClaims {
        issuer: iss.ok_or(QrError::BadCredential("missing iss"))?,
        subject: sub.ok_or(QrError::BadCredential("missing sub"))?,
        given_name: given.ok_or(QrError::BadCredential("missing given name"))?,
        family_name: family.ok_or(QrError::BadCredential("missing family name"))?,
        credential_id: cti.ok_or(QrError::BadCredential("missing cti"))?,
        issued_at: iat.ok_or(QrError::BadCredential("missing iat"))?,
        expires_at: exp.ok_or(QrError::BadCredential("missing exp"))?,
    };
    if claims.expires_at <= claims.issued_at {
        return Err(QrError::BadCredential("exp is not after iat"));
    }
    let key = cnf.ok_or(QrError::BadCredential("missing cnf"))?;
    Ok((claims, key))
}

/// Checks claims before issuing, so the issuer never signs what the verifier would refuse.
fn check_claims(c: &CredentialClaims) -> Result<(), QrError> {
    for (t, what) in [
        (&c.issuer, "iss"),
        (&c.subject, "sub"),
        (&c.given_name, "given name"),
        (&c.family_name, "family name"),
    ] {
        if t.is_empty() || t.len() > MAX_TEXT_CLAIM_LEN {
            return Err(QrError::BadCredential(what));
        }
    }
    if looks_like_nir(&c.subject) {
        return Err(QrError::BadCredential(
            "sub looks like a social security number; use a pseudonymous id",
        ));
    }
    if c.credential_id.is_empty() || c.credential_id.len() > MAX_CREDENTIAL_ID_LEN {
        return Err(QrError::BadCredential("cti"));
    }
    if c.expires_at <= c.issued_at {
        return Err(QrError::BadCredential("exp is not after iat"));
    }
    Ok(())
}

/// A French social security number (NIR) is 13 digits plus a 2-digit key, first digit 1–4 or
/// 7–8 (Corsica uses 2A/2B in place of the department digits), often written with spaces.
fn looks_like_nir(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let upper = compact.to_ascii_uppercase();
    let b = upper.as_bytes();
    (b.len() == 13 || b.len() == 15)
        && b.iter()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || (i == 6 && (*c == b'A' || *c == b'B')))
}

fn int(i: i64) -> Value {
    Value::Integer(Integer::from(i))
}

fn text(v: Value, what: &'static str) -> Result<String, QrError> {
    match v {
        Value::Text(t) if !t.is_empty() && t.len() <= MAX_TEXT_CLAIM_LEN => Ok(t),
        _ => Err(QrError::BadCredential(what)),
    }
}

pub(crate) fn time(v: &Value, what: &'static str) -> Result<i64, QrError> {
    match v {
        Value::Integer(i) => i64::try_from(i128::from(*i))
            .ok()
            .filter(|t| *t >= 0)
            .ok_or(QrError::BadCredential(what)),
        _ => Err(QrError::BadCredential(what)),
    }
}

/// The device key in compact EC2 form: `{1: 2, -1: 1, -2: x, -3: sign bit of y}`.
fn compact_cose_key(key: &PublicKey) -> Value {
    let y_odd = key.y()[31] & 1 == 1;
    Value::Map(vec![
        (int(1), int(2)),
        (int(-1), int(1)),
        (int(-2), Value::Bytes(key.x().to_vec())),
        (int(-3), Value::Bool(y_odd)),
    ])
}

/// Reads `cnf` = `{1: COSE_Key}`, the key in full or compact EC2 form.
fn cnf_key(cnf: &Value) -> Result<PublicKey, QrError> {
    const BAD: QrError = QrError::BadCredential("cnf");
    let Value::Map(entries) = cnf else {
        return Err(BAD);
    };
    let [(label, key)] = entries.as_slice() else {
        return Err(BAD);
    };
    if label.as_integer().and_then(|i| i64::try_from(i).ok()) != Some(CNF_COSE_KEY) {
        return Err(BAD);
    }
    let Value::Map(fields) = key else {
        return Err(BAD);
    };
    let y_sign = fields.iter().find_map(|(k, v)| {
        let is_y = k.as_integer().and_then(|i| i64::try_from(i).ok()) == Some(-3);
        match v {
            Value::Bool(b) if is_y => Some(*b),
            _ => None,
        }
    });
    let Some(y_odd) = y_sign else {
        return PublicKey::from_cose_value(key).map_err(|_| BAD);
    };
    // Compact form: rebuild a full COSE_Key with y recovered from x and its sign bit, then let
    // the strict parser check everything else (kty, crv, alg, duplicates, lengths).
    let x = fields
        .iter()
        .find(|(k, _)| k.as_integer().and_then(|i| i64::try_from(i).ok()) == Some(-2))
        .and_then(|(_, v)| v.as_bytes())
        .filter(|x| x.len() == 32)
        .ok_or(BAD)?;
    let mut compressed = [0u8; 33];
    compressed[0] = if y_odd { 0x03 } else { 0x02 };
    compressed[1..].copy_from_slice(x);
    let point = p256::PublicKey::from_sec1_bytes(&compressed).map_err(|_| BAD)?;
    let full = point.to_encoded_point(false);
    let y = full.y().ok_or(BAD)?;
    let rebuilt = Value::Map(
        fields
            .iter()
            .map(|(k, v)| {
                let is_y = k.as_integer().and_then(|i| i64::try_from(i).ok()) == Some(-3);
                (
                    k.clone(),
                    if is_y {
                        Value::Bytes(y.to_vec())
                    } else {
                        v.clone()
                    },
                )
            })
            .collect(),
    );
    PublicKey::from_cose_value(&rebuilt).map_err(|_| BAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> CredentialClaims {
        CredentialClaims {
            issuer: "https://id.vistalid.example".into(),
            subject: "vl-3f9a2c71e04b".into(),
            given_name: "Camille".into(),
            family_name: "Durand".into(),
            credential_id: vec![7; 16],
            issued_at: 1_800_000_000,
            expires_at: 1_800_000_000 + 365 * 86_400,
        }
    }

    #[test]
    fn issue_verify_round_trip() {
        let issuer = SigningKey::make().expect("key");
        for _ in 0..8 {
            // Several device keys, so both y parities are exercised.
            let device = SigningKey::make().expect("key").public_key();
            let bytes = issue(&issuer, &claims(), &device).expect("issue");
            let other = SigningKey::make().expect("key").public_key();
            let c =
                verify(&bytes, &[other, issuer.public_key()], 1_800_000_100, 30).expect("verify");
            assert_eq!(c.claims, claims());
            assert_eq!(c.device_key, device);
            assert_eq!(c.issuer_key, issuer.public_key());
        }
    }

    #[test]
    fn refuses_untrusted_expired_and_future() {
        let issuer = SigningKey::make().expect("key");
        let device = SigningKey::make().expect("key").public_key();
        let bytes = issue(&issuer, &claims(), &device).expect("issue");
        let other = SigningKey::make().expect("key").public_key();
        let t = claims().issued_at;
        assert_eq!(verify(&bytes, &[other], t, 30), Err(QrError::UnknownIssuer));
        assert_eq!(
            verify(&bytes, &[issuer.public_key()], t - 31, 30),
            Err(QrError::CredentialNotYetValid)
        );
        assert!(verify(&bytes, &[issuer.public_key()], t - 30, 30).is_ok());
        let exp = claims().expires_at;
        assert!(verify(&bytes, &[issuer.public_key()], exp + 30, 30).is_ok());
        assert_eq!(
            verify(&bytes, &[issuer.public_key()], exp + 31, 30),
            Err(QrError::CredentialExpired)
        );
    }

    #[test]
    fn never_issues_with_a_social_security_number() {
        let issuer = SigningKey::make().expect("key");
        let device = SigningKey::make().expect("key").public_key();
        for nir in [
            "1 84 12 76 451 089 46",
            "184127645108946",
            "2 84 02 2A 123 456 78",
        ] {
            let mut c = claims();
            c.subject = nir.into();
            assert!(matches!(
                issue(&issuer, &c, &device),
                Err(QrError::BadCredential(_))
            ));
        }
    }

    #[test]
    fn full_and_compact_cnf_agree() {
        let device = SigningKey::make().expect("key").public_key();
        let compact = Value::Map(vec![(int(CNF_COSE_KEY), compact_cose_key(&device))]);
        let full = Value::Map(vec![(int(CNF_COSE_KEY), device.to_cose_value())]);
        assert_eq!(cnf_key(&compact).expect("compact"), device);
        assert_eq!(cnf_key(&full).expect("full"), device);
        let mut flipped = compact_cose_key(&device);
        if let Value::Map(f) = &mut flipped {
            f[3].1 = Value::Bool(device.y()[31] & 1 == 0);
        }
        let flipped = Value::Map(vec![(int(CNF_COSE_KEY), flipped)]);
        assert_ne!(cnf_key(&flipped).ok(), Some(device));
    }
}
