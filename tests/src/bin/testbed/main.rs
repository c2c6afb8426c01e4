// SPDX-License-Identifier: Apache-2.0
//! `vistalid-testbed`: a test fixture for the Kotlin and Swift test suites. It starts the
//! reference server in-process on `127.0.0.1:0` with a temporary data directory, provisions a
//! pick-mode and a type-mode relying party, N practitioners and N insured people, writes what
//! the foreign tests need as JSON, then serves until its stdin closes or it gets SIGTERM /
//! SIGINT.
//!
//! ```text
//! vistalid-testbed --fixture PATH [--count N] [--phone M]     (N defaults to 15, M to 0)
//! ```
//!
//! The fixture file (written to `PATH.tmp`, then renamed, so a reader never sees half a file):
//!
//! ```json
//! { "base_url": "http://127.0.0.1:PORT",
//!   "pick_client": { "id": "…", "secret": "…" }, "type_client": { … },
//!   "practitioners": [ { "rpps": "…", "activation_code": "…" }, … ],
//!   "insured": [ { "id": "…", "activation_code": "…" }, … ],
//!   "hostile_url": "http://127.0.0.1:PORT2",
//!   "camera_url": "http://127.0.0.1:PORT3",
//!   "scan_client": { "id": "…", "secret": "…", "redirect_uri": "…" } }
//! ```
//!
//! `scan_client` is a browser client registered for scan mode (issue 16); `camera_url` is
//! [`camera`], the stand-in for a phone camera that reads a login page's QR code.
//!
//! [`keys`] serves the key-rollover calls of the shells' tests (issue 19) at `"keys_url"`:
//! `POST /rotate-challenge-key` (the `rotate-key challenge` admin command) and
//! `GET /forged-rollover` (a rollover statement not signed by the pinned key).
//!
//! It also starts [`hostile`], a misbehaving HTTP server for the shells' transport tests, and
//! adds its base URL to the fixture as `"hostile_url"`.
//!
//! With `--phone M` it also starts, for the browser tests:
//! - a second server, `strict`: the login guard's default holds (the main server lifts them)
//!   and challenges that live [`STRICT_EXPIRES_IN`] seconds, for the held and expiry pages; the
//!   fixture's `"strict"` has its `base_url` and `ciba_expires_in`;
//! - browser clients on both servers (`"browser_clients": { "pick": { "id", "name", "secret",
//!   "redirect_uri", "post_logout_redirect_uri", "mode" }, "type": … }`, at the top level for
//!   the main server and in `"strict"`);
//! - [`phone`], the test-only phone: M more practitioners and M more insured people on the main
//!   server and [`STRICT_PHONE_ACCOUNTS`] of each on the strict one, each enrolled in a real
//!   wallet, answering challenges on request over a loopback control API. The fixture then also
//!   has `"phone_url"`, `"phone_pin"` and `"phone_accounts"` (`[{ "login", "kind",
//!   "account_id", "device_name", "server" }, …]`).
//!
//! It holds test credentials in clear on purpose: never point it at real data.

mod camera;
mod hostile;
mod keys;
mod phone;

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use vistalid_core::protocol::CodeMode;
use vistalid_server::{ClientOptions, ServerConfig, ServerError};

/// Command-line options.
struct Options {
    fixture: PathBuf,
    count: usize,
    phone: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut fixture = None;
    let mut count = 15;
    let mut phone = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--fixture" => fixture = args.next().map(PathBuf::from),
            "--count" => count = number(args.next(), "--count", 1..=1000)?,
            "--phone" => phone = number(args.next(), "--phone", 0..=100)?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let fixture = fixture.ok_or("--fixture PATH is required")?;
    Ok(Options {
        fixture,
        count,
        phone,
    })
}

/// The value of `flag` as a number in `range`.
fn number(
    value: Option<String>,
    flag: &str,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, String> {
    value
        .and_then(|n| n.parse().ok())
        .filter(|n| range.contains(n))
        .ok_or_else(|| format!("{flag} takes a number in {range:?}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("vistalid-testbed: {e}\nusage: vistalid-testbed --fixture PATH [--count N] [--phone M]");
            return ExitCode::from(2);
        }
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vistalid-testbed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The strict server's challenge lifetime (`ciba_expires_in`), in seconds: short, so the
/// browser tests see an expiry without waiting two minutes.
const STRICT_EXPIRES_IN: u64 = 6;
/// Phone accounts of each kind on the strict server.
const STRICT_PHONE_ACCOUNTS: usize = 2;

/// The name every testbed client is registered with (the login page and the phone show it).
const CLIENT_NAME: &str = "Dossier Médical Partagé";

async fn run(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    let data = tempfile::tempdir()?;
    let mut config = ServerConfig::for_tests(data.path());
    // VL_TEST_DATABASE_URL set (scripts/test.sh's PostgreSQL suite): a schema of its own.
    config.use_test_database()?;
    config.poll_interval_secs = 0;
    // Every binding test enrols and logs in from 127.0.0.1 within a minute: lift the per-IP
    // and per-client rate limits, which the server's own tests cover.
    config.enrol_per_ip_per_min = 10_000;
    config.ciba_per_client_per_min = 10_000;
    config.browser_login_per_ip_per_min = 10_000;
    // The binding tests log in again right after a wrong pick or a "not me" on one account:
    // lift the login guard's holds too (the server's own tests cover them).
    config.wrong_pick_backoff_secs = 0;
    config.not_me_hold_secs = 0;
    // The offline code (issue 16): enrolments get a secret, sealed under a test key.
    config.offline_code_keys =
        vistalid_server::OfflineKeys::new(vec![vistalid_server::OfflineCodeKey::new(
            "testbed", [0x5a; 32],
        )
        .ok_or("offline-code key")?]);
    let strict_config = {
        let mut c = config.clone();
        c.db_path = data.path().join("strict.sqlite");
        // A database of its own on PostgreSQL too (VL_TEST_DATABASE_URL).
        c.database_url = None;
        c.key_encryption_key_file = None;
        c.use_test_database()?;
        // The strict server keeps the guard's default holds and has short challenges.
        let defaults = ServerConfig::new(&c.db_path);
        c.wrong_pick_backoff_secs = defaults.wrong_pick_backoff_secs;
        c.not_me_hold_secs = defaults.not_me_hold_secs;
        c.ciba_expires_in = STRICT_EXPIRES_IN;
        c.challenge_ttl_secs = STRICT_EXPIRES_IN;
        c
    };
    // The main server's clock, which the key-rollover call sets back during a rotation.
    let clock = std::sync::Arc::new(keys::ShiftableClock::default());
    config.clock = std::sync::Arc::clone(&clock).into();
    let server = vistalid_server::start(config).await?;
    let admin = server.admin();

    let client = |mode| -> Result<serde_json::Value, ServerError> {
        let (id, secret) = admin.add_client(CLIENT_NAME, mode)?;
        Ok(json!({ "id": id, "secret": secret.as_str() }))
    };
    let pick_client = client(CodeMode::Pick)?;
    let type_client = client(CodeMode::Type)?;
    let mut practitioners = Vec::with_capacity(options.count);
    let mut insured = Vec::with_capacity(options.count);
    for i in 0..options.count {
        let rpps = format!("{}", 10_000_000_000u64 + i as u64);
        let code = admin.add_practitioner(&rpps, "Camille", "Martin", "10")?;
        practitioners.push(json!({ "rpps": rpps, "activation_code": code.as_str() }));
        let id = format!("insured-{i:04}");
        let code = admin.add_insured(&id, "Louise", "Bernard")?;
        insured.push(json!({ "id": id, "activation_code": code.as_str() }));
    }
    let hostile_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hostile_url = format!("http://{}", hostile_listener.local_addr()?);
    tokio::spawn(hostile::serve(hostile_listener));
    // Scan mode (issue 16): a browser client registered for it, and the camera stand-in.
    let camera_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let camera_url = format!("http://{}", camera_listener.local_addr()?);
    tokio::spawn(camera::serve(camera_listener));
    let scan_redirect = format!("http://127.0.0.1:{RP_PORT}/main/scan/callback");
    let (scan_id, scan_secret) = admin.add_client_with(
        CLIENT_NAME,
        &ClientOptions::new(CodeMode::Pick)
            .redirect_uri(&scan_redirect)
            .scan_login(true),
    )?;
    let keys_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let keys_url = format!("http://{}", keys_listener.local_addr()?);
    tokio::spawn(keys::serve(
        keys_listener,
        server.admin(),
        clock,
        server.base_url().to_owned(),
    ));
    let mut fixture = json!({
        "base_url": server.base_url(),
        "keys_url": keys_url,
        "hostile_url": hostile_url,
        "pick_client": pick_client,
        "type_client": type_client,
        "practitioners": practitioners,
        "insured": insured,
        "camera_url": camera_url,
        "scan_client": {
            "id": scan_id,
            "secret": scan_secret.as_str(),
            "redirect_uri": scan_redirect,
        },
    });
    // The browser tests' second server and the phone, only for them (`--phone`).
    let strict = match options.phone {
        0 => None,
        _ => Some(vistalid_server::start(strict_config).await?),
    };
    let phone = match (&strict, options.phone) {
        (Some(strict), n) => {
            let targets = [
                phone::Target {
                    server: &server,
                    name: "main",
                    count: n,
                    first_rpps: 10_000_100_000,
                },
                phone::Target {
                    server: strict,
                    name: "strict",
                    count: STRICT_PHONE_ACCOUNTS,
                    first_rpps: 10_000_200_000,
                },
            ];
            fixture["browser_clients"] = browser_clients(&server, "main")?;
            fixture["strict"] = json!({
                "base_url": strict.base_url(),
                "ciba_expires_in": STRICT_EXPIRES_IN,
                "browser_clients": browser_clients(strict, "strict")?,
            });
            Some(phone::start(&targets).await?)
        }
        _ => None,
    };
    for (key, value) in phone.iter().flat_map(phone::Phone::fixture_fields) {
        fixture[key] = value;
    }
    let mut tmp = options.fixture.clone().into_os_string();
    tmp.push(".tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&fixture)?)?;
    std::fs::rename(&tmp, &options.fixture)?;
    eprintln!(
        "vistalid-testbed: serving {} ({} practitioners, {} insured); fixture {}",
        server.base_url(),
        options.count,
        options.count,
        options.fixture.display()
    );

    wait_for_stop().await?;
    if let Some(strict) = strict {
        strict.shutdown().await;
    }
    server.shutdown().await;
    Ok(())
}

/// The port of the browser clients' URIs: unassigned, and not on Chromium's list of unsafe
/// ports (9, discard, is: a navigation there fails before a test can catch it).
const RP_PORT: u16 = 8;

/// The browser tests' clients of `server` (one per code mode), registered with a loopback
/// `redirect_uri` and `post_logout_redirect_uri` that nothing listens on: the tests catch the
/// browser's navigation there (tests/browser/lib/harness.mjs, `waitForRedirect`).
fn browser_clients(
    server: &vistalid_server::RunningServer,
    name: &str,
) -> Result<serde_json::Value, ServerError> {
    let admin = server.admin();
    let mut out = serde_json::Map::new();
    for (mode, label) in [(CodeMode::Pick, "pick"), (CodeMode::Type, "type")] {
        let redirect_uri = format!("http://127.0.0.1:{RP_PORT}/{name}/{label}/callback");
        let post_logout = format!("http://127.0.0.1:{RP_PORT}/{name}/{label}/logged-out");
        let options = ClientOptions::new(mode)
            .redirect_uri(&redirect_uri)
            .post_logout_redirect_uri(&post_logout);
        let (id, secret) = admin.add_client_with(CLIENT_NAME, &options)?;
        out.insert(
            label.to_owned(),
            json!({
                "id": id,
                "name": CLIENT_NAME,
                "secret": secret.as_str(),
                "redirect_uri": redirect_uri,
                "post_logout_redirect_uri": post_logout,
                "mode": label,
            }),
        );
    }
    Ok(serde_json::Value::Object(out))
}

/// Returns when stdin reaches end of file, or on SIGTERM / SIGINT.
async fn wait_for_stop() -> std::io::Result<()> {
    // A plain thread reads stdin (blocking) and signals its end.
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        use std::io::Read as _;
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 256];
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        let _ = closed_tx.send(());
    });
    let stdin_closed = async {
        let _ = closed_rx.await;
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            () = stdin_closed => {}
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::select! {
        () = stdin_closed => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
