// SPDX-License-Identifier: Apache-2.0
//! Android Key Attestation against the real device samples (`shared/vectors/attestation/
//! android/`, README table): each sample gives its expected verdict under a policy that allows
//! it and under one that refuses it, at a clock inside the chain's validity window (derived
//! from its certificates); clocks outside the window and tampered chains are refused; anchors
//! match by key. (KeyDescription against the upstream JSON, and revocation: sibling files.)

mod attestation_support;

use attestation_support::*;
use vistalid_server::attestation::{
    certificate_key_description, check_key_description, verify_android, AndroidApp, AndroidPolicy,
    AndroidVerdict, AttestationError, KeyAlgorithm, KeyDescription, RevocationList, SecurityLevel,
    TrustAnchors, VerifiedBootState,
};
use x509_cert::der::Decode as _;

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

/// One row of the README's table: sample, (policy that allows it, verdict), (policy that
/// refuses it, verdict).
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
        // A root certificate carrying an anchor key is the anchor: its own dates do not count.
        // blueline's chain ends in the 2016 certificate of Google's RSA root, expired on
        // 2026-05-24; its intermediates run to 2028.
        let blueline = "blueline__sdk28__TEE_EC_NONE";
        let chain = android_chain(blueline);
        let (_, root_not_after) = dates_window(&chain[chain.len() - 1..]);
        let after_root = root_not_after + 86_400;
        assert!(after_root < validity_window(&chain).1);
        assert!(
            verify(blueline, &lenient(), after_root).is_ok(),
            "root certificate expired, key trusted"
        );
        // A last certificate that is not an anchor (root left out) is checked like the others.
        let tegu = "tegu__sdk36__TEE_EC_2026_ROOT";
        let tegu_chain = android_chain(tegu);
        let without_root = &tegu_chain[..tegu_chain.len() - 1];
        let (from, to) = dates_window(without_root);
        let run = |c: &[Vec<u8>], now| {
            verify_android(
                c,
                &challenge(tegu),
                &strict(),
                &google_roots(),
                &RevocationList::empty(),
                now,
            )
        };
        assert!(run(without_root, to).is_ok());
        assert_eq!(
            run(without_root, to + 1).err(),
            Some(AttestationError::Expired)
        );
        assert_eq!(
            run(without_root, from - 1).err(),
            Some(AttestationError::NotYetValid)
        );
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
}
