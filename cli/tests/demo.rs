// SPDX-License-Identifier: Apache-2.0
//! `vistalid demo --non-interactive` runs the whole system (the browser login included) and
//! its summary says every check passed; `--out` keeps the QR files.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;

#[test]
fn the_demo_passes_every_check() {
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_vistalid"))
        .args(["demo", "--non-interactive", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary = stdout.lines().find(|l| l.starts_with("demo: ")).unwrap();
    let passed: u32 = summary.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(summary.ends_with(" 0 failed"), "{summary}");
    assert!(passed >= 24, "{summary}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    // The offline-code login is a step of its own (scan mode's checks are in step 11).
    assert!(
        stdout.contains("The phone has no network: a login with the offline code"),
        "{stdout}"
    );
    for check in [
        "ID token (ES256) verifies against the JWKS",
        "the waiting page names the service and shows the code dynamique",
        "the code is exchanged; the ID token verifies (signature, nonce, at_hash)",
        "a replayed refresh token is refused and revokes its whole family",
        "a second visit in the same browser logs in without the phone (same auth_time)",
        "logout ends the session: the next visit shows the login page again",
        "offline check: issuer signature, device signature, time",
        "a second redemption is refused (single use)",
        "after 5 wrong PINs the vault is locked, even for the right PIN",
        // Scan mode (issue 16).
        "scan mode: the page's QR code reads back (PNG, the CLI's decoder) and names this server",
        "scan mode: the push alone cannot approve (the wallet asks for the scan)",
        "scan mode: the approval carries the MAC; the code is exchanged for the practitioner's ID token",
        // The offline code (issue 16): one login with it.
        "an offline code logs in; the ID token says amr otp+pin and the offline acr",
    ] {
        assert!(
            stdout.contains(&format!("ok   {check}")),
            "missing: {check}"
        );
    }
    let text = std::fs::read_to_string(out.path().join("qr.txt")).unwrap();
    assert!(text.starts_with("VL1:"));
    assert!(std::fs::read(out.path().join("qr.png"))
        .unwrap()
        .starts_with(b"\x89PNG"));
    assert!(std::fs::read_to_string(out.path().join("qr.svg"))
        .unwrap()
        .contains("<svg"));
}

/// What the demo shows a person, in English and in French: the QR's expiry as a date, plural
/// forms that agree with the number, and one wording for the wrong-PIN error.
#[test]
fn the_demo_speaks_in_dates_plurals_and_one_wording() {
    let cases = [
        (
            "en",
            "valid until ",
            "  try with a wrong PIN: ",
            "Wrong PIN. ",
            "1 try left",
            "1 tries",
        ),
        (
            "fr",
            "valable jusqu'au ",
            "  essai avec un code PIN erroné : ",
            "Code PIN erroné. ",
            "1 essai avant",
            "1 essais",
        ),
    ];
    for (lang, until, tried, wording, singular, bad_plural) in cases {
        let run = Command::new(env!("CARGO_BIN_EXE_vistalid"))
            .args(["demo", "--non-interactive"])
            .env("VISTALID_LANG", lang)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{lang}:\n{stdout}");
        let expiry = stdout.lines().find_map(|l| l.split(until).nth(1)).unwrap();
        assert!(
            expiry.contains('/') || expiry.contains('-'),
            "{lang}: not a date: {expiry}"
        );
        assert!(expiry.contains("(UTC"), "{lang}: no offset: {expiry}");
        let results: Vec<&str> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix(tried))
            .collect();
        assert!(results.len() >= 7, "{lang}: {results:?}");
        for r in &results {
            if r.to_lowercase().contains("pin") {
                assert!(r.starts_with(wording), "{lang}: two wordings: {results:?}");
            }
        }
        assert!(stdout.contains(singular), "{lang}:\n{stdout}");
        assert!(!stdout.contains(bad_plural), "{lang}:\n{stdout}");
    }
}
