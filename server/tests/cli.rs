// SPDX-License-Identifier: Apache-2.0
//! The `vistalid-server` binary's admin commands on a real database file, and the enrolment
//! of a code it printed by a server started in-process on the same file.

mod common;

use std::process::Command;

use common::Harness;

fn run(args: &[&str], db: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vistalid-server"))
        .args(args)
        .env("VISTALID_DB", db)
        .env("RUST_LOG", "warn")
        .output()
        .expect("binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn value<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("{key} in {stdout:?}"))
}

#[tokio::test]
async fn admin_commands_work_beside_a_running_server() {
    let h = Harness::start_with(common::sqlite_only).await;
    // The CLI runs on the real clock; so must the server here.
    h.clock.set(vistalid_core::clock::Clock::now(
        &vistalid_core::clock::SystemClock,
    ));
    let db = h.dir.path().join("server.sqlite");

    let (ok, out, err) = run(&["add-client", "Dossier patient", "--mode", "type"], &db);
    assert!(ok, "{err}");
    let client_id = value(&out, "client_id").to_owned();
    assert_eq!(value(&out, "client_secret").len(), 43);
    assert!(
        !err.contains(value(&out, "client_secret")),
        "secret not logged"
    );

    let (ok, out, err) = run(
        &[
            "add-practitioner",
            "30303030303",
            "Ana",
            "Lopez",
            "--profession",
            "60",
        ],
        &db,
    );
    assert!(ok, "{err}");
    let code = value(&out, "activation_code").to_owned();
    assert!(!err.contains(&code), "activation code not logged");

    // The running server sees what the CLI wrote.
    let dev = common::Device::enrol(&h, &code).await.expect("enrol");
    assert_eq!(dev.enrolment.identity.profession.as_deref(), Some("60"));

    let (ok, out, _) = run(&["devices", "30303030303"], &db);
    assert!(ok);
    assert!(out.contains(dev.id()) && out.contains("active"), "{out}");
    let (ok, out, _) = run(&["revoke", dev.id()], &db);
    assert!(ok && out.contains("revoked"), "{out}");
    let (ok, out, _) = run(&["devices", "30303030303"], &db);
    assert!(ok && out.contains("revoked at"), "{out}");
    let (ok, _, err) = run(&["revoke", "no-such-device"], &db);
    assert!(!ok && err.contains("not found"), "{err}");
    let (ok, _, err) = run(&["add-practitioner", "30303030303", "A", "B"], &db);
    assert!(!ok && err.contains("already exists"), "{err}");
    let _ = client_id;
}

#[test]
fn config_file_is_read_and_unknown_keys_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db.sqlite");
    let cfg = dir.path().join("config.json");
    std::fs::write(
        &cfg,
        r#"{"activation_tries": 3, "max_pending_per_account": 2}"#,
    )
    .expect("write");
    let (ok, out, err) = run(
        &[
            "--config",
            cfg.to_str().expect("utf8"),
            "add-insured",
            "INS-1",
            "Paul",
            "Durand",
        ],
        &db,
    );
    assert!(ok, "{err}");
    assert_eq!(value(&out, "activation_code").len(), 14);
    std::fs::write(&cfg, r#"{"no_such_key": 1}"#).expect("write");
    let (ok, _, err) = run(
        &[
            "--config",
            cfg.to_str().expect("utf8"),
            "add-insured",
            "INS-2",
            "P",
            "D",
        ],
        &db,
    );
    assert!(!ok && err.contains("no_such_key"), "{err}");
}

/// Issue 13 items 1 and 6: `add-client --audience`, `rotate-secret` and `remove-client`.
#[tokio::test]
async fn client_commands_register_an_audience_rotate_and_remove() {
    let h = Harness::start_with(|c| {
        common::sqlite_only(c);
        c.client_cache_secs = 1;
    })
    .await;
    let db = h.dir.path().join("server.sqlite");
    let _dev = h.practitioner("10101010101").await;
    let (ok, out, err) = run(&["add-client", "Cabinet A", "--audience", "Cabinet A"], &db);
    assert!(ok, "{err}");
    let id = value(&out, "client_id").to_owned();
    let old = value(&out, "client_secret").to_owned();
    let (ok, _, err) = run(&["add-client", "x", "--audience", "a\u{2028}b"], &db);
    assert!(!ok && err.contains("audience"), "{err}");

    let rp = common::Rp {
        id: id.clone(),
        secret: old.clone(),
    };
    rp.ciba(&h, "10101010101").await.expect("registered");
    let (ok, out, err) = run(&["rotate-secret", &id], &db);
    assert!(ok, "{err}");
    let new = value(&out, "client_secret").to_owned();
    assert!(new != old && new.len() == 43);
    assert!(!err.contains(&new), "secret not logged");
    let rotated = common::Rp {
        id: id.clone(),
        secret: new,
    };
    rotated.ciba(&h, "10101010101").await.expect("new secret");
    let (ok, out, err) = run(&["remove-client", &id], &db);
    assert!(ok && out.contains(&id), "{err}");
    let (ok, _, err) = run(&["remove-client", &id], &db);
    assert!(!ok && err.contains("not found"), "{err}");
    let (ok, _, err) = run(&["rotate-secret", &id], &db);
    assert!(!ok && err.contains("not found"), "{err}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    common::expect_err(rotated.ciba(&h, "10101010101").await, 401, "invalid_client");

    let (ok, out, err) = run(&["clear-hold", "10101010101"], &db);
    assert!(ok && out.contains("cleared"), "{err}");
    let (ok, _, err) = run(&["clear-hold", "404"], &db);
    assert!(!ok && err.contains("not found"), "{err}");
}

/// Issue 16: `add-client --no-offline-code` registers a client that refuses the offline code
/// (the column the login page reads, `store::offline::client_refuses`); without the flag, a
/// client accepts it. The e2e `tests/tests/oidc_offline.rs` shows such a client refused.
#[test]
fn add_client_no_offline_code_registers_a_client_that_refuses_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db.sqlite");
    let uri = "http://127.0.0.1:9/cb";
    let (ok, out, err) = run(
        &[
            "add-client",
            "Strict",
            "--redirect-uri",
            uri,
            "--no-offline-code",
        ],
        &db,
    );
    assert!(ok, "{err}");
    let strict = value(&out, "client_id").to_owned();
    let (ok, out, err) = run(&["add-client", "Plain", "--redirect-uri", uri], &db);
    assert!(ok, "{err}");
    let plain = value(&out, "client_id").to_owned();
    let conn = rusqlite::Connection::open(&db).expect("open");
    let refuses = |id: &str| -> i64 {
        conn.query_row(
            "SELECT no_offline_code FROM clients WHERE client_id = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("client row")
    };
    assert_eq!((refuses(&strict), refuses(&plain)), (1, 0));
}

#[tokio::test]
async fn devices_shows_each_devices_pin_guesses_left() {
    use common::guarded::{element, enrol_guarded, jti};
    use vistalid_core::protocol::{PinGuessResponse, PATH_PIN_GUESS};

    let h = Harness::start_with(common::sqlite_only).await;
    let db = h.dir.path().join("server.sqlite");
    let code = h
        .admin()
        .add_practitioner("30303030304", "Ana", "Lopez", "60")
        .expect("account");
    let g = enrol_guarded(&h.http, h.server.base_url(), &code, h.now()).await;
    let (ok, out, err) = run(&["devices", "30303030304"], &db);
    assert!(ok, "{err}");
    assert!(out.contains("PIN guesses left 10"), "{out}");
    for n in 0..10u8 {
        let (_, e) = element();
        let r: PinGuessResponse = common::read(
            h.http
                .post(h.url(PATH_PIN_GUESS))
                .json(&g.guess_body(&g.claims(&e, jti(n), h.now())))
                .send()
                .await
                .expect("post"),
        )
        .await
        .expect("guess");
        assert_eq!(r.guesses_left, u32::from(9 - n));
    }
    let (ok, out, _) = run(&["devices", "30303030304"], &db);
    assert!(ok);
    assert!(
        out.contains(&g.device_id) && out.contains("PIN guesses left 0 (blocked: enrol again)"),
        "{out}"
    );
    // A device enrolled by a wallet without the PIN guard (an older one) says so.
    let code = h
        .admin()
        .new_activation_code("30303030304")
        .expect("code")
        .to_string();
    let old = common::Device::enrol(&h, &code).await.expect("enrol");
    let (ok, out, _) = run(&["devices", "30303030304"], &db);
    assert!(ok);
    let line = out.lines().find(|l| l.contains(old.id())).expect("line");
    assert!(line.contains("no PIN guard"), "{line}");
}
