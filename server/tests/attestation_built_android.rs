// SPDX-License-Identifier: Apache-2.0
//! Android attestations the test builds itself (rcgen chains under a test root, hand-written
//! DER), for the rules the real samples cannot show: CA bits, key usage, path lengths, critical
//! extensions and name chaining; and each KeyDescription strictness rule and policy check.

mod attestation_support;

use attestation_support::build::*;
use rcgen::{BasicConstraints, CustomExtension, IsCa, KeyUsagePurpose};
use vistalid_server::attestation::{
    check_key_description, verify_android, AndroidApp, AndroidPolicy, AttestationError,
    KeyDescription, RevocationList, SecurityLevel, TrustAnchors,
};

const CHALLENGE: &[u8] = b"enrolment nonce 0123456789abcdef";

fn apps() -> Vec<AndroidApp> {
    vec![AndroidApp {
        package_name: TEST_PACKAGE.into(),
        signing_cert_digests: vec![TEST_SIGNER_DIGEST.to_vec()],
    }]
}

fn anchors(root_der: &[u8]) -> TrustAnchors {
    let mut t = TrustAnchors::new();
    t.add_certificate_der(root_der).expect("root");
    t
}

fn verify_built(chain: &[Vec<u8>]) -> Result<(), AttestationError> {
    let root = chain.last().expect("root");
    verify_android(
        chain,
        CHALLENGE,
        &AndroidPolicy::new(apps()),
        &anchors(root),
        &RevocationList::empty(),
        INSIDE,
    )
    .map(|_| ())
}

fn genuine_kd() -> Vec<u8> {
    KeyDescriptionSpec::genuine(CHALLENGE).der()
}

/// The standard chain with the link at `index` (1: attestation key cert, 2: intermediate)
/// replaced by `edit(params)`.
fn chain_with(index: usize, edit: impl FnOnce(&mut rcgen::CertificateParams)) -> Vec<Vec<u8>> {
    let mut links = android_links(genuine_kd(), p256(), p384());
    edit(&mut links[index].params);
    build_chain(links)
}

fn chain_invalid(r: Result<(), AttestationError>) -> bool {
    matches!(r, Err(AttestationError::ChainInvalid(_)))
}

mod attestation {
    use super::*;

    #[test]
    fn built_android_chain_rules_are_enforced() {
        assert_eq!(verify_built(&android_chain(genuine_kd())), Ok(()));
        // Legacy factory chains: the attestation key's certificate may be an end-entity one...
        let ee_signer = chain_with(1, |p| {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        });
        assert_eq!(
            verify_built(&ee_signer),
            Ok(()),
            "end-entity attestation key certificate"
        );
        // ...but only with digitalSignature, and only at that place.
        let no_ku = chain_with(1, |p| {
            p.is_ca = IsCa::NoCa;
            p.key_usages = vec![];
        });
        assert!(
            chain_invalid(verify_built(&no_ku)),
            "end-entity signer without key usage"
        );
        let not_ca_above = chain_with(2, |p| {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        });
        assert!(
            chain_invalid(verify_built(&not_ca_above)),
            "intermediate that is not a CA"
        );
        let no_cert_sign = chain_with(2, |p| p.key_usages = vec![KeyUsagePurpose::CrlSign]);
        assert!(
            chain_invalid(verify_built(&no_cert_sign)),
            "CA without keyCertSign"
        );
        let path_len_0 = chain_with(2, |p| p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0)));
        assert!(
            chain_invalid(verify_built(&path_len_0)),
            "path length 0 with a CA below"
        );
        let path_len_1 = chain_with(2, |p| p.is_ca = IsCa::Ca(BasicConstraints::Constrained(1)));
        assert_eq!(verify_built(&path_len_1), Ok(()), "path length 1 is enough");
        let critical = chain_with(1, |p| {
            let mut ext = CustomExtension::from_oid_content(&[1, 2, 3, 4, 5], vec![0x05, 0x00]);
            ext.set_criticality(true);
            p.custom_extensions.push(ext);
        });
        assert!(
            chain_invalid(verify_built(&critical)),
            "unknown critical extension"
        );
        let two_descriptions = chain_with(1, |p| {
            p.custom_extensions
                .push(key_description_extension(genuine_kd()))
        });
        assert!(
            chain_invalid(verify_built(&two_descriptions)),
            "KeyDescription outside the leaf"
        );
        // Name chaining: the TEE certificate replaced by one with the same key, another name.
        let good = android_chain(genuine_kd());
        let other_root = android_chain(genuine_kd());
        let mut mixed = good.clone();
        mixed[3] = other_root[3].clone();
        assert_eq!(
            verify_android(
                &mixed,
                CHALLENGE,
                &AndroidPolicy::new(apps()),
                &anchors(&good[3]),
                &RevocationList::empty(),
                INSIDE
            )
            .err(),
            Some(AttestationError::UntrustedRoot),
            "a root the chain does not lead to"
        );
        // Name chaining: the intermediate re-issued by the same root for the same key under
        // another name; every signature still verifies, only the names differ.
        let keys: Vec<rcgen::KeyPair> = vec![p256(), p256(), p256(), p384()];
        let clone_key = |k: &rcgen::KeyPair| {
            rcgen::KeyPair::try_from(k.serialize_der().as_slice()).expect("same key")
        };
        let same_keys = |i: usize| Link {
            params: rcgen::CertificateParams::default(),
            key: clone_key(&keys[i]),
        };
        let mut leaf = params("Android Keystore Key", None);
        leaf.custom_extensions
            .push(key_description_extension(genuine_kd()));
        let links = |droid_name: &str, leaf: rcgen::CertificateParams| {
            let mut l = vec![same_keys(0), same_keys(1), same_keys(2), same_keys(3)];
            l[0].params = leaf;
            l[1].params = params("Test TEE", Some(BasicConstraints::Unconstrained));
            l[2].params = params(droid_name, Some(BasicConstraints::Constrained(2)));
            l[3].params = params(
                "Test Attestation Root",
                Some(BasicConstraints::Unconstrained),
            );
            l
        };
        let good_names = build_chain(links("Test Droid CA", leaf.clone()));
        assert_eq!(verify_built(&good_names), Ok(()));
        let renamed = build_chain(links("Another name", leaf));
        assert_eq!(verify_built(&renamed), Ok(()));
        let mut name_mismatch = good_names.clone();
        name_mismatch[2] = renamed[2].clone();
        assert_eq!(
            verify_built(&name_mismatch),
            Err(AttestationError::ChainInvalid(
                "issuer name does not match the next certificate's subject"
            )),
            "issuer name differs from subject"
        );
        // The leaf must carry the extension.
        let mut bare = params("Android Keystore Key", None);
        bare.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let no_ext = build_chain(vec![
            Link {
                params: bare,
                key: p256(),
            },
            Link {
                params: params("Test Root", Some(BasicConstraints::Unconstrained)),
                key: p256(),
            },
        ]);
        assert!(matches!(
            verify_built(&no_ext),
            Err(AttestationError::Malformed(_))
        ));
        // The outer signature algorithm must equal the signed inner one.
        let mut outer = good.clone();
        let oid = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
        let at = outer[0]
            .windows(oid.len())
            .rposition(|w| w == oid)
            .expect("outer algorithm");
        outer[0][at + oid.len() - 1] = 0x03;
        assert_eq!(
            verify_built(&outer),
            Err(AttestationError::ChainInvalid(
                "inner and outer signature algorithms differ"
            ))
        );
        // Root left out: the last certificate, signed by the anchor key, must be in its dates.
        let short_lived = chain_with(2, |p| p.not_after = rcgen::date_time_ymd(2029, 1, 1));
        let anchor = anchors(&short_lived[3]);
        let run = |c: &[Vec<u8>]| {
            let policy = AndroidPolicy::new(apps());
            verify_android(
                c,
                CHALLENGE,
                &policy,
                &anchor,
                &RevocationList::empty(),
                INSIDE,
            )
            .map(|_| ())
        };
        assert_eq!(run(&short_lived), Err(AttestationError::Expired));
        assert_eq!(
            run(&short_lived[..3]),
            Err(AttestationError::Expired),
            "root left out"
        );
        // Too long a chain is refused before any signature is checked.
        let long = vec![good[0].clone(); 9];
        assert!(chain_invalid(verify_built(&long)));
    }

    #[test]
    fn built_key_descriptions_are_parsed_strictly() {
        let genuine = KeyDescriptionSpec::genuine(CHALLENGE);
        let kd = KeyDescription::parse(&genuine.der()).expect("genuine");
        assert_eq!(
            kd.attestation_security_level,
            SecurityLevel::TrustedEnvironment
        );
        assert_eq!(kd.hardware_enforced.purposes, Some(vec![2, 3]));
        assert_eq!(kd.hardware_enforced.os_patch_level, Some(202511));
        let malformed = |der: Vec<u8>, what: &str| {
            assert!(
                matches!(
                    KeyDescription::parse(&der),
                    Err(AttestationError::Malformed(_))
                ),
                "{what}: {:?}",
                KeyDescription::parse(&der)
            );
        };
        let mut swapped = genuine.clone();
        swapped.hardware.swap(0, 1);
        malformed(swapped.der(), "tags out of order");
        let mut duplicate = genuine.clone();
        duplicate.hardware.insert(1, (1, set(&[int(2)])));
        malformed(duplicate.der(), "duplicated tag");
        malformed(
            genuine.clone().set_hardware(800, octets(b"x")).der(),
            "unknown tag",
        );
        malformed(
            genuine.clone().set_hardware(721, null()).der(),
            "tag outside the schema",
        );
        malformed(
            genuine.clone().set_hardware(706, octets(b"202511")).der(),
            "patch level of the wrong type",
        );
        malformed(
            genuine.clone().set_hardware(503, int(1)).der(),
            "NULL tag with a value",
        );
        malformed(
            genuine
                .clone()
                .set_hardware(1, set_unsorted(&[int(3), int(2)]))
                .der(),
            "SET OF not sorted",
        );
        malformed(
            genuine
                .clone()
                .set_hardware(2, vec![0x02, 0x02, 0x00, 0x03])
                .der(),
            "non-minimal INTEGER",
        );
        let mut non_der_bool = root_of_trust(true, 0);
        let pos = non_der_bool
            .windows(3)
            .position(|w| w == [0x01, 0x01, 0xff])
            .expect("bool");
        non_der_bool[pos + 2] = 0x01;
        malformed(
            genuine.clone().set_hardware(704, non_der_bool).der(),
            "BOOLEAN TRUE as 0x01",
        );
        malformed(
            genuine
                .clone()
                .set_hardware(704, seq(&[octets(&[1]), boolean(true), enumerated(4)]))
                .der(),
            "boot state 4",
        );
        malformed(
            genuine
                .clone()
                .set_hardware(704, seq(&[octets(&[1]), boolean(true)]))
                .der(),
            "short root of trust",
        );
        let mut level = genuine.clone();
        level.attestation_level = 3;
        malformed(level.der(), "security level 3");
        let bad_utf8 = seq(&[
            set(&[seq(&[octets(&[0xff, 0xfe]), int(1)])]),
            set(&[octets(&[1; 32])]),
        ]);
        malformed(
            genuine.clone().set_software(709, octets(&bad_utf8)).der(),
            "package name not UTF-8",
        );
        let mut trailing_app = application_id(TEST_PACKAGE, &TEST_SIGNER_DIGEST);
        trailing_app.push(0);
        malformed(
            genuine
                .clone()
                .set_software(709, octets(&trailing_app))
                .der(),
            "bytes after the app id",
        );
        let mut implicit = genuine.der();
        let at = implicit
            .windows(2)
            .position(|w| w == [0xbf, 0x85])
            .expect("a high tag");
        implicit[at] = 0x9f; // primitive: not EXPLICIT
        malformed(implicit, "implicit tag");
        let mut trailing = genuine.der();
        trailing.push(0);
        malformed(trailing, "bytes after the KeyDescription");
        let ninth = {
            let der = genuine.der();
            // Re-wrap the eight fields plus a ninth in the outer SEQUENCE.
            let inner = x509_cert::der::asn1::AnyRef::try_from(der.as_slice())
                .expect("seq")
                .value()
                .to_vec();
            tlv(0x30, &[inner, int(1)].concat())
        };
        malformed(ninth, "a ninth field");
        let full = genuine.der();
        for cut in [0, 1, 2, full.len() / 2, full.len() - 1] {
            malformed(full[..cut].to_vec(), "truncated");
        }
        // Every schema tag of the right type is accepted, legacy Keymaster ones included.
        let mut all = genuine.clone();
        for (tag, inner) in [
            (4, set(&[int(1)])),
            (5, set(&[int(4)])),
            (6, set(&[int(1)])),
            (7, null()),
            (8, int(128)),
            (200, int(65537)),
            (203, set(&[int(4)])),
            (303, null()),
            (305, null()),
            (400, int(1)),
            (401, int(2)),
            (402, int(3)),
            (405, int(1)),
            (502, int(u32::MAX.into())),
            (504, int(2)),
            (505, int(30)),
            (506, null()),
            (507, null()),
            (508, null()),
            (509, null()),
            (600, null()),
            (601, octets(b"app")),
            (703, null()),
            (710, octets(b"brand")),
            (711, octets(b"device")),
            (712, octets(b"product")),
            (713, octets(b"serial")),
            (714, octets(b"imei")),
            (715, octets(b"meid")),
            (716, octets(b"maker")),
            (717, octets(b"model")),
            (720, null()),
            (723, octets(b"imei2")),
            (724, octets(&[9; 32])),
        ] {
            all.set_hardware(tag, inner);
        }
        let parsed = KeyDescription::parse(&all.der()).expect("every schema tag");
        assert_eq!(
            parsed.hardware_enforced.attestation_id_model.as_deref(),
            Some(&b"model"[..])
        );
        assert_eq!(parsed.hardware_enforced.module_hash, Some(vec![9; 32]));
        assert!(parsed.hardware_enforced.rollback_resistant);
    }

    #[test]
    fn built_key_description_policy_checks() {
        let policy = AndroidPolicy::new(apps());
        let check = |spec: &KeyDescriptionSpec, policy: &AndroidPolicy| {
            let kd = KeyDescription::parse(&spec.der()).expect("parse");
            check_key_description(&kd, CHALLENGE, policy).map(|_| ())
        };
        let genuine = KeyDescriptionSpec::genuine(CHALLENGE);
        assert_eq!(check(&genuine, &policy), Ok(()));
        let kd = KeyDescription::parse(&genuine.der()).expect("parse");
        assert_eq!(
            check_key_description(&kd, b"another nonce", &policy).err(),
            Some(AttestationError::ChallengeMismatch)
        );
        assert_eq!(
            check_key_description(&kd, b"", &policy).err(),
            Some(AttestationError::ChallengeMismatch)
        );
        let imported = genuine.clone().set_hardware(702, int(2)).clone();
        assert_eq!(check(&imported, &policy), Err(AttestationError::KeyOrigin));
        let mut origin_in_software = genuine.clone();
        origin_in_software
            .remove_hardware(702)
            .set_software(702, int(0));
        assert_eq!(
            check(&origin_in_software, &policy),
            Err(AttestationError::KeyOrigin)
        );
        let verify_only = genuine.clone().set_hardware(1, set(&[int(3)])).clone();
        assert_eq!(
            check(&verify_only, &policy),
            Err(AttestationError::KeyPurpose)
        );
        let mut purpose_in_software = genuine.clone();
        purpose_in_software
            .remove_hardware(1)
            .set_software(1, set(&[int(2)]));
        assert_eq!(
            check(&purpose_in_software, &policy),
            Err(AttestationError::KeyPurpose)
        );
        let mut no_rot = genuine.clone();
        no_rot.remove_hardware(704);
        assert!(matches!(
            check(&no_rot, &policy),
            Err(AttestationError::BootState(_))
        ));
        let unlocked = genuine
            .clone()
            .set_hardware(704, root_of_trust(false, 0))
            .clone();
        assert!(matches!(
            check(&unlocked, &policy),
            Err(AttestationError::BootState(_))
        ));
        let mut unlocked_ok = policy.clone();
        unlocked_ok.require_device_locked = false;
        assert_eq!(check(&unlocked, &unlocked_ok), Ok(()));
        let self_signed = genuine
            .clone()
            .set_hardware(704, root_of_trust(true, 1))
            .clone();
        assert!(matches!(
            check(&self_signed, &policy),
            Err(AttestationError::BootState(_))
        ));
        let mut boot_ok = policy.clone();
        boot_ok.require_verified_boot = false;
        assert_eq!(check(&self_signed, &boot_ok), Ok(()));
        let mut mixed = genuine.clone();
        mixed.keymint_level = 2;
        assert!(matches!(
            check(&mixed, &policy),
            Err(AttestationError::SecurityLevel(_))
        ));
        let mut software = genuine.clone();
        software.attestation_level = 0;
        software.keymint_level = 0;
        assert!(matches!(
            check(&software, &policy),
            Err(AttestationError::SecurityLevel(_))
        ));
        let mut strongbox = genuine.clone();
        strongbox.attestation_level = 2;
        strongbox.keymint_level = 2;
        let mut sb_policy = policy.clone();
        sb_policy.require_strongbox = true;
        assert_eq!(check(&strongbox, &sb_policy), Ok(()));
        assert!(matches!(
            check(&genuine, &sb_policy),
            Err(AttestationError::SecurityLevel(_))
        ));
        let mut floor = policy.clone();
        floor.min_os_patch_level = Some(202511);
        assert_eq!(check(&genuine, &floor), Ok(()), "at the floor");
        floor.min_os_patch_level = Some(202512);
        assert_eq!(
            check(&genuine, &floor),
            Err(AttestationError::PatchLevel),
            "below the floor"
        );
        let mut no_patch = genuine.clone();
        no_patch.remove_hardware(706);
        assert_eq!(
            check(&no_patch, &floor),
            Err(AttestationError::PatchLevel),
            "floor, no patch level"
        );
        assert_eq!(
            check(&no_patch, &policy),
            Ok(()),
            "no floor, no patch level"
        );
        let two_signers = seq(&[
            set(&[seq(&[octets(TEST_PACKAGE.as_bytes()), int(7)])]),
            set(&[octets(&TEST_SIGNER_DIGEST), octets(&[0x77; 32])]),
        ]);
        let extra_signer = genuine
            .clone()
            .set_software(709, octets(&two_signers))
            .clone();
        assert!(matches!(
            check(&extra_signer, &policy),
            Err(AttestationError::AppId(_))
        ));
        let unsigned = seq(&[
            set(&[seq(&[octets(TEST_PACKAGE.as_bytes()), int(7)])]),
            set(&[]),
        ]);
        let no_signer = genuine.clone().set_software(709, octets(&unsigned)).clone();
        assert!(
            matches!(check(&no_signer, &policy), Err(AttestationError::AppId(_))),
            "no signing digest"
        );
        let mut no_app = genuine.clone();
        no_app.software.retain(|(t, _)| *t != 709);
        assert!(matches!(
            check(&no_app, &policy),
            Err(AttestationError::AppId(_))
        ));
        let other_app = genuine
            .clone()
            .set_software(
                709,
                octets(&application_id("fr.evil.clone", &TEST_SIGNER_DIGEST)),
            )
            .clone();
        assert!(matches!(
            check(&other_app, &policy),
            Err(AttestationError::AppId(_))
        ));
        let mut app_in_hardware = genuine.clone();
        app_in_hardware.software.retain(|(t, _)| *t != 709);
        app_in_hardware.set_hardware(
            709,
            octets(&application_id(TEST_PACKAGE, &TEST_SIGNER_DIGEST)),
        );
        assert_eq!(
            check(&app_in_hardware, &policy),
            Ok(()),
            "app id in the hardware list"
        );
    }
}
