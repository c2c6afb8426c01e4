// SPDX-License-Identifier: Apache-2.0
//! The terminal wallet's commands. Each returns the process exit code (see [`ui::exit`]).

use std::path::Path;
use std::sync::Arc;

use vistalid_core::keystore::SoftwareKeystore;
use vistalid_core::protocol::AccountKind;
use vistalid_core::wallet::{AnswerOutcome, Wallet, WalletConfig, WalletError};

use crate::ui::{self, exit};

/// Opens the wallet in `state_dir` with a software keystore (not hardware-backed).
pub(crate) fn open(state_dir: &Path) -> Result<Wallet, WalletError> {
    std::fs::create_dir_all(state_dir).map_err(|e| WalletError::Storage(e.kind()))?;
    let keystore = Arc::new(SoftwareKeystore::open(state_dir.join("keystore.key")));
    let config = WalletConfig {
        device_name: hostname(),
        ..WalletConfig::default()
    };
    Wallet::open(&state_dir.join("wallet"), keystore, config)
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| format!("vistalid CLI on {}", h.trim()))
        .unwrap_or_else(|_| "vistalid CLI".to_owned())
}

/// Prints the error's message and returns its exit code.
pub(crate) fn fail(e: &WalletError) -> u8 {
    let (msg, code) = ui::explain(e);
    eprintln!("{msg}");
    code
}

fn io_fail(e: &std::io::Error) -> u8 {
    eprintln!("Cannot read from the terminal: {e}");
    exit::FAILURE
}

/// `vistalid enrol`.
pub(crate) async fn enrol(state_dir: &Path, server: &str, code: &str) -> u8 {
    let wallet = match open(state_dir) {
        Ok(w) => w,
        Err(e) => return fail(&e),
    };
    let first = wallet.accounts().map(|a| a.is_empty()).unwrap_or(true);
    let prompt = if first {
        "Choose a 6-digit PIN: "
    } else {
        "Wallet PIN: "
    };
    let pin = match ui::read_pin(prompt) {
        Ok(p) => p,
        Err(e) => return io_fail(&e),
    };
    match wallet.enrol(server, code, pin).await {
        Ok(a) => {
            let kind = match a.kind {
                AccountKind::Practitioner => "practitioner",
                AccountKind::Insured => "insured",
            };
            println!(
                "Enrolled {kind} {} {} ({}) as account {}.",
                a.identity.given_name,
                a.identity.family_name,
                a.identity.subject_name_id,
                a.account_id
            );
            exit::OK
        }
        Err(e) => fail(&e),
    }
}

/// `vistalid accounts`.
pub(crate) fn accounts(state_dir: &Path) -> u8 {
    match open(state_dir).and_then(|w| w.accounts()) {
        Ok(list) if list.is_empty() => {
            println!("No account enrolled.");
            exit::OK
        }
        Ok(list) => {
            for a in list {
                println!(
                    "{}  {:?}  {} {}  {}  {}",
                    a.account_id,
                    a.kind,
                    a.identity.given_name,
                    a.identity.family_name,
                    a.identity.subject_name_id,
                    a.server_url
                );
            }
            exit::OK
        }
        Err(e) => fail(&e),
    }
}

/// `vistalid approve`: waits for a request, shows it, asks the PIN and the code.
pub(crate) async fn approve(state_dir: &Path, wait: u32) -> u8 {
    let wallet = match open(state_dir) {
        Ok(w) => w,
        Err(e) => return fail(&e),
    };
    println!("Waiting up to {wait} s for a login request…");
    let fetched = match wallet.fetch_challenges(wait).await {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    for r in &fetched.rejected {
        eprintln!("Ignored a request that failed verification: {}", r.reason);
    }
    let Some(ch) = fetched.challenges.first() else {
        println!("No login request.");
        return exit::OK;
    };
    ui::show_challenge(ch);
    let code = match ui::ask_code(ch) {
        Ok(c) => c,
        Err(e) => return io_fail(&e),
    };
    let pin = match ui::read_pin("PIN: ") {
        Ok(p) => p,
        Err(e) => return io_fail(&e),
    };
    let result = if code.is_empty() {
        wallet.deny(&ch.id, pin).await
    } else {
        wallet.approve(&ch.id, pin, &code).await
    };
    report(result)
}

/// `vistalid deny`.
pub(crate) async fn deny(state_dir: &Path, wait: u32, not_me: bool) -> u8 {
    let wallet = match open(state_dir) {
        Ok(w) => w,
        Err(e) => return fail(&e),
    };
    let fetched = match wallet.fetch_challenges(wait).await {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    let Some(ch) = fetched.challenges.first() else {
        println!("No login request.");
        return exit::OK;
    };
    ui::show_challenge(ch);
    let pin = match ui::read_pin("PIN: ") {
        Ok(p) => p,
        Err(e) => return io_fail(&e),
    };
    let result = if not_me {
        wallet.report_not_me(&ch.id, pin).await
    } else {
        wallet.deny(&ch.id, pin).await
    };
    report(result)
}

fn report(result: Result<AnswerOutcome, WalletError>) -> u8 {
    match result {
        Ok(AnswerOutcome::Approved) => {
            println!("Login approved.");
            exit::OK
        }
        Ok(AnswerOutcome::Denied) => {
            println!("Login declined.");
            exit::OK
        }
        Ok(AnswerOutcome::Reported) => {
            println!("Login declined and reported as not yours.");
            exit::OK
        }
        Err(e) => fail(&e),
    }
}

/// `vistalid pin change`.
pub(crate) async fn change_pin(state_dir: &Path) -> u8 {
    let wallet = match open(state_dir) {
        Ok(w) => w,
        Err(e) => return fail(&e),
    };
    let old = match ui::read_pin("Current PIN: ") {
        Ok(p) => p,
        Err(e) => return io_fail(&e),
    };
    let new = match ui::read_pin("New PIN: ") {
        Ok(p) => p,
        Err(e) => return io_fail(&e),
    };
    match wallet.change_pin(old, new).await {
        Ok(()) => {
            println!("PIN changed.");
            exit::OK
        }
        Err(e) => fail(&e),
    }
}

/// `vistalid wipe`.
pub(crate) async fn wipe(state_dir: &Path, yes: bool) -> u8 {
    if !yes {
        match ui::read_line("Erase the wallet and all its accounts? Type 'wipe' to confirm: ") {
            Ok(a) if a == "wipe" => {}
            Ok(_) => {
                println!("Nothing erased.");
                return exit::OK;
            }
            Err(e) => return io_fail(&e),
        }
    }
    let wallet = match open(state_dir) {
        Ok(w) => w,
        Err(e) => return fail(&e),
    };
    match wallet.wipe().await {
        Ok(()) => {
            let _ = std::fs::remove_dir_all(state_dir.join("wallet"));
            println!("Wallet erased.");
            exit::OK
        }
        Err(e) => fail(&e),
    }
}
