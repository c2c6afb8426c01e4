// SPDX-License-Identifier: Apache-2.0
//! The terminal wallet's commands. Each returns the process exit code (see [`ui::exit`]).

use std::path::Path;
use std::sync::Arc;

use vistalid_core::keystore::SoftwareKeystore;
use vistalid_core::wallet::{AnswerOutcome, Wallet, WalletConfig, WalletError};

use crate::text;
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
    eprintln!("{}", text::wallet::cannot_read_terminal(e));
    exit::FAILURE
}

/// Length of an activation code once normalised (server: 4 lookup + 8 secret characters).
const ACTIVATION_CODE_LEN: usize = 12;
/// Crockford's base32 alphabet, the activation code's.
const CROCKFORD: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Whether `code` has the form of an activation code, forgiving what the server forgives:
/// lowercase, dashes and spaces, and the look-alikes I, L (read as 1) and O (read as 0).
fn activation_code_is_well_formed(code: &str) -> bool {
    let mut len = 0;
    for c in code.chars() {
        match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'I' | 'L' | 'O' => {}
            c if c.is_ascii() && CROCKFORD.contains(c) => {}
            _ => return false,
        }
        len += 1;
    }
    len == ACTIVATION_CODE_LEN
}

/// `vistalid enrol`: checks the server URL and the code's form first, so a typo never costs
/// a PIN entry; then asks for the PIN and enrols.
pub(crate) async fn enrol(state_dir: &Path, server: &str, code: &str) -> u8 {
    if let Err(e) = vistalid_core::client::check_server_url(server) {
        return fail(&e.into());
    }
    if !activation_code_is_well_formed(code) {
        eprintln!("{}", text::wallet::bad_activation_code());
        return exit::FAILURE;
    }
    let wallet = match open(state_dir) {
        Ok(w) => w,
        Err(e) => return fail(&e),
    };
    let first = wallet.accounts().map(|a| a.is_empty()).unwrap_or(true);
    let prompt = if first {
        text::wallet::prompt_new_pin()
    } else {
        text::wallet::prompt_wallet_pin()
    };
    let pin = match ui::read_pin(&prompt) {
        Ok(p) => p,
        Err(e) => return io_fail(&e),
    };
    match wallet.enrol(server, code, pin).await {
        Ok(a) => {
            let who = &a.identity;
            println!(
                "{}",
                text::wallet::enrolled(
                    a.kind,
                    &who.given_name,
                    &who.family_name,
                    &who.subject_name_id,
                    &a.account_id
                )
            );
            if let Some(login_id) = &a.login_id {
                println!("{}", text::wallet::login_id(login_id));
            }
            exit::OK
        }
        Err(e) => fail(&e),
    }
}

/// `vistalid accounts`.
pub(crate) fn accounts(state_dir: &Path) -> u8 {
    match open(state_dir).and_then(|w| w.accounts()) {
        Ok(list) if list.is_empty() => {
            println!("{}", text::wallet::no_account());
            exit::OK
        }
        Ok(list) => {
            for a in list {
                println!(
                    "{}  {}  {} {}  {}  {}",
                    a.account_id,
                    text::wallet::kind(a.kind),
                    a.identity.given_name,
                    a.identity.family_name,
                    a.identity.subject_name_id,
                    a.server_url
                );
                if let Some(login_id) = &a.login_id {
                    println!("    {}", text::wallet::login_id(login_id));
                }
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
    println!("{}", text::wallet::waiting(wait));
    let fetched = match wallet.fetch_challenges(wait).await {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    for r in &fetched.rejected {
        eprintln!("{}", text::wallet::ignored_request(&r.reason.to_string()));
    }
    let Some(ch) = fetched.challenges.first() else {
        println!("{}", text::wallet::no_request());
        return exit::OK;
    };
    ui::show_challenge(ch);
    let code = match ui::ask_code(ch) {
        Ok(c) => c,
        Err(e) => return io_fail(&e),
    };
    let pin = match ui::read_pin(&text::wallet::prompt_pin()) {
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
        println!("{}", text::wallet::no_request());
        return exit::OK;
    };
    ui::show_challenge(ch);
    let pin = match ui::read_pin(&text::wallet::prompt_pin()) {
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

/// Prints the outcome of an answer; its exit code.
pub(crate) fn report(result: Result<AnswerOutcome, WalletError>) -> u8 {
    match result {
        Ok(AnswerOutcome::Approved) => {
            println!("{}", text::wallet::approved());
            exit::OK
        }
        Ok(AnswerOutcome::Denied) => {
            println!("{}", text::wallet::declined());
            exit::OK
        }
        Ok(AnswerOutcome::Reported) => {
            println!("{}", text::wallet::reported());
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
    let old = match ui::read_pin(&text::wallet::prompt_current_pin()) {
        Ok(p) => p,
        Err(e) => return io_fail(&e),
    };
    let new = match ui::read_pin(&text::wallet::prompt_changed_pin()) {
        Ok(p) => p,
        Err(e) => return io_fail(&e),
    };
    match wallet.change_pin(old, new).await {
        Ok(()) => {
            println!("{}", text::wallet::pin_changed());
            exit::OK
        }
        Err(e) => fail(&e),
    }
}

/// `vistalid wipe`.
pub(crate) async fn wipe(state_dir: &Path, yes: bool) -> u8 {
    if !yes {
        match ui::read_line(&text::wallet::prompt_wipe()) {
            Ok(a) if a == "wipe" => {}
            Ok(_) => {
                println!("{}", text::wallet::nothing_erased());
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
            println!("{}", text::wallet::wiped());
            exit::OK
        }
        Err(e) => fail(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_codes_are_checked_as_the_server_normalises_them() {
        for ok in [
            "ABCD-EFGH-JKMN",
            "abcd-efgh-jkmn",
            "ABCDEFGHJKMN",
            "abcd efgh ilo0",
            "0000-1111-ZZZZ",
        ] {
            assert!(activation_code_is_well_formed(ok), "{ok}");
        }
        for bad in [
            "",
            "ABCD-EFGH",
            "ABCD-EFGH-JKMN-P",
            "ABCD-EFGH-JKMU",
            "ABCD-EFGH-JKM!",
            "ABCD-EFGH-JKMÉ",
            "ABCD_EFGH_JKMN",
        ] {
            assert!(!activation_code_is_well_formed(bad), "{bad}");
        }
    }
}
