// SPDX-License-Identifier: Apache-2.0
//! `vistalid qr` (show a presentation) and `vistalid verify` (the professional's side:
//! check a QR text or PNG offline, then optionally redeem it online).

use std::path::Path;
use std::sync::Arc;

use vistalid_core::client::ServerClient;
use vistalid_core::clock::SystemClock;
use vistalid_core::qr::{Mode, QrError, QrMatrix, Verified, Verifier};
use vistalid_core::wallet::{QrPresentation, WalletError};

use crate::ui::{self, exit};
use crate::wallet_cmds::{fail, open};

/// Writes `DIR/qr.png`, `DIR/qr.svg` and `DIR/qr.txt` for `text`.
pub(crate) fn write_files(dir: &Path, text: &str, matrix: &QrMatrix) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("qr.png"), matrix.to_display_png())?;
    std::fs::write(dir.join("qr.svg"), matrix.to_svg())?;
    std::fs::write(dir.join("qr.txt"), text)
}

/// Prints a presentation's QR code in the terminal, with its size figures.
pub(crate) fn show(p: &QrPresentation, matrix: &QrMatrix) {
    println!("{}", matrix.to_terminal_inverted());
    println!(
        "  {} mode, {} characters, QR version {} (ECC M), valid until {}",
        if p.mode == Mode::Offline {
            "offline"
        } else {
            "online"
        },
        p.text.len(),
        matrix.version(),
        p.expires_at
    );
}

/// `vistalid qr`.
pub(crate) async fn qr(
    state_dir: &Path,
    account: Option<String>,
    online: bool,
    audience: Option<String>,
    out: Option<&Path>,
) -> u8 {
    let wallet = match open(state_dir) {
        Ok(w) => w,
        Err(e) => return fail(&e),
    };
    let account = match account {
        Some(a) => a,
        None => match wallet.accounts() {
            Ok(list) => match list
                .iter()
                .find(|a| a.kind == vistalid_core::protocol::AccountKind::Insured)
            {
                Some(a) => a.account_id.clone(),
                None => return fail(&WalletError::NoCredential),
            },
            Err(e) => return fail(&e),
        },
    };
    let pin = match ui::read_pin("PIN: ") {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Cannot read from the terminal: {e}");
            return exit::FAILURE;
        }
    };
    let mode = if online { Mode::Online } else { Mode::Offline };
    let p = match wallet
        .present_qr(&account, pin, mode, audience.as_deref())
        .await
    {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let matrix = match QrMatrix::encode(&p.text) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("Cannot draw the QR code: {e}");
            return exit::FAILURE;
        }
    };
    show(&p, &matrix);
    if let Some(dir) = out {
        if let Err(e) = write_files(dir, &p.text, &matrix) {
            eprintln!("Cannot write the QR files: {e}");
            return exit::FAILURE;
        }
        println!("  written: {}/qr.png, qr.svg, qr.txt", dir.display());
    }
    exit::OK
}

/// Decodes the QR code in a PNG image back to its text (any QR decoder would do; this one
/// is `rqrr`).
pub(crate) fn decode_png(path: &Path) -> Result<String, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| format!("not a PNG: {e}"))?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("bad PNG: {e}"))?;
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[(y * w + x) * channels]);
    let grids = img.detect_grids();
    let grid = grids.first().ok_or("no QR code found in the image")?;
    grid.decode()
        .map(|(_, text)| text)
        .map_err(|e| format!("QR code unreadable: {e}"))
}

fn qr_message(e: &QrError) -> String {
    match e {
        QrError::Expired => "The QR code has expired: ask the patient to show a new one.".into(),
        QrError::NotYetValid => {
            "The QR code is dated in the future: check this computer's clock.".into()
        }
        QrError::UnknownIssuer => {
            "The QR code was issued by an issuer this software does not trust.".into()
        }
        QrError::WrongAudience => "The QR code is addressed to another recipient.".into(),
        QrError::BadPrefix => "This is not a Vistalid QR code (prefix VL1: expected).".into(),
        other => format!("The QR code is invalid: {other}."),
    }
}

/// `vistalid verify`.
pub(crate) async fn verify(
    text: Option<String>,
    png: Option<&Path>,
    server: &str,
    audience: Option<String>,
    redeem: Option<(String, String)>,
) -> u8 {
    let text = match (text, png) {
        (Some(t), None) => t,
        (None, Some(p)) => match decode_png(p) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e}");
                return exit::INVALID_QR;
            }
        },
        _ => {
            eprintln!("Give either --text or --png.");
            return exit::FAILURE;
        }
    };
    let client = match ServerClient::new(server) {
        Ok(c) => c,
        Err(e) => return fail(&e.into()),
    };
    let trusted = match client.issuer_keys().await {
        Ok(k) => k,
        Err(e) => return fail(&e.into()),
    };
    let mut verifier = Verifier::new(trusted, Arc::new(SystemClock));
    if let Some(a) = audience {
        verifier = verifier.with_audience(a);
    }
    match verifier.verify(&text) {
        Ok(Verified::Offline(v)) => {
            let c = &v.credential.claims;
            println!(
                "Valid offline presentation: {} {} ({}).",
                c.given_name, c.family_name, c.subject
            );
        }
        Ok(Verified::RedeemOnline(_)) => {
            println!("Well-formed online presentation: it must be redeemed at the server.");
        }
        Err(e) => {
            eprintln!("{}", qr_message(&e));
            return exit::INVALID_QR;
        }
    }
    if let Some((id, secret)) = redeem {
        match client.redeem(&text, &id, &secret).await {
            Ok(r) => println!(
                "Redeemed: {} {} ({}).",
                r.identity.given_name, r.identity.family_name, r.identity.subject_name_id
            ),
            Err(vistalid_core::client::ClientError::Server { status: 409, .. }) => {
                eprintln!("Already redeemed: this QR code was used before.");
                return exit::INVALID_QR;
            }
            Err(e) => return fail(&e.into()),
        }
    }
    exit::OK
}
