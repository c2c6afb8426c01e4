// SPDX-License-Identifier: Apache-2.0
//! `vistalid scan TEXT|FILE.png` (scan mode, issue 16): the login page's QR code, read as
//! text or decoded from a PNG (the QR decoder `vistalid verify --png` uses), then the usual
//! approval: the request's card, the code, the PIN. The answer carries the MAC of the
//! scanned secret; nothing is sent to a server none of the accounts is enrolled with.

use std::path::Path;

use crate::text;
use crate::ui::{self, exit};
use crate::wallet_cmds::{fail, open, report};

/// The scanned text: `input` itself, or the QR code of the PNG file it names.
fn scanned_text(input: &str) -> Result<String, String> {
    let path = Path::new(input);
    let png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if png {
        return crate::qr_cmds::decode_png(path);
    }
    Ok(input.to_owned())
}

/// `vistalid scan`.
pub(crate) async fn scan(state_dir: &Path, input: &str) -> u8 {
    let scanned = match scanned_text(input) {
        Ok(t) => zeroize::Zeroizing::new(t),
        Err(msg) => {
            eprintln!("{msg}");
            return exit::FAILURE;
        }
    };
    let wallet = match open(state_dir) {
        Ok(w) => w,
        Err(e) => return fail(&e),
    };
    let ch = match wallet.scan_login(&scanned).await {
        Ok(ch) => ch,
        Err(e) => return fail(&e),
    };
    println!("{}", text::wallet::scanned());
    ui::show_challenge(&ch);
    let code = match ui::ask_code(&ch) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", text::wallet::cannot_read_terminal(&e));
            return exit::FAILURE;
        }
    };
    let pin = match ui::read_pin(&text::wallet::prompt_pin()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}", text::wallet::cannot_read_terminal(&e));
            return exit::FAILURE;
        }
    };
    let result = if code.is_empty() {
        wallet.deny(&ch.id, pin).await
    } else {
        wallet.approve(&ch.id, pin, &code).await
    };
    report(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_taken_as_is_and_a_missing_png_is_an_error() {
        assert_eq!(scanned_text("VLSCAN1:abc").as_deref(), Ok("VLSCAN1:abc"));
        assert!(scanned_text("/nonexistent/qr.PNG").is_err());
    }
}
