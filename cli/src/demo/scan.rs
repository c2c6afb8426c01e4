// SPDX-License-Identifier: Apache-2.0
//! The demo's scan-mode login (issue 16, docs/scan-mode.md): a service registered for scan
//! mode sends the browser to the login page; after the identifier the page shows a QR code;
//! the phone's push alone cannot approve it; the QR code, drawn to a PNG and read back with
//! the CLI's QR decoder (`vistalid scan FILE.png`'s), gives the wallet the secret whose MAC
//! the approval carries; the service exchanges the code.

use std::path::Path;

use vistalid_core::protocol::CodeMode;
use vistalid_core::qr::QrMatrix;
use vistalid_core::scan::ScanPayload;
use vistalid_core::secret::Pin;
use vistalid_core::wallet::{AnswerOutcome, WalletError};
use vistalid_server::relying_party::login_flow::BrowserLogin;
use vistalid_server::relying_party::user_agent::UserAgent;
use vistalid_server::relying_party::{AuthorizeOptions, RelyingParty};
use vistalid_server::{Admin, ClientOptions};

use super::browser::{self, Practitioner};
use super::Checks;
use crate::text::demo::{self as says, Check};
use crate::ui;

/// Where the scan-mode service wants the browser back (never fetched in this run).
const CALLBACK: &str = "http://127.0.0.1:9/scan/callback";

/// The scan-mode login (printed as step `11b`, after the browser login's logout).
pub(crate) async fn step(
    base: &str,
    admin: &Admin,
    who: &Practitioner<'_>,
    data: &Path,
    checks: &mut Checks,
) -> Result<(), String> {
    println!("\n[11b] {}", says::scan_step());
    let options = ClientOptions::new(CodeMode::Pick)
        .redirect_uri(CALLBACK)
        .scan_login(true);
    let (client_id, secret) = admin
        .add_client_with(browser::SERVICE, &options)
        .map_err(|e| format!("add client: {e}"))?;
    let rp = RelyingParty::new(base, &client_id, &secret);
    let ua = UserAgent::new(4).map_err(|e| e.to_string())?;
    let (login, page) = BrowserLogin::start(&rp, &ua, CALLBACK, &AuthorizeOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let page = login
        .submit_identifier(&page, who.identifier)
        .await
        .map_err(|e| e.to_string())?;
    let shown = page.code().unwrap_or_default();

    // The page's QR code, as a screenshot would hold it, read by the CLI's decoder.
    let png = data.join("scan-qr.png");
    let matrix = QrMatrix::from_svg(page.html.text()).ok_or("the page shows no QR code")?;
    std::fs::write(&png, matrix.to_display_png()).map_err(|e| e.to_string())?;
    let scanned = zeroize::Zeroizing::new(crate::qr_cmds::decode_png(&png)?);
    let _ = std::fs::remove_file(&png);
    let payload = ScanPayload::parse(&scanned);
    println!(
        "  {}",
        says::scan_qr(
            matrix.version(),
            matrix.size(),
            scanned.len(),
            payload.as_ref().map_or("?", |p| p.origin.as_str())
        )
    );
    checks.check(
        Check::ScanQrRead,
        page.state == "waiting" && payload.is_ok_and(|p| base.starts_with(&p.origin)),
    );

    // The push alone: the request shows, but the wallet cannot approve it without the scan.
    let pushed = who
        .wallet
        .fetch_challenges(10)
        .await
        .map_err(|e| ui::explain(&e).0)?;
    let blind = match pushed.challenges.first() {
        Some(ch) => who.wallet.approve(&ch.id, Pin::new(who.pin), &shown).await,
        None => Err(WalletError::NoSuchChallenge),
    };
    println!("  {}", says::scan_blind(&ui::explain_short(&blind)));
    checks.check(
        Check::ScanBlindRefused,
        blind == Err(WalletError::ScanRequired),
    );

    let ch = who
        .wallet
        .scan_login(&scanned)
        .await
        .map_err(|e| ui::explain(&e).0)?;
    ui::show_challenge(&ch);
    println!("  {}", says::picking(&shown));
    let outcome = who.wallet.approve(&ch.id, Pin::new(who.pin), &shown).await;
    let status = login
        .wait_while_waiting(30)
        .await
        .map_err(|e| e.to_string())?;
    let callback = login
        .continue_to_client(&status)
        .await
        .map_err(|e| e.to_string())?;
    let tokens = browser::exchange(&rp, &login, callback.as_str()).await;
    checks.check(
        Check::ScanApproved,
        outcome == Ok(AnswerOutcome::Approved)
            && tokens.is_ok_and(|t| t.claims["SubjectNameID"] == who.identifier),
    );
    Ok(())
}
