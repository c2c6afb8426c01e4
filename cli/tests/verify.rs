// SPDX-License-Identifier: Apache-2.0
//! `vistalid qr` and `vistalid verify` as a professional's software uses them: QR files
//! private to their owner, the text checked before any network, the issuer keys kept for
//! `verify --offline`, and the client secret read from a file or the environment.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::Path;

use common::{code, dead_url, mode, run, start_server, texts, vistalid, PIN};
use vistalid_core::protocol::CodeMode;

/// Exit codes the tests expect (documented in `vistalid --help`).
const EXIT_FAILURE: i32 = 1;
const EXIT_USAGE: i32 = 2;
const EXIT_UNREACHABLE: i32 = 6;
const EXIT_INVALID_QR: i32 = 8;

/// Shows a QR for the insured account in `state` into `dir`; returns its text.
fn show_qr(state: &Path, dir: &Path, online: bool) -> String {
    let mut args = vec!["qr", "--out", dir.to_str().unwrap()];
    if online {
        args.push("--online");
    }
    let out = run(vistalid(state, &args), &format!("{PIN}\n"));
    let (stdout, stderr) = texts(&out);
    assert_eq!(code(&out), 0, "qr failed:\n{stdout}\n{stderr}");
    // The expiry is a date and time a person reads, not seconds since 1970.
    let line = stdout.lines().find(|l| l.contains("valid until")).unwrap();
    let when = line.split("valid until ").nth(1).unwrap();
    let date: Vec<&str> = when.get(..10).unwrap().split('-').collect();
    assert!(
        date.len() == 3 && date.iter().all(|p| p.chars().all(|c| c.is_ascii_digit())),
        "not a date: {line}"
    );
    std::fs::read_to_string(dir.join("qr.txt")).unwrap()
}

/// `out` is a successful check of Léa Bernard's offline QR code.
fn assert_valid_offline(out: &std::process::Output) {
    let (stdout, stderr) = texts(out);
    assert_eq!(code(out), 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Valid offline presentation: Léa Bernard"),
        "{stdout}"
    );
}

#[test]
fn qr_files_verify_redeem_and_offline_check() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = start_server(&rt, data.path());
    let url = server.base_url().to_owned();
    let admin = server.admin();
    let activation = admin.add_insured("ps-42aa17", "Léa", "Bernard").unwrap();
    let (client_id, secret) = admin.add_client("Cabinet", CodeMode::Pick).unwrap();
    let secret = secret.as_str().to_owned();

    let wallet = tempfile::tempdir().unwrap();
    let out = run(
        vistalid(
            wallet.path(),
            &["enrol", "--server", &url, "--code", activation.as_str()],
        ),
        &format!("{PIN}\n"),
    );
    assert_eq!(code(&out), 0, "{:?}", texts(&out));

    // QR files are private to their owner: no other user may read them.
    let files = tempfile::tempdir().unwrap();
    let offline_dir = files.path().join("offline");
    let offline = show_qr(wallet.path(), &offline_dir, false);
    for name in ["qr.png", "qr.svg", "qr.txt"] {
        assert_eq!(mode(&offline_dir.join(name)), 0o600, "{name}");
    }
    // Shown again into the same folder: the files are replaced, still 0600.
    let offline = {
        let again = show_qr(wallet.path(), &offline_dir, false);
        for name in ["qr.png", "qr.svg", "qr.txt"] {
            assert_eq!(mode(&offline_dir.join(name)), 0o600, "{name}");
        }
        assert_ne!(again, offline);
        again
    };
    let online: Vec<String> = (0..3)
        .map(|i| {
            show_qr(
                wallet.path(),
                &files.path().join(format!("online{i}")),
                true,
            )
        })
        .collect();

    // The professional's software: a state dir of its own, where the issuer keys are kept.
    let pro = tempfile::tempdir().unwrap();
    let out = run(
        vistalid(
            pro.path(),
            &["verify", "--text", &offline, "--server", &url],
        ),
        "",
    );
    assert_valid_offline(&out);
    let cache = pro.path().join("issuer-keys.json");
    assert_eq!(mode(&cache), 0o600);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    // Format 2 (issue 19): each key with its validity window.
    assert_eq!(saved["version"], 2, "{saved}");
    assert!(
        saved["servers"][0]["keys"][0]["not_before"].is_i64(),
        "{saved}"
    );

    // Redemption with the secret from a file, from the environment, and from the flag (which
    // still works but warns that other users can see it).
    let secret_file = pro.path().join("client-secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let redeem = |text: &str, how: &str| {
        let mut args = vec!["verify", "--text", text, "--server", &url, "--client-id"];
        args.push(&client_id);
        match how {
            "file" => args.extend(["--client-secret-file", secret_file.to_str().unwrap()]),
            "flag" => args.extend(["--client-secret", &secret]),
            _ => {}
        }
        let mut cmd = vistalid(pro.path(), &args);
        if how == "env" {
            cmd.env("VISTALID_CLIENT_SECRET", &secret);
        }
        run(cmd, "")
    };
    for (text, how) in online.iter().zip(["file", "env", "flag"]) {
        let out = redeem(text, how);
        let (stdout, stderr) = texts(&out);
        assert_eq!(code(&out), 0, "{how}:\n{stdout}\n{stderr}");
        assert!(stdout.contains("Redeemed: Léa Bernard"), "{how}: {stdout}");
        assert_eq!(
            stderr.contains("visible to other users"),
            how == "flag",
            "{how}: {stderr}"
        );
    }
    // Used once already: refused, whichever way the secret came.
    let out = redeem(&online[0], "env");
    assert_eq!(code(&out), EXIT_INVALID_QR, "{:?}", texts(&out));

    rt.block_on(server.shutdown());

    // Server down: the saved keys are less than a day old and hold the credential's key, so
    // the check needs no fetch (issue 19: the cache refreshes when stale or for an unknown
    // key, not for every presentation); `--offline` uses them too.
    let out = run(
        vistalid(
            pro.path(),
            &["verify", "--text", &offline, "--server", &url],
        ),
        "",
    );
    assert_valid_offline(&out);
    // With no saved keys the keys must be fetched: unreachable.
    let empty = tempfile::tempdir().unwrap();
    let out = run(
        vistalid(
            empty.path(),
            &["verify", "--text", &offline, "--server", &url],
        ),
        "",
    );
    assert_eq!(code(&out), EXIT_UNREACHABLE, "{:?}", texts(&out));
    let out = run(
        vistalid(pro.path(), &["verify", "--offline", "--text", &offline]),
        "",
    );
    assert_valid_offline(&out);
    // The same, naming the server whose saved keys to use.
    let out = run(
        vistalid(
            pro.path(),
            &["verify", "--offline", "--server", &url, "--text", &offline],
        ),
        "",
    );
    assert_eq!(code(&out), 0, "{:?}", texts(&out));
    // A server whose keys were never fetched has none saved.
    let other = dead_url();
    let out = run(
        vistalid(
            pro.path(),
            &[
                "verify",
                "--offline",
                "--server",
                &other,
                "--text",
                &offline,
            ],
        ),
        "",
    );
    let (_, stderr) = texts(&out);
    assert_eq!(code(&out), EXIT_FAILURE, "{stderr}");
    assert!(stderr.contains("No issuer keys saved"), "{stderr}");

    // An online-mode QR carries no identity: only the server can check it.
    let out = run(
        vistalid(pro.path(), &["verify", "--offline", "--text", &online[1]]),
        "",
    );
    let (_, stderr) = texts(&out);
    assert_eq!(code(&out), EXIT_INVALID_QR, "{stderr}");
    assert!(stderr.contains("online-mode QR code"), "{stderr}");
    assert!(stderr.contains("server"), "{stderr}");

    // A fresh state dir has no keys: a clear message, no network.
    let empty = tempfile::tempdir().unwrap();
    let out = run(
        vistalid(empty.path(), &["verify", "--offline", "--text", &offline]),
        "",
    );
    let (_, stderr) = texts(&out);
    assert_eq!(code(&out), EXIT_FAILURE, "{stderr}");
    assert!(stderr.contains("No issuer keys saved"), "{stderr}");
    assert!(stderr.contains("vistalid verify --server"), "{stderr}");
}

#[test]
fn garbage_is_refused_before_the_server_is_contacted() {
    let state = tempfile::tempdir().unwrap();
    let url = dead_url();
    for text in ["garbage", "VL1:not-base45!", "VL1:"] {
        let out = run(
            vistalid(state.path(), &["verify", "--text", text, "--server", &url]),
            "",
        );
        let (stdout, stderr) = texts(&out);
        assert_eq!(code(&out), EXIT_INVALID_QR, "{text}:\n{stdout}\n{stderr}");
        assert!(!stderr.contains("cannot be reached"), "{text}: {stderr}");
    }
    // Nor is a bad PNG a reason to contact the server.
    let png = state.path().join("not-a.png");
    std::fs::write(&png, b"not a PNG").unwrap();
    let out = run(
        vistalid(
            state.path(),
            &["verify", "--png", png.to_str().unwrap(), "--server", &url],
        ),
        "",
    );
    assert_eq!(code(&out), EXIT_INVALID_QR, "{:?}", texts(&out));
}

#[test]
fn the_client_secret_never_shows_in_help_and_is_required_with_the_id() {
    let state = tempfile::tempdir().unwrap();
    let mut help = vistalid(state.path(), &["verify", "--help"]);
    help.env("VISTALID_CLIENT_SECRET", "s3cr3t-in-the-environment");
    let out = run(help, "");
    let (stdout, stderr) = texts(&out);
    assert_eq!(code(&out), 0, "{stderr}");
    assert!(!stdout.contains("s3cr3t-in-the-environment"), "{stdout}");
    assert!(stdout.contains("--client-secret-file"), "{stdout}");
    assert!(stdout.contains("VISTALID_CLIENT_SECRET"), "{stdout}");
    assert!(stdout.contains("visible to other users"), "{stdout}");

    let url = dead_url();
    let garbage_free = ["verify", "--text", "garbage", "--server", &url];
    let mut args = garbage_free.to_vec();
    args.extend(["--client-id", "rp-1"]);
    let out = run(vistalid(state.path(), &args), "");
    let (_, stderr) = texts(&out);
    assert_eq!(code(&out), EXIT_USAGE, "{stderr}");
    assert!(stderr.contains("--client-secret-file"), "{stderr}");

    // An empty secret file is refused, not sent.
    let empty = state.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let mut args = garbage_free.to_vec();
    args.extend([
        "--client-id",
        "rp-1",
        "--client-secret-file",
        empty.to_str().unwrap(),
    ]);
    let out = run(vistalid(state.path(), &args), "");
    let (_, stderr) = texts(&out);
    assert_eq!(code(&out), EXIT_USAGE, "{stderr}");
    assert!(stderr.contains("empty"), "{stderr}");
}
