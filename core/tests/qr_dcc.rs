// SPDX-License-Identifier: Apache-2.0
//! EU Digital COVID Certificate test vectors (eu-digital-green-certificates/dgc-testdata,
//! `common/2DCode/raw/`), run stage by stage through the SAME Base45, zlib and COSE functions
//! the `VL1:` codec uses; only the prefix (`HC1:`) differs.
//!
//! For each case and each stage whose `EXPECTEDRESULTS` flag is present, the outcome must
//! equal the flag, and a successful stage's output must equal the case's field for it
//! (`BASE45`, `COMPRESSED`, `COSE`, `CBOR`). ES256 signatures are checked against the
//! case's certificate (public key from the X.509 SubjectPublicKeyInfo, key id = first 8 bytes
//! of SHA-256 of the certificate, as the DCC specifies). Other algorithms are counted and
//! printed as unsupported. Flags of stages that are not ours (schema, key usage, JSON) are
//! counted and printed as not applicable.
//!
//! The vectors are not in the repository: they live in `shared/vectors/dcc` beside it (or in
//! the folder `VISTALID_DCC_DIR` names). When they are absent the test says in one line where
//! to put them, and fails under `CI=true` (CI must run it) or skips (passes, having said so)
//! elsewhere.

mod qr_common;

use std::collections::BTreeMap;

use base64::Engine as _;
use ciborium::value::Value;
use serde_json::Value as Json;
use vistalid_core::keys::PublicKey;
use vistalid_core::qr::cose::{Sign1, ALG_ES256};
use vistalid_core::qr::{base45, presentation, zlib, QrError, MAX_PAYLOAD_LEN};

/// Where the vectors are looked for, unless `VISTALID_DCC_DIR` names another folder.
const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors/dcc");
const HCERT_CLAIM: i64 = -260;

#[derive(Default)]
struct Tally {
    checked: BTreeMap<&'static str, usize>,
    unsupported: Vec<String>,
    not_ours: BTreeMap<String, usize>,
    no_data: Vec<String>,
}

impl Tally {
    fn check(&mut self, stage: &'static str, case: &str, expected: Option<bool>, got: bool) {
        if let Some(expected) = expected {
            assert_eq!(got, expected, "{case}: stage {stage}");
            *self.checked.entry(stage).or_default() += 1;
        }
    }
}

fn hex_field(case: &Json, key: &str) -> Option<Vec<u8>> {
    case.get(key)
        .and_then(Json::as_str)
        .map(|h| hex::decode(h).expect("hex field"))
}

/// The vectors' folder, or `None` (the test is skipped) when it is absent outside CI.
fn vectors_dir() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("VISTALID_DCC_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| DIR.into());
    if dir.is_dir() {
        return Some(dir);
    }
    let line = format!(
        "EU DCC vectors not found at {}: put the JSON files of eu-digital-green-certificates/\
         dgc-testdata common/2DCode/raw/ (38 cases) in shared/vectors/dcc beside the repository, \
         or name their folder in VISTALID_DCC_DIR",
        dir.display()
    );
    assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{line}");
    println!("skipped: {line}");
    None
}

#[test]
fn dcc_vectors() {
    let Some(dir) = vectors_dir() else {
        return;
    };
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("the vectors' folder is readable")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 38, "the README promises 38 cases");
    let mut tally = Tally::default();
    for path in &paths {
        let name = path
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let case: Json =
            serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
        run_case(&name, &case, &mut tally);
    }
    let stages: Vec<String> = tally
        .checked
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    let not_ours: Vec<String> = tally
        .not_ours
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    println!(
        "DCC summary: {} cases; stage checks passed: {}; unsupported algorithm (counted, not \
         verified): {} [{}]; flags of stages not ours: {}; flags without data: [{}]",
        paths.len(),
        stages.join(", "),
        tally.unsupported.len(),
        tally.unsupported.join(", "),
        not_ours.join(", "),
        tally.no_data.join(", ")
    );
    for stage in [
        "unprefix",
        "base45",
        "compression",
        "decode",
        "verify",
        "expiration",
    ] {
        assert!(
            tally.checked.get(stage).is_some_and(|n| *n > 0),
            "{stage} never ran"
        );
    }
}

fn run_case(name: &str, case: &Json, tally: &mut Tally) {
    let expected = case["EXPECTEDRESULTS"]
        .as_object()
        .expect("EXPECTEDRESULTS");
    let flag = |k: &str| expected.get(k).and_then(Json::as_bool);
    for key in expected.keys() {
        if matches!(
            key.as_str(),
            "EXPECTEDKEYUSAGE" | "EXPECTEDSCHEMAVALIDATION" | "EXPECTEDVALIDJSON"
        ) {
            *tally.not_ours.entry(key.to_lowercase()).or_default() += 1;
        }
    }
    let ctx = &case["TESTCTX"];
    let prefix_text = case["PREFIX"].as_str().expect("PREFIX");

    // Picture: the case's PNG, read by an independent decoder, gives the PREFIX text.
    if let Some(png_b64) = case.get("2DCODE").and_then(Json::as_str) {
        let png = base64::engine::general_purpose::STANDARD
            .decode(png_b64)
            .expect("base64");
        let scanned = qr_common::scan_png(&png);
        if let Some(s) = &scanned {
            assert_eq!(s.text, prefix_text, "{name}: picture text");
        }
        tally.check(
            "picture",
            name,
            flag("EXPECTEDPICTUREDECODE"),
            scanned.is_some(),
        );
    } else if flag("EXPECTEDPICTUREDECODE").is_some() {
        tally.no_data.push(format!("{name}:picture"));
    }

    // Stage 1: prefix.
    let body = prefix_text.strip_prefix("HC1:");
    tally.check("unprefix", name, flag("EXPECTEDUNPREFIX"), body.is_some());
    let Some(body) = body else {
        return after_failure(name, &flag, "unprefix");
    };
    if let Some(b45) = case.get("BASE45").and_then(Json::as_str) {
        assert_eq!(body, b45, "{name}: BASE45");
    }

    // Stage 2: Base45.
    let compressed = base45::decode(body);
    tally.check(
        "base45",
        name,
        flag("EXPECTEDB45DECODE"),
        compressed.is_ok(),
    );
    let Ok(compressed) = compressed else {
        return after_failure(name, &flag, "base45");
    };
    if let Some(want) = hex_field(case, "COMPRESSED") {
        assert_eq!(compressed, want, "{name}: COMPRESSED");
    }

    // Stage 3: zlib (mandatory in the DCC, so the strict `inflate`).
    let cose = zlib::inflate(&compressed, MAX_PAYLOAD_LEN);
    tally.check(
        "compression",
        name,
        flag("EXPECTEDCOMPRESSION"),
        cose.is_ok(),
    );
    let Ok(cose) = cose else {
        return after_failure(name, &flag, "compression");
    };
    if let Some(want) = hex_field(case, "COSE") {
        assert_eq!(cose, want, "{name}: COSE");
    }
    // The one-call text decoder gives the same bytes with the DCC prefix.
    assert_eq!(
        presentation::decode_text(prefix_text, "HC1:").expect("same stages"),
        cose
    );

    // Stage 4: COSE_Sign1 and the CWT payload with the hcert claim.
    let sign1 = Sign1::parse(&cose);
    let claims = sign1.as_ref().ok().and_then(|s| cwt_claims(s.payload()));
    let dgc = claims
        .as_ref()
        .and_then(|c| c.get(&HCERT_CLAIM))
        .and_then(|h| {
            h.as_map()
                .and_then(|m| m.iter().find(|(k, _)| k.as_integer() == Some(1.into())))
                .map(|(_, v)| v.clone())
                .filter(Value::is_map) // a DGC is a map (CBO1 has a byte string there)
        });
    tally.check("decode", name, flag("EXPECTEDDECODE"), dgc.is_some());
    if let (Some(dgc), Some(want)) = (&dgc, hex_field(case, "CBOR")) {
        let want: Value = ciborium::from_reader(&want[..]).expect("CBOR field parses");
        assert_eq!(canon(dgc.clone()), canon(want), "{name}: CBOR");
    }

    // Stage 5: signature against the case's certificate.
    if let Some(expect_verify) = flag("EXPECTEDVERIFY") {
        let cert = base64::engine::general_purpose::STANDARD
            .decode(ctx["CERTIFICATE"].as_str().expect("CERTIFICATE"))
            .expect("base64 DER");
        let cert_digest = ring::digest::digest(&ring::digest::SHA256, &cert);
        let cert_kid = &cert_digest.as_ref()[..8];
        let key = ec_p256_key_from_certificate(&cert);
        let outcome = match (&sign1, &key) {
            (Err(_), _) => Some(false),
            (Ok(s), _) if s.alg() != ALG_ES256 => None,
            (Ok(_), Err(e)) => panic!("{name}: ES256 case with a non-EC certificate: {e}"),
            (Ok(s), Ok(key)) => {
                let verified = s.verify(key, b"").expect("ES256 is supported");
                Some(verified && s.kid() == Some(cert_kid))
            }
        };
        match outcome {
            Some(got) => tally.check("verify", name, Some(expect_verify), got),
            None => {
                let s = sign1.as_ref().expect("parsed");
                assert_eq!(
                    s.verify(&dummy_key(), b""),
                    Err(QrError::UnsupportedAlgorithm(s.alg()))
                );
                tally.unsupported.push(format!(
                    "{name} (alg {}, expected verify {expect_verify})",
                    s.alg()
                ));
            }
        }
    }

    // Stage 6: validity window against the validation clock.
    if let Some(expect_valid) = flag("EXPECTEDEXPIRATIONCHECK") {
        let now = unix_time(ctx["VALIDATIONCLOCK"].as_str().expect("VALIDATIONCLOCK"));
        let claims = claims.as_ref().expect("claims decoded");
        let time = |label: i64| {
            claims
                .get(&label)
                .and_then(|v| v.as_integer())
                .and_then(|i| i64::try_from(i).ok())
                .expect("iat/exp")
        };
        let (iat, exp) = (time(6), time(4));
        tally.check(
            "expiration",
            name,
            Some(expect_valid),
            iat <= now && now <= exp,
        );
    }
}

/// When a stage fails, every later stage expected to succeed is a mismatch.
fn after_failure(name: &str, flag: &dyn Fn(&str) -> Option<bool>, stage: &str) {
    for later in [
        "EXPECTEDB45DECODE",
        "EXPECTEDCOMPRESSION",
        "EXPECTEDDECODE",
        "EXPECTEDVERIFY",
        "EXPECTEDEXPIRATIONCHECK",
    ] {
        assert_ne!(
            flag(later),
            Some(true),
            "{name}: {later} after {stage} failed"
        );
    }
}

/// The CWT claims map, keyed by integer label, or `None` if the payload is not one.
fn cwt_claims(payload: &[u8]) -> Option<BTreeMap<i64, Value>> {
    let value: Value = ciborium::from_reader(payload).ok()?;
    let Value::Map(entries) = value else {
        return None;
    };
    entries
        .into_iter()
        .map(|(k, v)| Some((i64::try_from(k.as_integer()?).ok()?, v)))
        .collect()
}

/// Sorts map entries recursively, so maps compare regardless of key order.
fn canon(v: Value) -> Value {
    match v {
        Value::Map(entries) => {
            let mut entries: Vec<(Value, Value)> = entries
                .into_iter()
                .map(|(k, v)| (canon(k), canon(v)))
                .collect();
            entries.sort_by_key(|(k, _)| format!("{k:?}"));
            Value::Map(entries)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canon).collect()),
        Value::Tag(t, inner) => Value::Tag(t, Box::new(canon(*inner))),
        other => other,
    }
}

fn dummy_key() -> PublicKey {
    vistalid_core::keys::SigningKey::make()
        .expect("key")
        .public_key()
}

/// Seconds since the epoch of an RFC 3339 UTC time (`2021-05-03T18:00:00Z`, fraction ignored).
fn unix_time(s: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().expect("digits");
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (hh, mm, ss) = (n(11..13), n(14..16), n(17..19));
    // Days from civil (H. Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh * 3600 + mm * 60 + ss
}

// ---- a small DER walk to the certificate's EC public key -----------------------------------

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// One DER TLV: (tag, content, rest).
fn tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), &'static str> {
    let (&tag, rest) = input.split_first().ok_or("truncated tag")?;
    let (&first, rest) = rest.split_first().ok_or("truncated length")?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("bad length");
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, b| a << 8 | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err("truncated content");
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// Certificate → tbsCertificate → subjectPublicKeyInfo → EC P-256 point.
fn ec_p256_key_from_certificate(der: &[u8]) -> Result<PublicKey, &'static str> {
    let (_, cert, _) = tlv(der)?;
    let (_, tbs, _) = tlv(cert)?;
    let mut rest = tbs;
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.2; // [0] version
    }
    // serialNumber, signature, issuer, validity, subject
    for _ in 0..5 {
        rest = tlv(rest)?.2;
    }
    let (_, spki, _) = tlv(rest)?;
    let (_, alg, spki_rest) = tlv(spki)?;
    let (_, oid, alg_rest) = tlv(alg)?;
    if oid != OID_EC_PUBLIC_KEY {
        return Err("not an EC key (RSA?)");
    }
    let (_, curve, _) = tlv(alg_rest)?;
    if curve != OID_P256 {
        return Err("not P-256");
    }
    let (tag, bits, _) = tlv(spki_rest)?;
    if tag != 0x03 || bits.first() != Some(&0) {
        return Err("bad BIT STRING");
    }
    PublicKey::from_sec1(&bits[1..]).map_err(|_| "bad point")
}

#[test]
fn unix_time_matches_known_instants() {
    assert_eq!(unix_time("1970-01-01T00:00:00Z"), 0);
    assert_eq!(unix_time("2021-05-03T18:00:00Z"), 1_620_064_800);
    assert_eq!(unix_time("2021-05-21T12:26:07.390079Z"), 1_621_599_967);
}
