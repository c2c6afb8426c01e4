// SPDX-License-Identifier: Apache-2.0
//! Test helpers for the attestation tests: where the real device samples are, and readers for
//! their files (PEM chains, the upstream verifier's JSON, App Attest YAML documents).
//!
//! The samples live outside the repository (`shared/vectors/attestation/`, see its README) and
//! are never copied in. The directory is `$VISTALID_VECTORS/attestation` when that variable is
//! set, else `<repo>/../shared/vectors/attestation`, else `/work/shared/vectors/attestation`.
#![allow(dead_code, unreachable_pub)]

pub mod build;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vistalid_server::attestation::{pem_certificates, TrustAnchors};
use x509_cert::der::Decode;

/// The `attestation/` directory of the shared vectors.
pub fn vectors_dir() -> PathBuf {
    let candidates = [
        std::env::var_os("VISTALID_VECTORS").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")),
        Some(PathBuf::from("/work/shared/vectors")),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(|p| p.join("attestation"))
        .find(|p| p.join("README.md").is_file())
        .expect("shared/vectors/attestation (set VISTALID_VECTORS to the vectors directory)")
}

pub fn read(rel: &str) -> String {
    std::fs::read_to_string(vectors_dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Google's roots (`android/roots.json`).
pub fn google_roots() -> TrustAnchors {
    TrustAnchors::from_roots_json(&read("android/roots.json")).expect("roots.json")
}

/// Apple's App Attestation Root CA.
pub fn apple_root() -> TrustAnchors {
    TrustAnchors::from_pem(&read("apple/apple-app-attestation-root-ca.pem")).expect("Apple root")
}

/// The DER chain of Android sample `name` (without `.pem`), leaf first.
pub fn android_chain(name: &str) -> Vec<Vec<u8>> {
    pem_certificates(&read(&format!("android/{name}.pem"))).expect("PEM chain")
}

/// Every Android sample name (`*.pem` under `android/`), sorted.
pub fn android_samples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(vectors_dir().join("android"))
        .expect("android dir")
        .map(|e| {
            e.expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8 name")
        })
        .filter_map(|n| n.strip_suffix(".pem").map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// The upstream verifier's JSON for sample `name`, `//` comment lines removed.
pub fn android_json(name: &str) -> Option<serde_json::Value> {
    let path = vectors_dir().join(format!("android/{name}.json"));
    let text = std::fs::read_to_string(path).ok()?;
    let clean: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    Some(serde_json::from_str(&clean).expect("sample JSON"))
}

/// `(latest notBefore, earliest notAfter)` over the chain's path, in Unix seconds: the window
/// in which every certificate but the last (the self-signed root, whose key is the trust
/// anchor) is valid.
pub fn validity_window(chain: &[Vec<u8>]) -> (i64, i64) {
    dates_window(&chain[..chain.len() - 1])
}

/// `(latest notBefore, earliest notAfter)` over every certificate of `certs`.
pub fn dates_window(certs: &[Vec<u8>]) -> (i64, i64) {
    let mut from = i64::MIN;
    let mut to = i64::MAX;
    for der in certs {
        let cert = x509_cert::Certificate::from_der(der).expect("certificate");
        let v = cert.tbs_certificate().validity();
        let secs = |t: x509_cert::time::Time| t.to_unix_duration().as_secs() as i64;
        from = from.max(secs(v.not_before));
        to = to.min(secs(v.not_after));
    }
    assert!(from < to, "the chain has no common validity window");
    (from, to)
}

/// A clock inside the chain's path validity window (its midpoint).
pub fn clock_inside(chain: &[Vec<u8>]) -> i64 {
    let (from, to) = validity_window(chain);
    from + (to - from) / 2
}

/// Serial numbers of the chain's certificates, lower-case hex without leading zeros.
pub fn serials(chain: &[Vec<u8>]) -> Vec<String> {
    chain
        .iter()
        .map(|der| {
            let cert = x509_cert::Certificate::from_der(der).expect("certificate");
            let hex: String = cert
                .tbs_certificate()
                .serial_number()
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            hex.trim_start_matches('0').to_owned()
        })
        .collect()
}

/// One YAML document of the App Attest samples: top-level `key: value` pairs (block scalars
/// such as `publicKey: |` joined into one string; nested maps skipped).
pub type YamlDoc = BTreeMap<String, String>;

/// Every document of every `apple/*.yaml` file, with the file name.
pub fn apple_docs() -> Vec<(String, YamlDoc)> {
    let dir = vectors_dir().join("apple");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("apple dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no App Attest YAML samples");
    let mut out = Vec::new();
    for file in files {
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&file).expect("yaml");
        for doc in text.split("\n---").map(parse_yaml_doc) {
            if !doc.is_empty() {
                out.push((name.clone(), doc));
            }
        }
    }
    out
}

fn parse_yaml_doc(text: &str) -> YamlDoc {
    let mut doc = YamlDoc::new();
    let mut block: Option<(String, String)> = None;
    for line in text.lines() {
        if line.trim() == "---" || line.trim().is_empty() {
            continue;
        }
        if let Some(stripped) = line.strip_prefix("  ") {
            if let Some((_, value)) = block.as_mut() {
                value.push_str(stripped.trim());
                value.push('\n');
            }
            continue;
        }
        if let Some((k, v)) = block.take() {
            doc.insert(k, v);
        }
        let (key, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("YAML line: {line}"));
        let value = value.trim();
        if value == "|" {
            block = Some((key.to_owned(), String::new()));
        } else if !value.is_empty() {
            doc.insert(key.to_owned(), value.trim_matches('\'').to_owned());
        }
    }
    if let Some((k, v)) = block.take() {
        doc.insert(k, v);
    }
    doc
}

/// Unix seconds of an RFC 3339 timestamp `YYYY-MM-DDTHH:MM:SS(.fff)Z`.
pub fn unix_time(ts: &str) -> i64 {
    let dt = x509_cert::der::DateTime::new(
        ts[0..4].parse().expect("year"),
        ts[5..7].parse().expect("month"),
        ts[8..10].parse().expect("day"),
        ts[11..13].parse().expect("hour"),
        ts[14..16].parse().expect("minute"),
        ts[17..19].parse().expect("second"),
    )
    .expect("date");
    dt.unix_duration().as_secs() as i64
}

pub fn b64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .expect("base64")
}

// Policies for the Android samples: the apps they were captured with.

pub use vistalid_server::attestation::{AndroidApp, AndroidPolicy};

pub const COLLECTOR: &str = "com.google.wireless.android.security.attestationverifier.collector";
pub const ATTESTATION_APP: &str = "com.google.android.attestation";
pub const VENDING: &str = "com.android.vending";
pub const GOOGLE_TEST_DIGEST: &str = "EDk47kU35Z6O55L2VFBPuDRvxrNG0LvEQV/DOfz8jsE=";
pub const VENDING_DIGEST: &str = "8P1sW0EPJcslw7UzRsiXL64w+O50Ed+RBICtay1g24M=";

pub fn apps() -> Vec<AndroidApp> {
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
pub fn lenient() -> AndroidPolicy {
    let mut p = AndroidPolicy::new(apps());
    p.require_verified_boot = false;
    p.require_device_locked = false;
    p
}

/// The default: verified boot and a locked bootloader required, TEE allowed.
pub fn strict() -> AndroidPolicy {
    AndroidPolicy::new(apps())
}

pub fn strongbox() -> AndroidPolicy {
    let mut p = strict();
    p.require_strongbox = true;
    p
}

pub fn strongbox_patch_floor(floor: u32) -> AndroidPolicy {
    let mut p = strongbox();
    p.min_os_patch_level = Some(floor);
    p
}

/// The sample's challenge (from its JSON; the invalid samples have none).
pub fn challenge(name: &str) -> Vec<u8> {
    android_json(name)
        .map(|j| b64(j["attestationChallenge"].as_str().expect("challenge")))
        .unwrap_or_else(|| b"challenge".to_vec())
}
