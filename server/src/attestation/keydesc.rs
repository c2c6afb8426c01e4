// SPDX-License-Identifier: Apache-2.0
//! The Android KeyDescription extension (OID 1.3.6.1.4.1.11129.2.1.17), parsed strictly.
//!
//! Schema: Android's "Key and ID attestation" page (source.android.com, `#schema`) and the
//! developer guide's extension schema, KeyMint versions 100 to 400 plus Keymaster's legacy tags
//! 600, 601 and 703. What [`KeyDescription::parse`] guarantees:
//! - strict DER throughout (the `der` crate: minimal lengths and integers, `BOOLEAN` as
//!   0x00/0xFF, no indefinite lengths), no trailing bytes at any level;
//! - exactly the eight KeyDescription fields, with their types; security levels and boot states
//!   within their enumerations;
//! - AuthorizationList entries are `[tag] EXPLICIT` fields in strictly ascending tag order
//!   (X.680 §8.6 canonical order; no duplicates), each of its schema type. A tag outside the
//!   schema is refused: the schema has no extension marker, and Google's maintainers state that
//!   parsing must fail on a tag it does not recognise (android-key-attestation PR #73);
//! - `SET OF` elements in DER order (X.690 §11.6);
//! - the attestationApplicationId OCTET STRING holds a DER `AttestationApplicationId` whose
//!   package names are UTF-8.

use x509_cert::der::asn1::{AnyRef, Null, ObjectIdentifier, OctetStringRef};
use x509_cert::der::{Decode, Reader, SliceReader, Tag, Tagged};

use super::chain::malformed;
use super::{AttestationError, SecurityLevel};

/// OID of the KeyDescription certificate extension.
pub const KEY_DESCRIPTION_OID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.1.17");

/// KeyMint `KeyOrigin::GENERATED`.
pub(crate) const ORIGIN_GENERATED: i64 = 0;
/// KeyMint `KeyPurpose::SIGN`.
pub(crate) const PURPOSE_SIGN: i64 = 2;

/// A parsed KeyDescription: what the device's secure hardware states about the attested key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyDescription {
    /// Attestation format version (e.g. 3, 4, 100, 200, 300, 400).
    pub attestation_version: i64,
    /// Where the attestation was produced.
    pub attestation_security_level: SecurityLevel,
    /// Keymaster/KeyMint version.
    pub keymint_version: i64,
    /// Where the key lives.
    pub keymint_security_level: SecurityLevel,
    /// The challenge the app passed to `setAttestationChallenge`.
    pub attestation_challenge: Vec<u8>,
    /// The unique id (empty unless the app asked for it).
    pub unique_id: Vec<u8>,
    /// Properties enforced by Android (software).
    pub software_enforced: AuthorizationList,
    /// Properties enforced by the TEE or StrongBox.
    pub hardware_enforced: AuthorizationList,
}

/// One AuthorizationList: the key's properties as enforced at one level. Fields carry the
/// schema's values; tags this module only validates are listed in [`Self::tags`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizationList {
    /// Every tag present, in order.
    pub tags: Vec<u32>,
    /// `[1]` purposes (KeyMint `KeyPurpose`: 2 = SIGN).
    pub purposes: Option<Vec<i64>>,
    /// `[2]` algorithm (1 = RSA, 3 = EC).
    pub algorithm: Option<i64>,
    /// `[3]` key size in bits.
    pub key_size: Option<i64>,
    /// `[5]` digests.
    pub digests: Option<Vec<i64>>,
    /// `[6]` paddings.
    pub paddings: Option<Vec<i64>>,
    /// `[10]` EC curve (1 = P-256).
    pub ec_curve: Option<i64>,
    /// `[200]` RSA public exponent.
    pub rsa_public_exponent: Option<i64>,
    /// `[503]` no user authentication required.
    pub no_auth_required: bool,
    /// `[701]` creation time, milliseconds since the epoch (device clock).
    pub creation_date_time: Option<i64>,
    /// `[702]` origin (0 = GENERATED).
    pub origin: Option<i64>,
    /// `[703]` rollback resistant (Keymaster 2 and 3).
    pub rollback_resistant: bool,
    /// `[704]` root of trust.
    pub root_of_trust: Option<RootOfTrust>,
    /// `[705]` OS version (e.g. 140000).
    pub os_version: Option<u32>,
    /// `[706]` OS patch level, `YYYYMM`.
    pub os_patch_level: Option<u32>,
    /// `[709]` the app that generated the key.
    pub attestation_application_id: Option<AttestationApplicationId>,
    /// `[710]` brand (ID attestation).
    pub attestation_id_brand: Option<Vec<u8>>,
    /// `[711]` device.
    pub attestation_id_device: Option<Vec<u8>>,
    /// `[712]` product.
    pub attestation_id_product: Option<Vec<u8>>,
    /// `[713]` serial.
    pub attestation_id_serial: Option<Vec<u8>>,
    /// `[714]` IMEI.
    pub attestation_id_imei: Option<Vec<u8>>,
    /// `[715]` MEID.
    pub attestation_id_meid: Option<Vec<u8>>,
    /// `[716]` manufacturer.
    pub attestation_id_manufacturer: Option<Vec<u8>>,
    /// `[717]` model.
    pub attestation_id_model: Option<Vec<u8>>,
    /// `[718]` vendor patch level, `YYYYMMDD`.
    pub vendor_patch_level: Option<u32>,
    /// `[719]` boot patch level, `YYYYMMDD`.
    pub boot_patch_level: Option<u32>,
    /// `[723]` second IMEI.
    pub attestation_id_second_imei: Option<Vec<u8>>,
    /// `[724]` module hash (KeyMint 400).
    pub module_hash: Option<Vec<u8>>,
}

/// The device's root of trust as its bootloader reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootOfTrust {
    /// Hash of the key that verified the boot image (zeros when unlocked on some devices).
    pub verified_boot_key: Vec<u8>,
    /// Whether the bootloader is locked.
    pub device_locked: bool,
    /// The verified boot state.
    pub verified_boot_state: VerifiedBootState,
    /// Hash of the verified boot data (attestation version 3 and later).
    pub verified_boot_hash: Option<Vec<u8>>,
}

/// Android verified boot state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifiedBootState {
    /// Booted with the manufacturer's keys, fully verified (green).
    Verified,
    /// Booted with a user-installed key (yellow).
    SelfSigned,
    /// Bootloader unlocked: anything may run (orange).
    Unverified,
    /// Verification failed (red).
    Failed,
}

/// The app that generated the key, as Android's package manager reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationApplicationId {
    /// The packages sharing the app's UID (usually one).
    pub packages: Vec<AttestationPackageInfo>,
    /// SHA-256 digests of the app's signing certificates.
    pub signature_digests: Vec<Vec<u8>>,
}

/// One package of an [`AttestationApplicationId`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationPackageInfo {
    /// Package name.
    pub name: String,
    /// Version code.
    pub version: i64,
}

/// The schema type of each AuthorizationList tag.
enum Kind {
    IntSet,
    Int,
    Null,
    Bytes,
    RootOfTrust,
}

fn kind(tag: u32) -> Option<Kind> {
    Some(match tag {
        1 | 4 | 5 | 6 | 203 => Kind::IntSet,
        2 | 3 | 8 | 10 | 200 | 400 | 401 | 402 | 405 | 502 | 504 | 505 | 701 | 702 | 705 | 706
        | 718 | 719 => Kind::Int,
        7 | 303 | 305 | 503 | 506 | 507 | 508 | 509 | 600 | 703 | 720 => Kind::Null,
        601 | 709 | 710 | 711 | 712 | 713 | 714 | 715 | 716 | 717 | 723 | 724 => Kind::Bytes,
        704 => Kind::RootOfTrust,
        _ => return None,
    })
}

impl KeyDescription {
    /// Parses the DER value of the KeyDescription extension (the extension's OCTET STRING
    /// content). See the module documentation for what is checked.
    pub fn parse(der: &[u8]) -> Result<Self, AttestationError> {
        let top = single(der)?;
        expect_tag(top, Tag::Sequence, "KeyDescription is not a SEQUENCE")?;
        let mut r = SliceReader::new(top.value())?;
        let attestation_version = int_i64(next(&mut r, "attestationVersion")?)?;
        let attestation_security_level = security_level(next(&mut r, "attestationSecurityLevel")?)?;
        let keymint_version = int_i64(next(&mut r, "keyMintVersion")?)?;
        let keymint_security_level = security_level(next(&mut r, "keyMintSecurityLevel")?)?;
        let attestation_challenge = octets(next(&mut r, "attestationChallenge")?)?.to_vec();
        let unique_id = octets(next(&mut r, "uniqueId")?)?.to_vec();
        let software_enforced = authorization_list(next(&mut r, "softwareEnforced")?)?;
        let hardware_enforced = authorization_list(next(&mut r, "hardwareEnforced")?)?;
        if !r.is_finished() {
            return Err(malformed("KeyDescription has more than eight fields"));
        }
        Ok(Self {
            attestation_version,
            attestation_security_level,
            keymint_version,
            keymint_security_level,
            attestation_challenge,
            unique_id,
            software_enforced,
            hardware_enforced,
        })
    }
}

fn authorization_list(any: AnyRef<'_>) -> Result<AuthorizationList, AttestationError> {
    expect_tag(any, Tag::Sequence, "AuthorizationList is not a SEQUENCE")?;
    let mut r = SliceReader::new(any.value())?;
    let mut list = AuthorizationList::default();
    while !r.is_finished() {
        let field: AnyRef<'_> = r.decode()?;
        let Tag::ContextSpecific {
            constructed: true,
            number,
        } = field.tag()
        else {
            return Err(malformed(
                "AuthorizationList entry is not an EXPLICIT context tag",
            ));
        };
        let tag = number.value();
        if list.tags.last().is_some_and(|&last| tag <= last) {
            return Err(malformed(
                "AuthorizationList tags are not in ascending order",
            ));
        }
        list.tags.push(tag);
        let value = single(field.value())?;
        let kind = kind(tag).ok_or_else(|| {
            AttestationError::Malformed(format!("unknown AuthorizationList tag {tag}"))
        })?;
        match kind {
            Kind::IntSet => {
                let set = int_set(value)?;
                match tag {
                    1 => list.purposes = Some(set),
                    5 => list.digests = Some(set),
                    6 => list.paddings = Some(set),
                    _ => {}
                }
            }
            Kind::Int => {
                let v = value.decode_as::<i128>()?;
                let as_i64 = || {
                    i64::try_from(v)
                        .map_err(|_| malformed("AuthorizationList integer out of range"))
                };
                let as_u32 = || {
                    u32::try_from(v).map_err(|_| {
                        malformed("AuthorizationList version or patch level out of range")
                    })
                };
                match tag {
                    2 => list.algorithm = Some(as_i64()?),
                    3 => list.key_size = Some(as_i64()?),
                    10 => list.ec_curve = Some(as_i64()?),
                    200 => list.rsa_public_exponent = Some(as_i64()?),
                    701 => list.creation_date_time = Some(as_i64()?),
                    702 => list.origin = Some(as_i64()?),
                    705 => list.os_version = Some(as_u32()?),
                    706 => list.os_patch_level = Some(as_u32()?),
                    718 => list.vendor_patch_level = Some(as_u32()?),
                    719 => list.boot_patch_level = Some(as_u32()?),
                    _ => {}
                }
            }
            Kind::Null => {
                value.decode_as::<Null>()?;
                match tag {
                    503 => list.no_auth_required = true,
                    703 => list.rollback_resistant = true,
                    _ => {}
                }
            }
            Kind::Bytes => {
                let bytes = octets(value)?.to_vec();
                let slot = match tag {
                    709 => {
                        list.attestation_application_id = Some(application_id(&bytes)?);
                        continue;
                    }
                    710 => &mut list.attestation_id_brand,
                    711 => &mut list.attestation_id_device,
                    712 => &mut list.attestation_id_product,
                    713 => &mut list.attestation_id_serial,
                    714 => &mut list.attestation_id_imei,
                    715 => &mut list.attestation_id_meid,
                    716 => &mut list.attestation_id_manufacturer,
                    717 => &mut list.attestation_id_model,
                    723 => &mut list.attestation_id_second_imei,
                    724 => &mut list.module_hash,
                    _ => continue,
                };
                *slot = Some(bytes);
            }
            Kind::RootOfTrust => list.root_of_trust = Some(root_of_trust(value)?),
        }
    }
    Ok(list)
}

fn root_of_trust(any: AnyRef<'_>) -> Result<RootOfTrust, AttestationError> {
    expect_tag(any, Tag::Sequence, "RootOfTrust is not a SEQUENCE")?;
    let mut r = SliceReader::new(any.value())?;
    let verified_boot_key = octets(next(&mut r, "verifiedBootKey")?)?.to_vec();
    let device_locked = next(&mut r, "deviceLocked")?.decode_as::<bool>()?;
    let verified_boot_state = match enumerated(next(&mut r, "verifiedBootState")?)? {
        0 => VerifiedBootState::Verified,
        1 => VerifiedBootState::SelfSigned,
        2 => VerifiedBootState::Unverified,
        3 => VerifiedBootState::Failed,
        _ => return Err(malformed("unknown verifiedBootState")),
    };
    let verified_boot_hash = if r.is_finished() {
        None
    } else {
        Some(octets(r.decode()?)?.to_vec())
    };
    if !r.is_finished() {
        return Err(malformed("RootOfTrust has more than four fields"));
    }
    Ok(RootOfTrust {
        verified_boot_key,
        device_locked,
        verified_boot_state,
        verified_boot_hash,
    })
}

/// Parses the DER `AttestationApplicationId` carried in tag 709's OCTET STRING.
fn application_id(der: &[u8]) -> Result<AttestationApplicationId, AttestationError> {
    let top = single(der)?;
    expect_tag(
        top,
        Tag::Sequence,
        "AttestationApplicationId is not a SEQUENCE",
    )?;
    let mut r = SliceReader::new(top.value())?;
    let packages = set_elements(next(&mut r, "package_infos")?)?
        .into_iter()
        .map(|p| {
            expect_tag(p, Tag::Sequence, "AttestationPackageInfo is not a SEQUENCE")?;
            let mut pr = SliceReader::new(p.value())?;
            let name = String::from_utf8(octets(next(&mut pr, "package_name")?)?.to_vec())
                .map_err(|_| malformed("package name is not UTF-8"))?;
            let version = int_i64(next(&mut pr, "version")?)?;
            if !pr.is_finished() {
                return Err(malformed("AttestationPackageInfo has more than two fields"));
            }
            Ok(AttestationPackageInfo { name, version })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let signature_digests = set_elements(next(&mut r, "signature_digests")?)?
        .into_iter()
        .map(|d| octets(d).map(<[u8]>::to_vec))
        .collect::<Result<Vec<_>, _>>()?;
    if !r.is_finished() {
        return Err(malformed(
            "AttestationApplicationId has more than two fields",
        ));
    }
    Ok(AttestationApplicationId {
        packages,
        signature_digests,
    })
}

/// The elements of a DER `SET OF`, checked to be in DER order (X.690 §11.6: encodings compared
/// as octet strings, the shorter padded with trailing zeros).
fn set_elements(any: AnyRef<'_>) -> Result<Vec<AnyRef<'_>>, AttestationError> {
    expect_tag(any, Tag::Set, "expected a SET OF")?;
    let mut r = SliceReader::new(any.value())?;
    let mut out = Vec::new();
    let mut previous: Option<&[u8]> = None;
    while !r.is_finished() {
        let tlv = r.tlv_bytes()?;
        if let Some(prev) = previous {
            if der_set_cmp(prev, tlv) == std::cmp::Ordering::Greater {
                return Err(malformed("SET OF elements are not in DER order"));
            }
        }
        previous = Some(tlv);
        out.push(AnyRef::from_der(tlv)?);
    }
    Ok(out)
}

fn der_set_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let len = a.len().max(b.len());
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    (0..len)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

fn int_set(any: AnyRef<'_>) -> Result<Vec<i64>, AttestationError> {
    set_elements(any)?.into_iter().map(int_i64).collect()
}

fn int_i64(any: AnyRef<'_>) -> Result<i64, AttestationError> {
    Ok(any.decode_as::<i64>()?)
}

fn enumerated(any: AnyRef<'_>) -> Result<i64, AttestationError> {
    expect_tag(any, Tag::Enumerated, "expected an ENUMERATED")?;
    // ENUMERATED content is encoded as an INTEGER's (X.690 §8.4).
    Ok(AnyRef::new(Tag::Integer, any.value())?.decode_as::<i64>()?)
}

fn security_level(any: AnyRef<'_>) -> Result<SecurityLevel, AttestationError> {
    match enumerated(any)? {
        0 => Ok(SecurityLevel::Software),
        1 => Ok(SecurityLevel::TrustedEnvironment),
        2 => Ok(SecurityLevel::StrongBox),
        _ => Err(malformed("unknown security level")),
    }
}

fn octets(any: AnyRef<'_>) -> Result<&[u8], AttestationError> {
    Ok(any.decode_as::<&OctetStringRef>()?.as_bytes())
}

fn expect_tag(any: AnyRef<'_>, tag: Tag, what: &str) -> Result<(), AttestationError> {
    if any.tag() == tag {
        Ok(())
    } else {
        Err(malformed(what))
    }
}

/// The next element of a SEQUENCE, or an error naming the missing field.
fn next<'a>(r: &mut SliceReader<'a>, field: &str) -> Result<AnyRef<'a>, AttestationError> {
    if r.is_finished() {
        return Err(AttestationError::Malformed(format!(
            "missing field {field}"
        )));
    }
    Ok(r.decode()?)
}

/// Exactly one DER element in `bytes`.
fn single(bytes: &[u8]) -> Result<AnyRef<'_>, AttestationError> {
    Ok(AnyRef::from_der(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn der_set_order_pads_the_shorter_encoding_with_zeros() {
        assert_eq!(der_set_cmp(&[2, 1, 2], &[2, 1, 3]), Ordering::Less);
        assert_eq!(der_set_cmp(&[2, 1, 3], &[2, 1, 2]), Ordering::Greater);
        assert_eq!(der_set_cmp(&[4, 1], &[4, 1, 0]), Ordering::Equal);
        assert_eq!(der_set_cmp(&[4, 1], &[4, 1, 1]), Ordering::Less);
        assert_eq!(der_set_cmp(&[], &[]), Ordering::Equal);
    }

    #[test]
    fn every_schema_kind_is_known_and_others_are_not() {
        for tag in [
            1, 2, 3, 4, 5, 6, 7, 8, 10, 200, 203, 303, 305, 400, 401, 402, 405, 502, 503, 504, 505,
            506, 507, 508, 509, 600, 601, 701, 702, 703, 704, 705, 706, 709, 710, 711, 712, 713,
            714, 715, 716, 717, 718, 719, 720, 723, 724,
        ] {
            assert!(kind(tag).is_some(), "tag {tag}");
        }
        for tag in [
            0,
            9,
            11,
            201,
            202,
            700,
            707,
            708,
            721,
            722,
            725,
            1000,
            u32::MAX,
        ] {
            assert!(kind(tag).is_none(), "tag {tag}");
        }
    }
}
