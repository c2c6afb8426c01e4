// SPDX-License-Identifier: Apache-2.0
//! Seed corpora of the attestation fuzz targets (`fuzz/corpus/attestation_android/` and
//! `fuzz/corpus/attestation_apple/`): attestations built here under a root holding the fuzz
//! seed key (`fuzz/seed-key.pkcs8.hex`, a test key), with the challenge, app and clock the
//! targets use, so the seeds verify and mutations start from the accepting path.
//!
//! `UPDATE_FUZZ_SEEDS=1 cargo test -p vistalid-server --test attestation_fuzz_seeds` rewrites
//! them, and also puts inputs taken from the real device samples into the targets' scratch
//! corpora (`fuzz/corpus-tmp/<target>/`, ignored by git: the samples are outside data and are
//! never committed). Without it, the test checks that the committed seeds still verify under
//! the targets' settings, so a format change that makes them stale fails here.
//!
//! Each seed's first byte is the target's selector (see each target's docs).

mod attestation_support;

use std::path::{Path, PathBuf};

use attestation_support::build::*;
use attestation_support::*;
use rcgen::PublicKeyData as _;
use vistalid_server::attestation::{
    pem_certificates, verify_android, verify_app_attest, verify_app_attest_assertion, AndroidApp,
    AndroidPolicy, AppAttestEnvironment, ApplePolicy, AttestedKey, RevocationList, TrustAnchors,
};

/// Must match `fuzz/fuzz_targets/attestation_android.rs`.
const CHALLENGE: &[u8] = b"vistalid fuzz seed challenge";
/// Must match `fuzz/fuzz_targets/attestation_apple.rs`.
const APP_ID: &str = "SEEDTEAM01.fr.vistalid.fuzz";
const CLIENT_DATA: &[u8] = b"vistalid fuzz seed client data";
/// Both targets' clock (inside the built certificates' validity).
const NOW: i64 = INSIDE;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn seed_pkcs8() -> Vec<u8> {
    let text = std::fs::read_to_string(fuzz_dir().join("seed-key.pkcs8.hex")).expect("seed key");
    let text = text.trim();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn seed_key() -> rcgen::KeyPair {
    rcgen::KeyPair::try_from(seed_pkcs8().as_slice()).expect("seed key is P-256 PKCS#8")
}

fn seed_anchors() -> TrustAnchors {
    let mut t = TrustAnchors::new();
    t.add_spki_der(&seed_key().subject_public_key_info())
        .expect("anchor");
    t
}

fn with_sel(sel: u8, bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![sel];
    v.extend_from_slice(bytes);
    v
}

fn android_policy() -> AndroidPolicy {
    AndroidPolicy::new(vec![AndroidApp {
        package_name: TEST_PACKAGE.into(),
        signing_cert_digests: vec![TEST_SIGNER_DIGEST.to_vec()],
    }])
}

fn apple_policy() -> ApplePolicy {
    ApplePolicy {
        app_ids: vec![APP_ID.into()],
        environment: AppAttestEnvironment::Development,
    }
}

/// Built seeds, by target.
fn built_seeds() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let kd = KeyDescriptionSpec::genuine(CHALLENGE);
    let mut strongbox = kd.clone();
    strongbox.attestation_level = 2;
    strongbox.keymint_level = 2;
    let mut rich = kd.clone();
    rich.set_hardware(724, octets(&[9; 32]))
        .set_hardware(710, octets(b"brand"))
        .set_hardware(5, set(&[int(4), int(6)]));
    let chain = android_chain_with_root(kd.der(), seed_key());
    let rich_chain = android_chain_with_root(rich.der(), seed_key());
    let root_pem = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(chain.last().expect("root"));
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("ascii"))
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    };
    let android = vec![
        with_sel(0, &kd.der()),
        with_sel(0, &strongbox.der()),
        with_sel(0, &rich.der()),
        with_sel(1, &chain.concat()),
        with_sel(1, &rich_chain.concat()),
        with_sel(2, root_pem.as_bytes()),
        with_sel(
            3,
            br#"{"entries":{"1a2b":{"status":"REVOKED","reason":"KEY_COMPROMISE"}}}"#,
        ),
    ];

    let genuine = app_attest_with_keys(
        &AppAttestSpec::genuine(APP_ID),
        CLIENT_DATA,
        seed_key(),
        seed_key(),
    );
    let trailing = app_attest_with_keys(
        &AppAttestSpec {
            trailing: vec![0xa1, 0x01, 0x02],
            ..AppAttestSpec::genuine(APP_ID)
        },
        CLIENT_DATA,
        seed_key(),
        seed_key(),
    );
    let cdh = sha256(CLIENT_DATA);
    let apple = vec![
        with_sel(0, &genuine.object),
        with_sel(0, &trailing.object),
        with_sel(1, &assertion(&seed_pkcs8(), APP_ID, 1, &cdh)),
        with_sel(1, &assertion(&seed_pkcs8(), APP_ID, 7, &cdh)),
        with_sel(2, &seed_key().subject_public_key_info()),
    ];
    vec![
        ("attestation_android", android),
        ("attestation_apple", apple),
    ]
}

/// Inputs taken from the real samples, for the scratch corpora only.
fn sample_seeds() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let mut android = Vec::new();
    for name in android_samples() {
        let chain = attestation_support::android_chain(&name);
        android.push(with_sel(1, &chain.concat()));
        if let Some(ext) =
            vistalid_server::attestation::certificate_key_description(&chain[0]).expect("leaf")
        {
            android.push(with_sel(0, &ext));
        }
    }
    android.push(with_sel(2, read("android/roots.json").as_bytes()));
    let mut apple = Vec::new();
    for (_, doc) in apple_docs() {
        match doc.get("type").map(String::as_str) {
            Some("attestation") => apple.push(with_sel(0, &b64(&doc["attestationBase64"]))),
            Some("assertion") => apple.push(with_sel(1, &b64(&doc["assertionBase64"]))),
            _ => {}
        }
    }
    vec![
        ("attestation_android", android),
        ("attestation_apple", apple),
    ]
}

fn write_all(dir: &Path, seeds: &[Vec<u8>]) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("corpus dir");
    for (i, seed) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:02}")), seed).expect("write seed");
    }
}

/// Checks that a committed seed still takes the accepting path of its target.
fn check_seed(target: &str, seed: &[u8]) {
    let (sel, rest) = seed.split_first().expect("selector");
    match (target, sel) {
        ("attestation_android", 1) => {
            let chain = split_der(rest);
            verify_android(
                &chain,
                CHALLENGE,
                &android_policy(),
                &seed_anchors(),
                &RevocationList::empty(),
                NOW,
            )
            .expect("Android chain seed verifies under the target's settings");
        }
        ("attestation_android", 0) => {
            vistalid_server::attestation::KeyDescription::parse(rest)
                .expect("KeyDescription seed parses");
        }
        ("attestation_android", 2) => {
            let pem = std::str::from_utf8(rest).expect("utf-8");
            assert_eq!(pem_certificates(pem).expect("pem").len(), 1);
            TrustAnchors::from_pem(pem).expect("anchor PEM");
        }
        ("attestation_apple", 0) => {
            let key_id = sha256(seed_key().public_key_raw());
            verify_app_attest(
                rest,
                &key_id,
                &sha256(CLIENT_DATA),
                &apple_policy(),
                &seed_anchors(),
                NOW,
            )
            .expect("App Attest seed verifies under the target's settings");
        }
        ("attestation_apple", 1) => {
            let key =
                AttestedKey::from_spki_der(&seed_key().subject_public_key_info()).expect("key");
            verify_app_attest_assertion(rest, &sha256(CLIENT_DATA), &key, APP_ID, 0)
                .expect("assertion seed");
        }
        _ => {}
    }
}

/// The elements of concatenated DER (each certificate's outer SEQUENCE).
fn split_der(mut data: &[u8]) -> Vec<Vec<u8>> {
    use x509_cert::der::Reader as _;
    let mut out = Vec::new();
    while !data.is_empty() {
        let tlv = x509_cert::der::SliceReader::new(data)
            .and_then(|mut r| r.tlv_bytes())
            .expect("a DER element");
        out.push(tlv.to_vec());
        data = &data[tlv.len()..];
    }
    out
}

mod attestation {
    use super::*;

    #[test]
    fn attestation_fuzz_seeds_are_current() {
        let update = std::env::var_os("UPDATE_FUZZ_SEEDS").is_some();
        if update {
            for (target, seeds) in built_seeds() {
                write_all(&fuzz_dir().join("corpus").join(target), &seeds);
            }
            for (target, seeds) in sample_seeds() {
                write_all(&fuzz_dir().join("corpus-tmp").join(target), &seeds);
            }
        }
        for target in ["attestation_android", "attestation_apple"] {
            let dir = fuzz_dir().join("corpus").join(target);
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap_or_else(|_| panic!("{target} has no seeds: run with UPDATE_FUZZ_SEEDS=1"))
                .map(|e| e.expect("entry").path())
                .collect();
            files.sort();
            assert!(files.len() >= 5, "{target}: {} seeds", files.len());
            for f in files {
                check_seed(target, &std::fs::read(&f).expect("seed"));
            }
        }
    }
}
