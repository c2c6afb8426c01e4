// SPDX-License-Identifier: Apache-2.0
//! `vistalid enrol` checks the server URL and the activation code's format before it asks
//! for a PIN, so a typo costs nothing; a code with look-alikes, lowercase and no dashes is
//! forgiven as the server forgives it.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{code, dead_url, run, texts, vistalid, PIN};

const EXIT_FAILURE: i32 = 1;
const EXIT_UNREACHABLE: i32 = 6;

#[test]
fn a_bad_url_or_code_is_refused_before_the_pin_prompt() {
    let state = tempfile::tempdir().unwrap();
    let dead = dead_url();
    let cases = [
        ("ftp://idp.example.fr", "ABCD-EFGH-JKMN", "https://"),
        ("http://idp.example.fr", "ABCD-EFGH-JKMN", "https://"),
        (dead.as_str(), "ABCD-EFGH-JKU1", "activation code"),
        (dead.as_str(), "ABCD-EFGH", "activation code"),
        (dead.as_str(), "ABCD-EFGH-JKMN-P", "activation code"),
        (dead.as_str(), "ABCD-EFGH-JKMÉ", "activation code"),
    ];
    for (server, activation, says) in cases {
        let out = run(
            vistalid(
                state.path(),
                &["enrol", "--server", server, "--code", activation],
            ),
            &format!("{PIN}\n"),
        );
        let (stdout, stderr) = texts(&out);
        assert_eq!(
            code(&out),
            EXIT_FAILURE,
            "{server} {activation}:\n{stdout}\n{stderr}"
        );
        assert!(stderr.contains(says), "{server} {activation}: {stderr}");
        assert!(!stderr.contains("PIN"), "asked for a PIN first: {stderr}");
        assert!(!stdout.contains("PIN"), "asked for a PIN first: {stdout}");
    }
}

#[test]
fn a_well_formed_code_is_forgiven_its_case_dashes_and_look_alikes() {
    let state = tempfile::tempdir().unwrap();
    // Lowercase, spaces, I/L/O for 1/1/0: well-formed, so the PIN is asked and only then is
    // the (absent) server contacted.
    for activation in ["abcd-efgh-jkmo", "ABCDEFGHJKMN", "abcd efgh ilo0"] {
        let out = run(
            vistalid(
                state.path(),
                &["enrol", "--server", &dead_url(), "--code", activation],
            ),
            &format!("{PIN}\n"),
        );
        let (stdout, stderr) = texts(&out);
        assert_eq!(
            code(&out),
            EXIT_UNREACHABLE,
            "{activation}:\n{stdout}\n{stderr}"
        );
        assert!(stderr.contains("Choose a 6-digit PIN"), "{stderr}");
    }
}
