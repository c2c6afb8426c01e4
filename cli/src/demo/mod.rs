// SPDX-License-Identifier: Apache-2.0
//! `vistalid demo`: the reference server in-process on a free loopback port with a temporary
//! data directory, a practitioner approving a CIBA login with the *code dynamique*, then a
//! browser login to a health service ([`browser`]: authorization code, the login page, the
//! phone, userinfo, refresh, logout), and an insured citizen showing a QR code that a
//! professional's software verifies and redeems. Every step is checked; the summary lists the
//! checks and the exit code is non-zero if any failed. `vistalid demo --serve` ([`serve`])
//! keeps a server and a sample health service running for a person's own browser.

mod browser;
mod offline;
mod scan;
pub(crate) mod serve;
mod service;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use vistalid_core::client::{ClientError, ServerClient};
use vistalid_core::clock::SystemClock;
use vistalid_core::keys::SigningKey;
use vistalid_core::keystore::SoftwareKeystore;
use vistalid_core::protocol::CodeMode;
use vistalid_core::qr::{Mode, QrMatrix, Verified, Verifier};
use vistalid_core::secret::Pin;
use vistalid_core::vault::{MemoryPinGuard, NewAccount, Vault, VaultConfig, VaultError};
use vistalid_core::wallet::{AnswerOutcome, Wallet, WalletConfig, WalletError};
use vistalid_server::relying_party::{CibaRequest, RelyingParty};
use vistalid_server::{RunningServer, ServerConfig};

use crate::qr_cmds;
use crate::text::demo::{self as says, Check};
use crate::text::{self, qr::sizes};
use crate::ui::{self, exit};
use vistalid_core::vault::PinRefusal;

/// The demo's PIN in non-interactive mode (not trivial, so the policy accepts it).
const DEMO_PIN: &str = "204862";
const RPPS: &str = "10003456789";
/// The practitioner's national id (`8` + RPPS): what the login page and the claims use.
const NATIONAL_ID: &str = "810003456789";
/// The insured's PIN in non-interactive mode (appli carte Vitale: 6 digits).
const INSURED_PIN: &str = "581937";
/// A pseudonymous insured id (never a social security number).
const INSURED: &str = "ps-7c1e0b";

/// The record of the demo's checks.
#[derive(Default)]
pub(crate) struct Checks {
    results: Vec<(String, bool)>,
}

impl Checks {
    pub(crate) fn check(&mut self, what: Check, ok: bool) -> bool {
        self.record(says::check(what), ok)
    }

    fn record(&mut self, what: String, ok: bool) -> bool {
        println!("  {} {what}", if ok { "✔" } else { "✘" });
        self.results.push((what, ok));
        ok
    }

    fn all_ok(&self) -> bool {
        !self.results.is_empty() && self.results.iter().all(|(_, ok)| *ok)
    }
}

pub(crate) fn step(n: u32) {
    println!("\n[{n}] {}", says::step(n));
}

/// Runs the demo; returns the exit code.
pub(crate) async fn run(non_interactive: bool, out: Option<PathBuf>) -> u8 {
    let started = Instant::now();
    let mut checks = Checks::default();
    match run_steps(non_interactive, out, &mut checks).await {
        Ok(()) => {}
        Err(msg) => {
            checks.record(says::aborted(&msg), false);
        }
    }
    let passed = checks.results.iter().filter(|(_, ok)| *ok).count();
    let failed = checks.results.len() - passed;
    println!("\n{}", says::summary(started.elapsed().as_secs_f64()));
    for (what, ok) in &checks.results {
        println!("  {} {what}", if *ok { "ok  " } else { "FAIL" });
    }
    println!("demo: {passed} passed, {failed} failed");
    if checks.all_ok() {
        exit::OK
    } else {
        exit::DEMO_FAILED
    }
}

async fn run_steps(
    non_interactive: bool,
    out: Option<PathBuf>,
    checks: &mut Checks,
) -> Result<(), String> {
    let data = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    step(1);
    let mut config = ServerConfig::for_tests(&data.path().join("server"));
    config.poll_interval_secs = 1;
    // The offline code (step 15): its secrets sealed under a key made for this run.
    let mut offline_key = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut offline_key)
        .map_err(|_| "random generator failure")?;
    config.offline_code_keys =
        vistalid_server::OfflineKeys::new(vec![vistalid_server::OfflineCodeKey::new(
            "demo",
            offline_key,
        )
        .ok_or("offline-code key")?]);
    let server = vistalid_server::start(config)
        .await
        .map_err(|e| format!("server: {e}"))?;
    let base = server.base_url().to_owned();
    println!("  {}", says::listening(&base));
    let admin = server.admin();
    let (client_id, client_secret) = admin
        .add_client("Dossier Médical Partagé", CodeMode::Pick)
        .map_err(|e| format!("add client: {e}"))?;
    let activation = admin
        .add_practitioner(RPPS, "Camille", "Martin", "10")
        .map_err(|e| format!("add practitioner: {e}"))?;
    println!(
        "  {}",
        says::accounts(&client_id, RPPS, activation.as_str())
    );

    step(2);
    let phone_dir = data.path().join("phone");
    let keystore = Arc::new(SoftwareKeystore::open(
        data.path().join("phone-keystore.key"),
    ));
    let wallet = Wallet::open(&phone_dir, keystore, WalletConfig::default())
        .map_err(|e| format!("wallet: {e}"))?;
    let pin = if non_interactive {
        DEMO_PIN.to_owned()
    } else {
        ask_new_pin()?
    };
    let account = wallet
        .enrol(&base, &activation, Pin::new(pin.clone()))
        .await;
    checks.check(Check::PractitionerEnrolled, account.is_ok());
    let account = account.map_err(|e| ui::explain(&e).0)?;
    println!(
        "  {}",
        says::account(
            &account.account_id,
            &account.identity.given_name,
            &account.identity.family_name
        )
    );

    step(3);
    let rp = RelyingParty::new(&base, &client_id, &client_secret);
    let ciba = rp
        .ciba(&ciba_request())
        .await
        .map_err(|e| format!("CIBA request: {e}"))?;
    println!("  {}", says::dynamic_code(&ciba.dynamic_code));

    step(4);
    let fetched = wallet
        .fetch_challenges(10)
        .await
        .map_err(|e| ui::explain(&e).0)?;
    let ch = fetched
        .challenges
        .first()
        .ok_or("no challenge arrived")?
        .clone();
    ui::show_challenge(&ch);
    checks.check(Check::ChallengeVerified, ch.candidates.len() == 3);
    checks.check(
        Check::CodeAmongCandidates,
        ch.candidates.contains(&ciba.dynamic_code),
    );

    step(5);
    let code = if non_interactive {
        println!("  {}", says::picking(&ciba.dynamic_code));
        ciba.dynamic_code.clone()
    } else {
        let c = ui::ask_code(&ch).map_err(|e| e.to_string())?;
        let _ = ui::read_pin(&text::wallet::prompt_pin()).map_err(|e| e.to_string())?;
        c
    };
    let outcome = wallet.approve(&ch.id, Pin::new(pin.clone()), &code).await;
    checks.check(
        Check::AnswerAccepted,
        outcome == Ok(AnswerOutcome::Approved),
    );

    step(6);
    let token = rp
        .wait_for_token(&ciba, 30)
        .await
        .map_err(|e| format!("token: {e}"))?;
    let claims = rp.verify_id_token(&token.id_token, None).await;
    checks.check(Check::IdTokenVerifies, claims.is_ok());
    if let Ok(c) = &claims {
        for k in [
            "iss",
            "sub",
            "aud",
            "SubjectNameID",
            "given_name",
            "family_name",
            "acr",
            "amr",
        ] {
            println!("  {k:>14}: {}", c[k]);
        }
        checks.check(
            Check::IdTokenNamesPractitioner,
            c["SubjectNameID"] == NATIONAL_ID,
        );
    }

    let who = browser::Practitioner {
        wallet: &wallet,
        pin: &pin,
        identifier: NATIONAL_ID,
    };
    browser::steps(&base, &admin, &who, non_interactive, 7, checks).await?;
    scan::step(&base, &admin, &who, data.path(), checks).await?;

    insured_steps(
        &base,
        &admin,
        data.path(),
        non_interactive,
        out,
        checks,
        (&client_id, &client_secret),
    )
    .await?;
    offline::step_offline(&base, &admin, &wallet, &pin, NATIONAL_ID, 15, checks).await?;
    // The server checks every PIN try too: it stays up for the lockout step.
    let locked = lockout_step(&wallet, data.path(), &pin, checks).await;
    shutdown(server).await;
    locked
}

/// Wrong PINs: counted with tries left, back-off between tries, then lockout.
async fn lockout_step(
    wallet: &Wallet,
    data: &Path,
    pin: &str,
    checks: &mut Checks,
) -> Result<(), String> {
    step(16);
    // Back-off: 0, 0, 1, 5, 30 s after the 1st..5th wrong PIN. A try made too soon is refused
    // without being counted; on a slow machine the 1 s pause may already be over, so keep
    // trying until the back-off shows (at the latest after the 3rd wrong PIN, 5 s).
    let mut results = Vec::new();
    for _ in 0..4 {
        let r = wallet
            .change_pin(Pin::new("975310"), Pin::new("385926"))
            .await;
        println!("  {}", says::wrong_pin_try(&ui::explain_short(&r)));
        let stop = matches!(r, Err(WalletError::Pin(PinRefusal::Backoff { .. })));
        results.push(r);
        if stop {
            break;
        }
    }
    let counted: Vec<u32> = results
        .iter()
        .filter_map(|r| match r {
            Err(WalletError::Pin(PinRefusal::WrongPin { tries_left })) => Some(*tries_left),
            _ => None,
        })
        .collect();
    checks.check(
        Check::TriesLeftThenBackoff,
        counted.len() >= 2
            && counted.iter().zip(4u32..=4).all(|(a, b)| *a == b)
            && counted.windows(2).all(|w| w[1] + 1 == w[0])
            && matches!(
                results.last(),
                Some(Err(WalletError::Pin(PinRefusal::Backoff { .. })))
            ),
    );
    // A fresh vault with the back-off off (to keep the demo short) shows the lockout itself.
    let keystore = Arc::new(SoftwareKeystore::open(data.join("lockout-keystore.key")));
    let config = VaultConfig {
        backoff: false,
        ..VaultConfig::default()
    };
    let dir = data.join("lockout-vault");
    let pin = pin.to_owned();
    let (seen, right) = tokio::task::spawn_blocking(move || {
        // The phone's own limit, shown with an in-process PIN guard (the server's limit is
        // shown by the end-to-end tests).
        let vault = Vault::create(&dir, keystore, config)?;
        let guard = MemoryPinGuard::new(10);
        let confirm = SigningKey::make().map_err(|_| VaultError::Random)?;
        let (key_id, server_key) = guard
            .enrol("demo", confirm.public_key())
            .map_err(VaultError::from)?;
        let new = NewAccount {
            account_id: "demo",
            key_id: &key_id,
            server_key: &server_key,
            confirm_key: &confirm,
        };
        vault.add_first_account(&Pin::new(pin.clone()), new, b"", &guard)?;
        let seen: Vec<Option<VaultError>> = (0..5)
            .map(|_| vault.unlock("demo", &Pin::new("975310"), &guard).err())
            .collect();
        let right = vault.unlock("demo", &Pin::new(pin), &guard).err();
        Ok::<_, VaultError>((seen, right))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    // The vault's errors are shown as the wallet's: one wording for one error in the run.
    let shown = |e: &Option<VaultError>| {
        ui::explain_short(&e.clone().map_or(Ok(()), |e| Err(WalletError::from(e))))
    };
    for e in seen.iter().filter(|e| e.is_some()) {
        println!("  {}", says::wrong_pin_try(&shown(e)));
    }
    println!("  {}", says::right_pin_after(&shown(&right)));
    checks.check(
        Check::LockedAfterFive,
        seen.last()
            == Some(&Some(VaultError::Pin(PinRefusal::WrongPin {
                tries_left: 0,
            })))
            && right == Some(VaultError::Pin(PinRefusal::Locked)),
    );
    Ok(())
}

async fn insured_steps(
    base: &str,
    admin: &vistalid_server::Admin,
    data: &Path,
    non_interactive: bool,
    out: Option<PathBuf>,
    checks: &mut Checks,
    (client_id, client_secret): (&str, &str),
) -> Result<(), String> {
    step(12);
    let activation = admin
        .add_insured(INSURED, "Léa", "Bernard")
        .map_err(|e| format!("add insured: {e}"))?;
    let keystore = Arc::new(SoftwareKeystore::open(data.join("insured-keystore.key")));
    let wallet = Wallet::open(
        &data.join("insured-phone"),
        keystore,
        WalletConfig::default(),
    )
    .map_err(|e| format!("wallet: {e}"))?;
    let pin = if non_interactive {
        INSURED_PIN.to_owned()
    } else {
        ask_new_pin()?
    };
    let account = wallet
        .enrol(base, activation.as_str(), Pin::new(pin.clone()))
        .await;
    checks.check(Check::InsuredEnrolled, account.is_ok());
    let account = account.map_err(|e| ui::explain(&e).0)?;

    step(13);
    let shown = wallet
        .present_qr(
            &account.account_id,
            Pin::new(pin.clone()),
            Mode::Offline,
            None,
        )
        .await
        .map_err(|e| ui::explain(&e).0)?;
    let matrix = QrMatrix::encode(&shown.text).map_err(|e| e.to_string())?;
    qr_cmds::show(&shown, &matrix);
    let dir = out.unwrap_or_else(|| data.join("qr"));
    qr_cmds::write_files(&dir, &shown.text, &matrix).map_err(|e| format!("QR files: {e}"))?;
    println!("  {}", text::qr::written(&dir));
    let decoded = qr_cmds::decode_png(&dir.join("qr.png"));
    checks.check(
        Check::PngDecodes,
        decoded.as_deref() == Ok(shown.text.as_str()),
    );

    step(14);
    let client = ServerClient::new(base).map_err(|e| e.to_string())?;
    let trusted = client.issuer_keys().await.map_err(|e| e.to_string())?;
    let verifier = Verifier::new(trusted, Arc::new(SystemClock));
    let offline_ok = matches!(
        verifier.verify(&shown.text),
        Ok(Verified::Offline(v)) if v.credential.claims.subject == INSURED
    );
    checks.check(Check::OfflineVerified, offline_ok);
    let online = wallet
        .present_qr(&account.account_id, Pin::new(pin), Mode::Online, None)
        .await
        .map_err(|e| ui::explain(&e).0)?;
    let online_version = QrMatrix::encode(&online.text)
        .map(|m| m.version())
        .unwrap_or(0);
    println!(
        "  {}",
        sizes(
            online.text.len(),
            online_version,
            shown.text.len(),
            matrix.version()
        )
    );
    let first = client.redeem(&online.text, client_id, client_secret).await;
    if let Ok(r) = &first {
        let who = &r.identity;
        println!(
            "  {}",
            says::redeemed(&who.given_name, &who.family_name, &who.subject_name_id)
        );
    }
    checks.check(Check::Redeemed, first.is_ok());
    let second = client.redeem(&online.text, client_id, client_secret).await;
    checks.check(
        Check::SingleUse,
        matches!(second, Err(ClientError::Server { status: 409, .. })),
    );
    Ok(())
}

fn ask_new_pin() -> Result<String, String> {
    let pin = ui::read_pin(&says::prompt_demo_pin()).map_err(|e| e.to_string())?;
    // EXPOSE: the demo reuses the PIN it just asked for in later steps.
    Ok(pin.expose().to_owned())
}

/// The login the demo's relying party asks for, with what its login page saw.
fn ciba_request() -> CibaRequest {
    CibaRequest {
        ip: Some("192.0.2.10".into()),
        place: Some("Lyon, France".into()),
        user_agent: Some("Firefox 140 on Linux".into()),
        ..CibaRequest::new(RPPS).binding_message("Connexion au Dossier Médical Partagé")
    }
}

async fn shutdown(server: RunningServer) {
    server.shutdown().await;
}
