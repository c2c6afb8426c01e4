// SPDX-License-Identifier: Apache-2.0
//! Terminal interaction: PIN entry without echo, choices, the "phone screen" of a challenge,
//! and one clear message and exit code per wallet error.

use std::io::{BufRead, IsTerminal, Write};

use vistalid_core::challenge::Challenge;
use vistalid_core::client::ClientError;
use vistalid_core::protocol::CodeMode;
use vistalid_core::secret::Pin;
use vistalid_core::vault::PinRefusal;
use vistalid_core::wallet::WalletError;

use crate::text;

/// Exit codes, documented in `--help`.
pub(crate) mod exit {
    /// Success.
    pub(crate) const OK: u8 = 0;
    /// Any other failure.
    pub(crate) const FAILURE: u8 = 1;
    /// The command line is incomplete or contradictory (clap uses it too).
    pub(crate) const USAGE: u8 = 2;
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

/// A user-facing message (from the catalogue) and exit code for a wallet error (no secrets
/// in either).
pub(crate) fn explain(e: &WalletError) -> (String, u8) {
    use ClientError as C;
    use PinRefusal as P;
    use WalletError as W;
    let code = match e {
        W::Pin(P::WrongPin { .. }) => exit::WRONG_PIN,
        W::Pin(P::Locked) | W::Pin(P::Backoff { .. }) => exit::LOCKED,
        W::ChallengeExpired | W::ChallengeReplayed | W::WrongCode | W::InvalidCode => {
            exit::CHALLENGE
        }
        W::Client(C::Network { .. }) => exit::UNREACHABLE,
        W::Client(C::Server { .. }) => exit::SERVER,
        _ => exit::FAILURE,
    };
    (text::wallet::error(e), code)
}

/// The message for a result, or "accepted".
pub(crate) fn explain_short<T>(r: &Result<T, WalletError>) -> String {
    match r {
        Ok(_) => text::wallet::accepted(),
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

/// Width of the login request card, in characters.
const CARD_WIDTH: usize = 49;

/// Prints what a phone shows for a challenge.
pub(crate) fn show_challenge(ch: &Challenge) {
    let l = text::wallet::card_labels();
    let dashes = CARD_WIDTH.saturating_sub(l.title.chars().count() + 3);
    println!("  ┌─ {} {}", l.title, "─".repeat(dashes));
    println!("  │ {}{}", l.service, ch.service);
    if !ch.binding_message.is_empty() {
        println!("  │ {}{}", l.reason, ch.binding_message);
    }
    if let Some(ip) = &ch.context.ip {
        println!("  │ {}{ip}", l.address);
    }
    if let Some(place) = &ch.context.place {
        println!("  │ {}{place}", l.place);
    }
    if let Some(ua) = &ch.context.user_agent {
        println!("  │ {}{ua}", l.browser);
    }
    match ch.mode {
        CodeMode::Pick => {
            let list: Vec<String> = ch
                .candidates
                .iter()
                .enumerate()
                .map(|(i, c)| format!("[{}] {c}", i + 1))
                .collect();
            println!("  │ {}{}", l.pick, list.join("   "));
        }
        CodeMode::Type => println!("  │ {}", l.type_code),
    }
    println!("  └{}", "─".repeat(CARD_WIDTH));
}

/// Asks which code to send: a 1-based candidate number or the code itself (pick mode), or the
/// typed code (type mode).
pub(crate) fn ask_code(ch: &Challenge) -> std::io::Result<String> {
    let answer = read_line(&text::wallet::prompt_code())?;
    if ch.mode == CodeMode::Pick {
        if let Ok(n) = answer.parse::<usize>() {
            if (1..=ch.candidates.len()).contains(&n) && answer.len() == 1 {
                return Ok(ch.candidates[n - 1].clone());
            }
        }
    }
    Ok(answer)
}
