// SPDX-License-Identifier: Apache-2.0
//! Each Android sample's KeyDescription, parsed strictly, equals the upstream verifier's parse
//! (`NAME.json` beside each chain): every field of the JSON is compared, and every tag the
//! parser found appears in the JSON.

mod attestation_support;

use attestation_support::*;
use serde_json::Value;
use vistalid_server::attestation::{
    certificate_key_description, AuthorizationList, KeyDescription, SecurityLevel,
    VerifiedBootState,
};

mod attestation {
    use super::*;

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
