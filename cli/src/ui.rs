// SPDX-License-Identifier: Apache-2.0
//! Terminal interaction: PIN entry without echo, choices, the "phone screen" of a challenge,
//! and one clear message and exit code per wallet error.

use std::io::{BufRead, IsTerminal, Write};

use vistalid_core::challenge::Challenge;
use vistalid_core::protocol::CodeMode;
use vistalid_core::secret::Pin;
use vistalid_core::wallet::WalletError;

/// Exit codes, documented in `--help`.
pub(crate) mod exit {
    /// Success.
    pub(crate) const OK: u8 = 0;
    /// Any other failure.
    pub(crate) const FAILURE: u8 = 1;
    /// Wrong PIN (tries remain).
    pub(crate) const WRONG_PIN: u8 = 3;
    /// Locked after too many wrong PINs, or must wait (back-off).
    pub(crate) const LOCKED: u8 = 4;
    /// The challenge expired, was already answered, or the code was wrong.
    pub(crate) const CHALLENGE: u8 = 5;
    /// The server could not be reached.
    pub(crate) const UNREACHABLE: u8 = 6;
    /// The server refused the request.
    pub(crate) const SERVER: u8 = 7;
    /// A QR code failed verification or redemption.
    pub(crate) const INVALID_QR: u8 = 8;
    /// A demo check failed.
    pub(crate) const DEMO_FAILED: u8 = 9;
}

/// The text shown in `--help` about exit codes.
pub(crate) const EXIT_CODES_HELP: &str = "Exit codes: 0 ok, 1 failure, 2 usage, 3 wrong PIN, \
4 locked or must wait, 5 challenge expired/replayed/wrong code, 6 server unreachable, \
7 server refused, 8 invalid QR, 9 demo check failed.";

/// A user-facing message and exit code for a wallet error (no secrets in either).
pub(crate) fn explain(e: &WalletError) -> (String, u8) {
    use WalletError as W;
    match e {
        W::WrongPin { tries_left } => (
            format!("Wrong PIN. {tries_left} tries left before the wallet locks."),
            exit::WRONG_PIN,
        ),
        W::Locked => (
            "The wallet is locked after too many wrong PINs. Wipe it (`vistalid wipe`) and enrol again."
                .into(),
            exit::LOCKED,
        ),
        W::Backoff { retry_after_secs } => (
            format!("Too many tries: wait {retry_after_secs} s before trying again."),
            exit::LOCKED,
        ),
        W::WeakPin(why) => (format!("PIN refused: {why}."), exit::FAILURE),
        W::ChallengeExpired => {
            ("The request expired. Start the login again on the website.".into(), exit::CHALLENGE)
        }
        W::ChallengeReplayed => ("This request was already answered.".into(), exit::CHALLENGE),
        W::WrongCode => (
            "Wrong code: the login was refused. Start again and pick the code shown on the login page."
                .into(),
            exit::CHALLENGE,
        ),
        W::InvalidCode => ("That code is not one of the choices.".into(), exit::CHALLENGE),
        W::Network { retryable } => (
            if *retryable {
                "The server cannot be reached. Check the URL and your connection, then retry."
                    .into()
            } else {
                "The connection to the server failed.".into()
            },
            exit::UNREACHABLE,
        ),
        W::Server { status, code } => {
            (format!("The server refused the request ({status}, {code})."), exit::SERVER)
        }
        W::InsecureServerUrl => (
            "The server URL must start with https:// (http:// only on this machine's loopback)."
                .into(),
            exit::FAILURE,
        ),
        W::NotEnrolled => ("No account yet: run `vistalid enrol` first.".into(), exit::FAILURE),
        other => (format!("Error: {other}."), exit::FAILURE),
    }
}

/// The message for a result, or "ok".
pub(crate) fn explain_short<T>(r: &Result<T, WalletError>) -> String {
    match r {
        Ok(_) => "accepted".into(),
        Err(e) => explain(e).0,
    }
}

/// Reads a PIN without echo when stdin is a terminal, else one line from stdin.
pub(crate) fn read_pin(prompt: &str) -> std::io::Result<Pin> {
    if std::io::stdin().is_terminal() {
        Ok(Pin::new(rpassword::prompt_password(prompt)?))
    } else {
        eprint!("{prompt}");
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let pin = Pin::new(line.trim_end_matches(['\r', '\n']).to_owned());
        zeroize::Zeroize::zeroize(&mut line);
        Ok(pin)
    }
}

/// Reads one line (echoed).
pub(crate) fn read_line(prompt: &str) -> std::io::Result<String> {
    print!("{prompt}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// Prints what a phone shows for a challenge.
pub(crate) fn show_challenge(ch: &Challenge) {
    println!("  ┌─ Demande de connexion ──────────────────────────");
    println!("  │ Service : {}", ch.service);
    println!("  │ Motif   : {}", ch.binding_message);
    if let Some(ip) = &ch.context.ip {
        println!("  │ Adresse : {ip}");
    }
    if let Some(place) = &ch.context.place {
        println!("  │ Lieu    : {place}");
    }
    if let Some(ua) = &ch.context.user_agent {
        println!("  │ Navigateur : {ua}");
    }
    match ch.mode {
        CodeMode::Pick => {
            let list: Vec<String> = ch
                .candidates
                .iter()
                .enumerate()
                .map(|(i, c)| format!("[{}] {c}", i + 1))
                .collect();
            println!("  │ Choisissez le code affiché : {}", list.join("   "));
        }
        CodeMode::Type => println!("  │ Tapez le code à 2 chiffres affiché sur la page"),
    }
    println!("  └─────────────────────────────────────────────────");
}

/// Asks which code to send: a 1-based candidate number or the code itself (pick mode), or the
/// typed code (type mode).
pub(crate) fn ask_code(ch: &Challenge) -> std::io::Result<String> {
    let answer = read_line("Code (number of the choice, or the code; empty to deny): ")?;
    if ch.mode == CodeMode::Pick {
        if let Ok(n) = answer.parse::<usize>() {
            if (1..=ch.candidates.len()).contains(&n) && answer.len() == 1 {
                return Ok(ch.candidates[n - 1].clone());
            }
        }
    }
    Ok(answer)
}
