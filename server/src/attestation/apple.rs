// SPDX-License-Identifier: Apache-2.0
//! Apple App Attest: the attestation object at enrolment, then assertions.
//!
//! [`verify_app_attest`] follows Apple's "Validating apps that connect to your server", in its
//! order: the `x5c` chain verifies to the App Attestation Root CA at `now`; the leaf's extension
//! 1.2.840.113635.100.8.2 (a DER SEQUENCE holding `[1] EXPLICIT OCTET STRING`) equals
//! SHA-256(authData ‖ clientDataHash); SHA-256 of the leaf's public key (uncompressed P-256
//! point) equals the key id; the rpIdHash is SHA-256 of an allowed app id (`TEAMID.bundle.id`);
//! the counter is 0; the aaguid is the configured environment's; the credential id equals the
//! key id; and the credential's COSE key is the leaf's key. The authData may carry bytes after
//! the COSE key that its flags do not announce (real devices send them): they are ignored.
//!
//! [`verify_app_attest_assertion`]: the signature verifies by the attested key over
//! SHA-256(authenticatorData ‖ clientDataHash) (the "nonce", which the key signs as an ECDSA
//! SHA-256 message, so the digest signed is SHA-256 of the nonce), the rpIdHash matches, and the
//! counter is strictly above the last one stored.
//!
//! CBOR shapes are strict: exactly the documented map keys, no duplicates, no trailing bytes.

use ciborium::value::Value;
use ring::digest::{digest, SHA256};
use x509_cert::der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use x509_cert::der::{Decode, Tag, TagNumber, Tagged};

use super::anchors::TrustAnchors;
use super::chain::{self, malformed, ChainRules};
use super::{
    AttestationError, AttestedKey, DeviceAttestation, KeyAlgorithm, Platform, SecurityLevel,
};

const OID_APPLE_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113635.100.8.2");
/// authData flag: attested credential data included.
const FLAG_AT: u8 = 0x40;
/// rpIdHash (32) ‖ flags (1) ‖ signCount (4).
const AUTH_DATA_HEADER_LEN: usize = 37;

/// The App Attest environment a key was made in (its aaguid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppAttestEnvironment {
    /// Development builds: aaguid `appattestdevelop`.
    Development,
    /// App Store and TestFlight builds: aaguid `appattest` followed by seven zero bytes.
    Production,
}

impl AppAttestEnvironment {
    fn aaguid(self) -> &'static [u8; 16] {
        match self {
            Self::Development => b"appattestdevelop",
            Self::Production => b"appattest\0\0\0\0\0\0\0",
        }
    }
}

/// What an App Attest attestation must show to be accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplePolicy {
    /// Allowed app ids, `TEAMID.bundle.id` (empty: none is).
    pub app_ids: Vec<String>,
    /// The environment the app is built for.
    pub environment: AppAttestEnvironment,
}

/// An accepted App Attest attestation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppleVerdict {
    /// The allowed app id whose rpIdHash matched.
    pub app_id: String,
    /// The environment (aaguid).
    pub environment: AppAttestEnvironment,
    /// The key id (SHA-256 of the attested public key).
    pub key_id: [u8; 32],
    /// The attested P-256 key, which verifies later assertions.
    pub attested_key: AttestedKey,
    /// Apple's receipt (PKCS#7), for the fraud-metric service; not verified here.
    pub receipt: Vec<u8>,
}

impl AppleVerdict {
    /// The platform-independent summary of this verdict.
    pub fn summary(&self) -> DeviceAttestation {
        DeviceAttestation {
            platform: Platform::Apple,
            security_level: SecurityLevel::SecureEnclave,
            app_id: self.app_id.clone(),
            boot_state: None,
            device_locked: None,
            os_patch_level: None,
            public_key: self.attested_key.clone(),
        }
    }
}

/// Verifies an App Attest attestation object for `key_id` (as `DCAppAttestService` returned
/// it) and `client_data_hash` (SHA-256 of the challenge data the app passed) at `now` (Unix
/// seconds), against `root` (Apple's App Attestation Root CA).
pub fn verify_app_attest(
    attestation_object: &[u8],
    key_id: &[u8],
    client_data_hash: &[u8; 32],
    policy: &ApplePolicy,
    root: &TrustAnchors,
    now: i64,
) -> Result<AppleVerdict, AttestationError> {
    let object = cbor(attestation_object, false)?;
    let [fmt, att_stmt, auth_data] = map_fields(
        &object,
        ["fmt", "attStmt", "authData"],
        "attestation object",
    )?;
    if fmt.as_text() != Some("apple-appattest") {
        return Err(malformed("attestation format is not apple-appattest"));
    }
    let [x5c, receipt] = map_fields(att_stmt, ["x5c", "receipt"], "attStmt")?;
    let x5c = x5c
        .as_array()
        .ok_or_else(|| malformed("x5c is not an array"))?
        .iter()
        .map(|c| {
            c.as_bytes()
                .cloned()
                .ok_or_else(|| malformed("x5c entry is not a byte string"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let receipt = receipt
        .as_bytes()
        .ok_or_else(|| malformed("receipt is not a byte string"))?
        .clone();
    let auth_data = auth_data
        .as_bytes()
        .ok_or_else(|| malformed("authData is not a byte string"))?;

    let certs = chain::parse_chain(&x5c)?;
    let rules = ChainRules {
        leaf_issuer_may_be_end_entity: false,
    };
    chain::verify_chain(&certs, root, now, rules)?;
    let leaf = &certs[0];

    let nonce = digest(&SHA256, &[auth_data.as_slice(), client_data_hash].concat());
    let ext = leaf
        .extension(&OID_APPLE_NONCE)
        .ok_or_else(|| malformed("leaf certificate has no App Attest nonce extension"))?;
    if nonce_from_extension(ext)? != nonce.as_ref() {
        return Err(AttestationError::ChallengeMismatch);
    }

    let key = leaf.key();
    if key.algorithm() != KeyAlgorithm::EcP256 {
        return Err(malformed("App Attest key is not P-256"));
    }
    let computed_key_id: [u8; 32] = sha256(key.public_key_bytes());
    if computed_key_id.as_slice() != key_id {
        return Err(AttestationError::KeyId);
    }

    let parsed = AuthData::parse(auth_data)?;
    let app_id = policy
        .app_ids
        .iter()
        .find(|id| sha256(id.as_bytes()) == parsed.rp_id_hash)
        .ok_or(AttestationError::AppId(
            "rpIdHash matches no allowed app id",
        ))?;
    if parsed.counter != 0 {
        return Err(AttestationError::Counter);
    }
    if parsed.flags & FLAG_AT == 0 {
        return Err(malformed("authData carries no attested credential"));
    }
    let credential = AttestedCredential::parse(parsed.rest)?;
    if credential.aaguid != policy.environment.aaguid().as_slice() {
        return Err(AttestationError::Environment);
    }
    if credential.credential_id != key_id {
        return Err(AttestationError::KeyId);
    }
    if credential.public_key != key.public_key_bytes() {
        return Err(AttestationError::KeyId);
    }
    Ok(AppleVerdict {
        app_id: app_id.clone(),
        environment: policy.environment,
        key_id: computed_key_id,
        attested_key: key.clone(),
        receipt,
    })
}

/// Verifies an App Attest assertion (CBOR `{signature, authenticatorData}`) for
/// `client_data_hash` by `public_key` (from the verdict) for `app_id`, and returns its
/// counter, which the caller stores. Refused unless the counter exceeds `last_counter`.
pub fn verify_app_attest_assertion(
    assertion: &[u8],
    client_data_hash: &[u8; 32],
    public_key: &AttestedKey,
    app_id: &str,
    last_counter: u32,
) -> Result<u32, AttestationError> {
    if public_key.algorithm() != KeyAlgorithm::EcP256 {
        return Err(malformed("App Attest key is not P-256"));
    }
    let object = cbor(assertion, false)?;
    let [signature, auth_data] =
        map_fields(&object, ["signature", "authenticatorData"], "assertion")?;
    let signature = signature
        .as_bytes()
        .ok_or_else(|| malformed("signature is not a byte string"))?;
    let auth_data = auth_data
        .as_bytes()
        .ok_or_else(|| malformed("authenticatorData is not a byte string"))?;
    let parsed = AuthData::parse(auth_data)?;
    let nonce = sha256(&[auth_data.as_slice(), client_data_hash].concat());
    public_key.verify(&nonce, signature)?;
    if parsed.rp_id_hash != sha256(app_id.as_bytes()) {
        return Err(AttestationError::AppId(
            "rpIdHash does not match the app id",
        ));
    }
    if parsed.counter <= last_counter {
        return Err(AttestationError::Counter);
    }
    Ok(parsed.counter)
}

/// The 32-byte nonce of the leaf extension: `SEQUENCE { [1] EXPLICIT OCTET STRING }`.
fn nonce_from_extension(ext: &[u8]) -> Result<[u8; 32], AttestationError> {
    let seq = AnyRef::from_der(ext)?;
    if seq.tag() != Tag::Sequence {
        return Err(malformed("App Attest nonce extension is not a SEQUENCE"));
    }
    let tagged = AnyRef::from_der(seq.value())?;
    let expected = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(1),
    };
    if tagged.tag() != expected {
        return Err(malformed("App Attest nonce is not [1] EXPLICIT"));
    }
    let octets = AnyRef::from_der(tagged.value())?.decode_as::<&OctetStringRef>()?;
    octets
        .as_bytes()
        .try_into()
        .map_err(|_| malformed("App Attest nonce is not 32 bytes"))
}

/// The fixed header of authenticator data, and what follows it.
struct AuthData<'a> {
    rp_id_hash: [u8; 32],
    flags: u8,
    counter: u32,
    rest: &'a [u8],
}

impl<'a> AuthData<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, AttestationError> {
        if bytes.len() < AUTH_DATA_HEADER_LEN {
            return Err(malformed("authenticator data too short"));
        }
        let (header, rest) = bytes.split_at(AUTH_DATA_HEADER_LEN);
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(&header[..32]);
        let counter = u32::from_be_bytes([header[33], header[34], header[35], header[36]]);
        Ok(Self {
            rp_id_hash,
            flags: header[32],
            counter,
            rest,
        })
    }
}

/// Attested credential data: aaguid ‖ credentialId length (2, big-endian) ‖ credentialId ‖
/// COSE_Key (then bytes this parser ignores).
struct AttestedCredential<'a> {
    aaguid: &'a [u8],
    credential_id: &'a [u8],
    /// The COSE key as a SEC1 uncompressed point.
    public_key: Vec<u8>,
}

impl<'a> AttestedCredential<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, AttestationError> {
        if bytes.len() < 18 {
            return Err(malformed("attested credential data too short"));
        }
        let (aaguid, rest) = bytes.split_at(16);
        let id_len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let rest = &rest[2..];
        if rest.len() < id_len {
            return Err(malformed("credential id longer than the data"));
        }
        let (credential_id, rest) = rest.split_at(id_len);
        // One CBOR item; real authData may carry more bytes than its flags announce.
        let cose = cbor(rest, true)?;
        Ok(Self {
            aaguid,
            credential_id,
            public_key: cose_p256_point(&cose)?,
        })
    }
}

/// The point of a COSE_Key that must be EC2 (1: 2), ES256 (3: -7), P-256 (-1: 1), with 32-byte
/// x (-2) and y (-3), and nothing else.
fn cose_p256_point(key: &Value) -> Result<Vec<u8>, AttestationError> {
    let entries = key
        .as_map()
        .ok_or_else(|| malformed("COSE key is not a map"))?;
    if entries.len() != 5 {
        return Err(malformed("COSE key does not have exactly five entries"));
    }
    let get = |label: i64| {
        let mut found = entries.iter().filter(|(k, _)| {
            k.as_integer()
                .is_some_and(|i| i128::from(i) == i128::from(label))
        });
        match (found.next(), found.next()) {
            (Some((_, v)), None) => Ok(v),
            _ => Err(malformed("COSE key label missing or repeated")),
        }
    };
    let int_is = |v: &Value, want: i64| {
        v.as_integer()
            .is_some_and(|i| i128::from(i) == i128::from(want))
    };
    if !int_is(get(1)?, 2) || !int_is(get(3)?, -7) || !int_is(get(-1)?, 1) {
        return Err(malformed("COSE key is not an ES256 P-256 EC2 key"));
    }
    let coord = |label| {
        get(label)?
            .as_bytes()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| malformed("COSE key coordinate is not 32 bytes"))
    };
    let mut point = vec![0x04];
    point.extend_from_slice(coord(-2)?);
    point.extend_from_slice(coord(-3)?);
    Ok(point)
}

/// Decodes one CBOR item; with `allow_trailing` false, no byte may follow it.
fn cbor(bytes: &[u8], allow_trailing: bool) -> Result<Value, AttestationError> {
    let mut rest = bytes;
    let value: Value =
        ciborium::de::from_reader(&mut rest).map_err(|_| malformed("invalid CBOR"))?;
    if !allow_trailing && !rest.is_empty() {
        return Err(malformed("bytes after the CBOR item"));
    }
    Ok(value)
}

/// The values of exactly the text keys `names` of a CBOR map (any order, no other key, no
/// duplicate).
fn map_fields<'v, const N: usize>(
    value: &'v Value,
    names: [&str; N],
    what: &str,
) -> Result<[&'v Value; N], AttestationError> {
    let entries = value
        .as_map()
        .ok_or_else(|| AttestationError::Malformed(format!("{what} is not a CBOR map")))?;
    if entries.len() != N {
        return Err(AttestationError::Malformed(format!(
            "{what} does not have exactly its {N} keys"
        )));
    }
    let mut out: [Option<&Value>; N] = [None; N];
    for (k, v) in entries {
        let slot = k
            .as_text()
            .and_then(|k| names.iter().position(|n| *n == k))
            .ok_or_else(|| AttestationError::Malformed(format!("{what} has an unexpected key")))?;
        if out[slot].replace(v).is_some() {
            return Err(AttestationError::Malformed(format!("{what} repeats a key")));
        }
    }
    if out.iter().any(Option::is_none) {
        return Err(AttestationError::Malformed(format!("{what} lacks a key")));
    }
    Ok(out.map(|o| o.expect("checked above: every key is present")))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}
