// SPDX-License-Identifier: Apache-2.0
//! Android Key Attestation against the real device samples (`shared/vectors/attestation/
//! android/`, README table): each sample gives its expected verdict under a policy that allows
//! it and under one that refuses it, at a clock inside the chain's validity window (derived
//! from its certificates); each parsed KeyDescription equals the upstream verifier's JSON;
//! revocation lists, clocks outside the window and tampered chains are refused.

mod attestation_support;

use attestation_support::*;
use serde_json::Value;
use vistalid_server::attestation::{
    certificate_key_description, check_key_description, verify_android, AndroidApp, AndroidPolicy,
    AndroidVerdict, AttestationError, AuthorizationList, KeyAlgorithm, KeyDescription,
    RevocationList, RevocationSource, SecurityLevel, TrustAnchors, VerifiedBootState,
};
use x509_cert::der::Decode as _;

const COLLECTOR: &str = "com.google.wireless.android.security.attestationverifier.collector";
const ATTESTATION_APP: &str = "com.google.android.attestation";
const VENDING: &str = "com.android.vending";
const GOOGLE_TEST_DIGEST: &str = "EDk47kU35Z6O55L2VFBPuDRvxrNG0LvEQV/DOfz8jsE=";
const VENDING_DIGEST: &str = "8P1sW0EPJcslw7UzRsiXL64w+O50Ed+RBICtay1g24M=";

fn apps() -> Vec<AndroidApp> {
    let app = |name: &str, digest: &str| AndroidApp {
        package_name: name.to_owned(),
        signing_cert_digests: vec![b64(digest)],
    };
    vec![
        app(COLLECTOR, GOOGLE_TEST_DIGEST),
        app(ATTESTATION_APP, GOOGLE_TEST_DIGEST),
        app(VENDING, VENDING_DIGEST),
    ]
}

/// TEE allowed, boot state not checked.
fn lenient() -> AndroidPolicy {
    let mut p = AndroidPolicy::new(apps());
    p.require_verified_boot = false;
    p.require_device_locked = false;
    p
}

/// The default: verified boot and a locked bootloader required, TEE allowed.
fn strict() -> AndroidPolicy {
    AndroidPolicy::new(apps())
}

fn strongbox() -> AndroidPolicy {
    let mut p = strict();
    p.require_strongbox = true;
    p
}

fn strongbox_patch_floor(floor: u32) -> AndroidPolicy {
    let mut p = strongbox();
    p.min_os_patch_level = Some(floor);
    p
}

/// The expected outcome of one verification.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Accept(SecurityLevel),
    UntrustedRoot,
    Level,
    BootState,
    PatchLevel,
    Malformed,
}

fn outcome(r: &Result<AndroidVerdict, AttestationError>) -> Expect {
    match r {
        Ok(v) => Expect::Accept(v.security_level),
        Err(AttestationError::UntrustedRoot) => Expect::UntrustedRoot,
        Err(AttestationError::SecurityLevel(_)) => Expect::Level,
        Err(AttestationError::BootState(_)) => Expect::BootState,
        Err(AttestationError::PatchLevel) => Expect::PatchLevel,
        Err(AttestationError::Malformed(_)) => Expect::Malformed,
        Err(other) => panic!("unexpected refusal {other:?}"),
    }
}

/// The README's table: sample, (policy that allows it, verdict), (policy that refuses it,
/// verdict).
/// Sample name, (allowing policy, verdict), (refusing policy, verdict).
type Case = (&'static str, (&'static str, Expect), (&'static str, Expect));

fn cases() -> Vec<Case> {
    use Expect::*;
    let tee = Accept(SecurityLevel::TrustedEnvironment);
    vec![
        (
            "akita__sdk34__TEE_EC_NONE",
            ("lenient", tee),
            ("strict", BootState),
        ),
        (
            "akita__sdk34__TEE_RSA_NONE",
            ("lenient", tee),
            ("strict", BootState),
        ),
        (
            "blueline__sdk28__TEE_EC_NONE",
            ("lenient", tee),
            ("strict", BootState),
        ),
        (
            "caiman__sdk36__TEE_EC_RKP",
            ("strict", tee),
            ("strongbox", Level),
        ),
        (
            "invalid__malformed_rot_device_locked",
            ("lenient", Malformed),
            ("strict", Malformed),
        ),
        (
            "invalid__tags_not_in_ascending_order",
            ("lenient", Malformed),
            ("strict", Malformed),
        ),
        (
            "marlin__sdk29__TEE_EC_NONE",
            ("lenient", UntrustedRoot),
            ("strict", UntrustedRoot),
        ),
        (
            "sony-xperia10-iii__sdk33__TEE_EC",
            ("strict", tee),
            ("strongbox", Level),
        ),
        (
            "tegu__sdk36__SB_EC_2026_ROOT",
            ("strongbox+patch>=202602", Accept(SecurityLevel::StrongBox)),
            ("strongbox+patch>=202603", PatchLevel),
        ),
        (
            "tegu__sdk36__TEE_EC_2026_ROOT",
            ("strict", tee),
            ("strongbox", Level),
        ),
    ]
}

fn policy(name: &str) -> AndroidPolicy {
    match name {
        "lenient" => lenient(),
        "strict" => strict(),
        "strongbox" => strongbox(),
        "strongbox+patch>=202602" => strongbox_patch_floor(202602),
        "strongbox+patch>=202603" => strongbox_patch_floor(202603),
        _ => panic!("policy {name}"),
    }
}

/// The sample's challenge (from its JSON; the invalid samples have none).
fn challenge(name: &str) -> Vec<u8> {
    android_json(name)
        .map(|j| b64(j["attestationChallenge"].as_str().expect("challenge")))
        .unwrap_or_else(|| b"challenge".to_vec())
}

fn verify(
    name: &str,
    policy: &AndroidPolicy,
    now: i64,
) -> Result<AndroidVerdict, AttestationError> {
    verify_android(
        &android_chain(name),
        &challenge(name),
        policy,
        &google_roots(),
        &RevocationList::empty(),
        now,
    )
}

mod attestation {
    use super::*;

    #[test]
    fn every_android_sample_gives_the_readme_verdict_under_both_policies() {
        let names = android_samples();
        let table = cases();
        assert_eq!(
            names,
            table.iter().map(|c| c.0.to_owned()).collect::<Vec<_>>(),
            "every sample has a row, and every row a sample"
        );
        for (name, (allow_name, allow), (refuse_name, refuse)) in table {
            let now = clock_inside(&android_chain(name));
            let allowed = outcome(&verify(name, &policy(allow_name), now));
            let refused = outcome(&verify(name, &policy(refuse_name), now));
            println!("{name} @ {now}: {allow_name} -> {allowed:?}; {refuse_name} -> {refused:?}");
            assert_eq!(allowed, allow, "{name} under {allow_name}");
            assert_eq!(refused, refuse, "{name} under {refuse_name}");
        }
    }

    #[test]
    fn accepted_android_verdicts_carry_the_attested_facts() {
        for (name, (allow_name, allow), _) in cases() {
            if !matches!(allow, Expect::Accept(_)) {
                continue;
            }
            let chain = android_chain(name);
            let json = android_json(name).expect("json");
            let v = verify(name, &policy(allow_name), clock_inside(&chain)).expect(name);
            let hw = &json["hardwareEnforced"];
            let rot = &hw["rootOfTrust"];
            assert_eq!(
                v.root_of_trust.device_locked,
                rot["deviceLocked"].as_bool().expect("locked")
            );
            let state = match rot["verifiedBootState"].as_str() {
                Some("VERIFIED") => VerifiedBootState::Verified,
                Some("UNVERIFIED") => VerifiedBootState::Unverified,
                other => panic!("{name}: boot state {other:?}"),
            };
            assert_eq!(v.root_of_trust.verified_boot_state, state, "{name}");
            let patch: u32 = hw["osPatchLevel"]
                .as_str()
                .expect("patch")
                .parse()
                .expect("int");
            assert_eq!(v.os_patch_level, Some(patch), "{name}");
            let package = json["softwareEnforced"]["attestationApplicationId"]["packages"][0]
                ["name"]
                .as_str()
                .expect("package");
            assert_eq!(v.package_name, package, "{name}");
            let leaf = x509_cert::Certificate::from_der(&chain[0]).expect("leaf");
            let spki =
                x509_cert::der::Encode::to_der(leaf.tbs_certificate().subject_public_key_info())
                    .expect("spki");
            assert_eq!(
                v.attested_key.spki_der(),
                spki.as_slice(),
                "{name}: the leaf's key"
            );
            let expected_alg = if name.contains("_RSA_") {
                KeyAlgorithm::Rsa
            } else {
                KeyAlgorithm::EcP256
            };
            assert_eq!(v.attested_key.algorithm(), expected_alg, "{name}");
            let summary = v.summary();
            assert_eq!(summary.app_id, package);
            assert_eq!(summary.security_level, v.security_level);
            assert_eq!(summary.boot_state, Some(state));
        }
    }

    #[test]
    fn android_wrong_challenge_wrong_app_or_signer_is_refused() {
        let name = "caiman__sdk36__TEE_EC_RKP";
        let chain = android_chain(name);
        let now = clock_inside(&chain);
        let roots = google_roots();
        let none = RevocationList::empty();
        let mut other_challenge = challenge(name);
        other_challenge[0] ^= 1;
        assert_eq!(
            verify_android(&chain, &other_challenge, &strict(), &roots, &none, now).err(),
            Some(AttestationError::ChallengeMismatch)
        );
        let mut wrong_digest = strict();
        wrong_digest.allowed_apps = vec![AndroidApp {
            package_name: ATTESTATION_APP.into(),
            signing_cert_digests: vec![b64(VENDING_DIGEST)],
        }];
        assert!(matches!(
            verify_android(&chain, &challenge(name), &wrong_digest, &roots, &none, now),
            Err(AttestationError::AppId(_))
        ));
        let mut wrong_package = strict();
        wrong_package
            .allowed_apps
            .retain(|a| a.package_name != ATTESTATION_APP);
        assert!(matches!(
            verify_android(&chain, &challenge(name), &wrong_package, &roots, &none, now),
            Err(AttestationError::AppId(_))
        ));
        let nobody = AndroidPolicy::new(Vec::new());
        assert!(matches!(
            verify_android(&chain, &challenge(name), &nobody, &roots, &none, now),
            Err(AttestationError::AppId(_))
        ));
    }

    #[test]
    fn android_chains_are_refused_outside_their_validity_window() {
        for (name, (allow_name, allow), _) in cases() {
            if !matches!(allow, Expect::Accept(_)) {
                continue;
            }
            let (from, to) = validity_window(&android_chain(name));
            let p = policy(allow_name);
            assert!(
                verify(name, &p, from).is_ok(),
                "{name} at its first valid second"
            );
            assert!(
                verify(name, &p, to).is_ok(),
                "{name} at its last valid second"
            );
            assert_eq!(
                verify(name, &p, to + 1).err(),
                Some(AttestationError::Expired),
                "{name}"
            );
            assert_eq!(
                verify(name, &p, from - 1).err(),
                Some(AttestationError::NotYetValid),
                "{name}"
            );
        }
        // The Sony key was created (device clock) after its chain expired: at that time, refused.
        let sony = "sony-xperia10-iii__sdk33__TEE_EC";
        let created_ms: i64 = android_json(sony).expect("json")["softwareEnforced"]
            ["creationDateTime"]
            .as_str()
            .expect("creation")
            .parse()
            .expect("ms");
        assert_eq!(
            verify(sony, &strict(), created_ms / 1000).err(),
            Some(AttestationError::Expired)
        );
    }

    #[test]
    fn android_revocation_list_naming_an_intermediate_refuses_its_chain() {
        let name = "caiman__sdk36__TEE_EC_RKP";
        let chain = android_chain(name);
        let now = clock_inside(&chain);
        let intermediate = &serials(&chain)[1];
        assert_eq!(
            intermediate, "f165849ef08b4658dd0a8ab95be53006",
            "the RKP intermediate"
        );
        let run = |list: &RevocationList| {
            verify_android(
                &chain,
                &challenge(name),
                &strict(),
                &google_roots(),
                list,
                now,
            )
        };
        let listed = |serial: &str, status: &str| {
            let json = format!(
                r#"{{"entries":{{"{serial}":{{"status":"{status}","reason":"KEY_COMPROMISE"}}}}}}"#
            );
            RevocationList::from_json(json.as_bytes()).expect("list")
        };
        assert!(
            run(&listed("deadbeef", "REVOKED")).is_ok(),
            "an unrelated serial"
        );
        assert_eq!(
            run(&listed(intermediate, "REVOKED")).err(),
            Some(AttestationError::Revoked)
        );
        assert_eq!(
            run(&listed(intermediate, "SUSPENDED")).err(),
            Some(AttestationError::Revoked)
        );
        let upper = format!("00{}", intermediate.to_uppercase());
        assert_eq!(
            run(&listed(&upper, "REVOKED")).err(),
            Some(AttestationError::Revoked),
            "spelling"
        );
        // Other chains, sharing no serial, still verify with that list.
        let tegu = "tegu__sdk36__TEE_EC_2026_ROOT";
        let tegu_chain = android_chain(tegu);
        assert!(verify_android(
            &tegu_chain,
            &challenge(tegu),
            &strict(),
            &google_roots(),
            &listed(intermediate, "REVOKED"),
            clock_inside(&tegu_chain)
        )
        .is_ok());
    }

    #[test]
    fn android_revocation_source_reloads_without_restart() {
        let name = "caiman__sdk36__TEE_EC_RKP";
        let chain = android_chain(name);
        let now = clock_inside(&chain);
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("status.json");
        std::fs::write(&path, r#"{"entries":{}}"#).expect("write");
        let source = RevocationSource::load(&path).expect("load");
        let run = |list: &RevocationList| {
            verify_android(
                &chain,
                &challenge(name),
                &strict(),
                &google_roots(),
                list,
                now,
            )
        };
        let before = source.current();
        assert!(run(&before).is_ok());
        let serial = &serials(&chain)[1];
        std::fs::write(
            &path,
            format!(r#"{{"entries":{{"{serial}":{{"status":"REVOKED"}}}}}}"#),
        )
        .expect("write");
        assert_eq!(source.reload(), Ok(1));
        assert_eq!(
            run(&source.current()).err(),
            Some(AttestationError::Revoked)
        );
        assert!(run(&before).is_ok(), "a request keeps the list it took");
        std::fs::write(&path, "{not json").expect("write");
        assert!(matches!(
            source.reload(),
            Err(AttestationError::RevocationList(_))
        ));
        assert_eq!(
            run(&source.current()).err(),
            Some(AttestationError::Revoked),
            "old list kept"
        );
        assert!(matches!(
            RevocationList::from_json(br#"{"entries":{"xyz":{"status":"REVOKED"}}}"#),
            Err(AttestationError::RevocationList(_))
        ));
        assert!(matches!(
            RevocationList::from_json(br#"{"entries":{"ab":{}}}"#),
            Err(AttestationError::RevocationList(_))
        ));
    }

    #[test]
    fn android_tampered_or_truncated_chains_are_refused() {
        let name = "tegu__sdk36__TEE_EC_2026_ROOT";
        let chain = android_chain(name);
        let now = clock_inside(&chain);
        let run = |c: &[Vec<u8>]| {
            verify_android(
                c,
                &challenge(name),
                &strict(),
                &google_roots(),
                &RevocationList::empty(),
                now,
            )
        };
        assert!(run(&chain).is_ok());
        // The root may be left out: the intermediate is then signed by an anchor key.
        assert!(run(&chain[..chain.len() - 1]).is_ok(), "root omitted");
        assert_eq!(
            run(&chain[..2]).err(),
            Some(AttestationError::UntrustedRoot),
            "no path to a root"
        );
        assert_eq!(
            run(&chain[..1]).err(),
            Some(AttestationError::UntrustedRoot),
            "leaf alone"
        );
        let mut swapped = chain.clone();
        swapped.swap(1, 2);
        assert!(matches!(
            run(&swapped).err(),
            Some(AttestationError::ChainInvalid(_))
        ));
        // One flipped byte in each certificate's signature, and one in each TBS part.
        for i in 0..chain.len() {
            let mut sig = chain.clone();
            let last = sig[i].len() - 1;
            sig[i][last] ^= 0x01;
            let err = run(&sig).err();
            let expected_root_flip = i == chain.len() - 1;
            if expected_root_flip {
                // The root is trusted by its key; its own signature is not what makes it trusted.
                assert!(err.is_none(), "root signature byte: {err:?}");
            } else {
                assert!(
                    matches!(err, Some(AttestationError::ChainInvalid(_))),
                    "cert {i} signature: {err:?}"
                );
            }
            let mut tbs = chain.clone();
            let at = tbs[i].len() / 3;
            tbs[i][at] ^= 0x01;
            let err = run(&tbs).err();
            assert!(
                matches!(
                    err,
                    Some(
                        AttestationError::ChainInvalid(_)
                            | AttestationError::Malformed(_)
                            | AttestationError::UntrustedRoot
                    )
                ),
                "cert {i} TBS byte: {err:?}"
            );
        }
        assert!(matches!(
            run(&[]).err(),
            Some(AttestationError::Malformed(_))
        ));
        assert!(matches!(
            run(&[b"not a certificate".to_vec()]).err(),
            Some(AttestationError::Malformed(_))
        ));
    }

    #[test]
    fn android_anchors_match_by_key_and_refuse_the_software_root() {
        // blueline's chain ends in the 2016 certificate of Google's RSA root; roots.json holds the
        // 2022 certificate of the same key. Matching by key is what makes it verify.
        let blueline = android_chain("blueline__sdk28__TEE_EC_NONE");
        let roots_json: Vec<String> =
            serde_json::from_str(&read("android/roots.json")).expect("json");
        let root_ders: Vec<Vec<u8>> = roots_json
            .iter()
            .flat_map(|pem| vistalid_server::attestation::pem_certificates(pem).expect("pem"))
            .collect();
        assert!(
            !root_ders.contains(blueline.last().expect("root")),
            "a different root certificate"
        );
        let mut rsa_only = TrustAnchors::new();
        rsa_only
            .add_certificate_der(&root_ders[0])
            .expect("RSA root");
        let mut ec_only = TrustAnchors::new();
        ec_only.add_certificate_der(&root_ders[1]).expect("EC root");
        let now = clock_inside(&blueline);
        let challenge = challenge("blueline__sdk28__TEE_EC_NONE");
        let none = RevocationList::empty();
        assert!(verify_android(&blueline, &challenge, &lenient(), &rsa_only, &none, now).is_ok());
        assert_eq!(
            verify_android(&blueline, &challenge, &lenient(), &ec_only, &none, now).err(),
            Some(AttestationError::UntrustedRoot)
        );
        // The 2026 chains end at the EC root only.
        let tegu = android_chain("tegu__sdk36__TEE_EC_2026_ROOT");
        assert_eq!(
            verify_android(
                &tegu,
                &super::challenge("tegu__sdk36__TEE_EC_2026_ROOT"),
                &strict(),
                &rsa_only,
                &none,
                clock_inside(&tegu)
            )
            .err(),
            Some(AttestationError::UntrustedRoot)
        );
        // The software root (marlin's) can never become an anchor.
        let marlin = android_chain("marlin__sdk29__TEE_EC_NONE");
        let mut anchors = TrustAnchors::new();
        assert!(matches!(
            anchors.add_certificate_der(marlin.last().expect("root")),
            Err(AttestationError::BadTrustAnchor(_))
        ));
        // And its KeyDescription (Software attestation level) is refused on its own, even if
        // the chain were trusted.
        let kd = KeyDescription::parse(
            &certificate_key_description(&marlin[0])
                .expect("cert")
                .expect("ext"),
        )
        .expect("parse");
        assert_eq!(kd.attestation_security_level, SecurityLevel::Software);
        assert!(matches!(
            check_key_description(
                &kd,
                &super::challenge("marlin__sdk29__TEE_EC_NONE"),
                &lenient()
            ),
            Err(AttestationError::SecurityLevel(_))
        ));
    }

    #[test]
    fn android_key_descriptions_equal_the_upstream_json() {
        let mut compared = 0;
        for name in android_samples() {
            let Some(json) = android_json(&name) else {
                assert!(name.starts_with("invalid__"), "{name} has no JSON");
                continue;
            };
            let ext = certificate_key_description(&android_chain(&name)[0])
                .expect("leaf")
                .expect("ext");
            let kd = KeyDescription::parse(&ext).unwrap_or_else(|e| panic!("{name}: {e}"));
            compare_key_description(&name, &kd, &json);
            compared += 1;
        }
        assert_eq!(compared, 8);
    }
}

fn level(s: &str) -> SecurityLevel {
    match s {
        "SOFTWARE" => SecurityLevel::Software,
        "TRUSTED_ENVIRONMENT" => SecurityLevel::TrustedEnvironment,
        "STRONG_BOX" => SecurityLevel::StrongBox,
        _ => panic!("level {s}"),
    }
}

fn num(v: &Value) -> i64 {
    v.as_str()
        .expect("number as string")
        .parse()
        .expect("number")
}

fn compare_key_description(name: &str, kd: &KeyDescription, json: &Value) {
    for (key, v) in json.as_object().expect("object") {
        match key.as_str() {
            "attestationVersion" => assert_eq!(kd.attestation_version, num(v), "{name}"),
            "keyMintVersion" => assert_eq!(kd.keymint_version, num(v), "{name}"),
            "attestationSecurityLevel" => {
                assert_eq!(
                    kd.attestation_security_level,
                    level(v.as_str().expect("s")),
                    "{name}"
                )
            }
            "keyMintSecurityLevel" => {
                assert_eq!(
                    kd.keymint_security_level,
                    level(v.as_str().expect("s")),
                    "{name}"
                )
            }
            "attestationChallenge" => {
                assert_eq!(kd.attestation_challenge, b64(v.as_str().expect("s")))
            }
            "uniqueId" => assert_eq!(kd.unique_id, b64(v.as_str().expect("s")), "{name}"),
            "softwareEnforced" => compare_list(name, "software", &kd.software_enforced, v),
            "hardwareEnforced" => compare_list(name, "hardware", &kd.hardware_enforced, v),
            other => panic!("{name}: field {other} not compared"),
        }
    }
}

/// The upstream JSON name of each tag a sample carries.
fn json_name(tag: u32) -> &'static str {
    match tag {
        1 => "purposes",
        2 => "algorithms",
        3 => "keySize",
        5 => "digests",
        6 => "paddings",
        10 => "ecCurve",
        200 => "rsaPublicExponent",
        503 => "noAuthRequired",
        701 => "creationDateTime",
        702 => "origin",
        703 => "rollbackResistant",
        704 => "rootOfTrust",
        705 => "osVersion",
        706 => "osPatchLevel",
        709 => "attestationApplicationId",
        710 => "attestationIdBrand",
        711 => "attestationIdDevice",
        712 => "attestationIdProduct",
        716 => "attestationIdManufacturer",
        717 => "attestationIdModel",
        718 => "vendorPatchLevel",
        719 => "bootPatchLevel",
        724 => "moduleHash",
        other => panic!("tag {other} has no upstream JSON name here"),
    }
}

fn compare_list(name: &str, which: &str, list: &AuthorizationList, json: &Value) {
    let obj = json.as_object().expect("object");
    for tag in &list.tags {
        assert!(
            obj.contains_key(json_name(*tag)),
            "{name} {which}: tag {tag} missing from the JSON"
        );
    }
    let ints = |v: &Value| -> Vec<i64> { v.as_array().expect("array").iter().map(num).collect() };
    let text = |v: &Value| Some(v.as_str().expect("string").as_bytes().to_vec());
    let ctx = format!("{name} {which}");
    for (key, v) in obj {
        match key.as_str() {
            "purposes" => assert_eq!(list.purposes, Some(ints(v)), "{ctx}"),
            "digests" => assert_eq!(list.digests, Some(ints(v)), "{ctx}"),
            "paddings" => assert_eq!(list.paddings, Some(ints(v)), "{ctx}"),
            "algorithms" => assert_eq!(list.algorithm, Some(num(v)), "{ctx}"),
            "keySize" => assert_eq!(list.key_size, Some(num(v)), "{ctx}"),
            "ecCurve" => assert_eq!(list.ec_curve, Some(num(v)), "{ctx}"),
            "rsaPublicExponent" => assert_eq!(list.rsa_public_exponent, Some(num(v)), "{ctx}"),
            "creationDateTime" => assert_eq!(list.creation_date_time, Some(num(v)), "{ctx}"),
            "noAuthRequired" => {
                assert_eq!(list.no_auth_required, v.as_bool().expect("bool"), "{ctx}")
            }
            "rollbackResistant" => {
                assert_eq!(list.rollback_resistant, v.as_bool().expect("bool"), "{ctx}")
            }
            "origin" => {
                assert_eq!(v.as_str(), Some("GENERATED"), "{ctx}");
                assert_eq!(list.origin, Some(0), "{ctx}");
            }
            "osVersion" => assert_eq!(list.os_version.map(i64::from), Some(num(v)), "{ctx}"),
            "osPatchLevel" => assert_eq!(list.os_patch_level.map(i64::from), Some(num(v)), "{ctx}"),
            "vendorPatchLevel" => assert_eq!(
                list.vendor_patch_level.map(i64::from),
                Some(num(v)),
                "{ctx}"
            ),
            "bootPatchLevel" => {
                assert_eq!(list.boot_patch_level.map(i64::from), Some(num(v)), "{ctx}")
            }
            "attestationIdBrand" => assert_eq!(list.attestation_id_brand, text(v), "{ctx}"),
            "attestationIdDevice" => assert_eq!(list.attestation_id_device, text(v), "{ctx}"),
            "attestationIdProduct" => assert_eq!(list.attestation_id_product, text(v), "{ctx}"),
            "attestationIdManufacturer" => {
                assert_eq!(list.attestation_id_manufacturer, text(v), "{ctx}")
            }
            "attestationIdModel" => assert_eq!(list.attestation_id_model, text(v), "{ctx}"),
            "moduleHash" => {
                assert_eq!(list.module_hash, Some(b64(v.as_str().expect("s"))), "{ctx}")
            }
            "areTagsOrdered" => {
                assert_eq!(v.as_bool(), Some(true), "{ctx}: our parser requires order")
            }
            "rootOfTrust" => {
                let rot = list.root_of_trust.as_ref().expect("root of trust");
                assert_eq!(
                    rot.verified_boot_key,
                    b64(v["verifiedBootKey"].as_str().expect("s")),
                    "{ctx}"
                );
                assert_eq!(
                    rot.device_locked,
                    v["deviceLocked"].as_bool().expect("b"),
                    "{ctx}"
                );
                let state = match v["verifiedBootState"].as_str().expect("s") {
                    "VERIFIED" => VerifiedBootState::Verified,
                    "SELF_SIGNED" => VerifiedBootState::SelfSigned,
                    "UNVERIFIED" => VerifiedBootState::Unverified,
                    "FAILED" => VerifiedBootState::Failed,
                    s => panic!("{s}"),
                };
                assert_eq!(rot.verified_boot_state, state, "{ctx}");
                assert_eq!(
                    rot.verified_boot_hash,
                    v.get("verifiedBootHash")
                        .map(|h| b64(h.as_str().expect("s"))),
                    "{ctx}"
                );
                assert_eq!(
                    v.as_object().expect("o").len(),
                    3 + usize::from(v.get("verifiedBootHash").is_some())
                );
            }
            "attestationApplicationId" => {
                let app = list.attestation_application_id.as_ref().expect("app id");
                let packages: Vec<(String, i64)> = v["packages"]
                    .as_array()
                    .expect("packages")
                    .iter()
                    .map(|p| {
                        (
                            p["name"].as_str().expect("name").to_owned(),
                            num(&p["version"]),
                        )
                    })
                    .collect();
                let parsed: Vec<(String, i64)> = app
                    .packages
                    .iter()
                    .map(|p| (p.name.clone(), p.version))
                    .collect();
                assert_eq!(parsed, packages, "{ctx}");
                let sigs: Vec<Vec<u8>> = v["signatures"]
                    .as_array()
                    .expect("signatures")
                    .iter()
                    .map(|s| b64(s.as_str().expect("s")))
                    .collect();
                assert_eq!(app.signature_digests, sigs, "{ctx}");
            }
            other => panic!("{ctx}: field {other} not compared"),
        }
    }
}
