// SPDX-License-Identifier: Apache-2.0
//! `vistalid qr` (show a presentation) and `vistalid verify` (the professional's side).
//!
//! `verify` checks the text before it touches the network: a malformed code is refused with
//! no server contacted. It reaches the server only to fetch the issuer keys (offline-mode
//! codes; the keys are then saved, see [`key_cache`]) or to redeem; `verify --offline` uses
//! the saved keys and no network at all. QR files are written readable by their owner only.
//!
//! [`key_cache`]: crate::key_cache

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vistalid_core::client::{ClientError, ServerClient};
use vistalid_core::clock::SystemClock;
use vistalid_core::qr::{
    presentation, IssuerKey, IssuerKeyCache, Mode, QrError, QrMatrix, Verified, Verifier,
};
use vistalid_core::wallet::{QrPresentation, WalletError};
use zeroize::Zeroizing;

use crate::files;
use crate::key_cache::{self, CacheError};
use crate::text::{self, qr::PngProblem};
use crate::ui::{self, exit};
use crate::wallet_cmds::{fail, open};

/// Writes `DIR/qr.png`, `DIR/qr.svg` and `DIR/qr.txt` for `text`, each 0600 from its
/// creation and replaced whole (a presentation is the insured's identity).
pub(crate) fn write_files(dir: &Path, text: &str, matrix: &QrMatrix) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    files::write_private(&dir.join("qr.png"), &matrix.to_display_png())?;
    files::write_private(&dir.join("qr.svg"), matrix.to_svg().as_bytes())?;
    files::write_private(&dir.join("qr.txt"), text.as_bytes())
}

/// Prints a presentation's QR code in the terminal, with its size figures.
pub(crate) fn show(p: &QrPresentation, matrix: &QrMatrix) {
    println!("{}", matrix.to_terminal_inverted());
    let figures = text::qr::figures(p.mode, p.text.len(), matrix.version(), p.expires_at);
    println!("  {figures}");
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
    let pin = match ui::read_pin(&text::wallet::prompt_pin()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}", text::wallet::cannot_read_terminal(&e));
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
            eprintln!("{}", text::qr::cannot_draw(&e));
            return exit::FAILURE;
        }
    };
    show(&p, &matrix);
    if let Some(dir) = out {
        if let Err(e) = write_files(dir, &p.text, &matrix) {
            eprintln!("{}", text::qr::cannot_write(&e));
            return exit::FAILURE;
        }
        println!("  {}", text::qr::written(dir));
    }
    exit::OK
}

/// Decodes the QR code in a PNG image back to its text (any QR decoder would do; this one
/// is `rqrr`); the error is the message to show.
pub(crate) fn decode_png(path: &Path) -> Result<String, String> {
    decode_png_inner(path).map_err(|p| text::qr::png_problem(&p))
}

fn decode_png_inner(path: &Path) -> Result<String, PngProblem<'_>> {
    let file = std::fs::File::open(path).map_err(|e| PngProblem::Open(path, e))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|e| PngProblem::NotPng(e.to_string()))?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or(PngProblem::TooLarge)?];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| PngProblem::NotPng(e.to_string()))?;
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[(y * w + x) * channels]);
    let grids = img.detect_grids();
    let grid = grids.first().ok_or(PngProblem::NoCode)?;
    grid.decode()
        .map(|(_, text)| text)
        .map_err(|e| PngProblem::Unreadable(e.to_string()))
}

/// Name of the environment variable that may hold the client secret.
pub(crate) const SECRET_ENV: &str = "VISTALID_CLIENT_SECRET";

/// Where the client secret of a redemption comes from.
pub(crate) struct SecretSources {
    /// `--client-secret` (visible to other users: warned about).
    pub(crate) flag: Option<String>,
    /// `--client-secret-file`.
    pub(crate) file: Option<PathBuf>,
    /// `VISTALID_CLIENT_SECRET`, if set.
    pub(crate) env: Option<String>,
}

/// The redemption credentials: `None` without `--client-id`; an exit code (message printed)
/// when they are incomplete or unreadable. The flag wins over the file, the file over the
/// environment; the environment alone does not ask for a redemption.
pub(crate) fn redeem_credentials(
    client_id: Option<String>,
    sources: SecretSources,
) -> Result<Option<(String, Zeroizing<String>)>, u8> {
    let SecretSources { flag, file, env } = sources;
    let env = env.map(Zeroizing::new);
    let secret = if let Some(flag) = flag {
        eprintln!("{}", text::qr::secret_flag_warning());
        Some(Zeroizing::new(flag))
    } else if let Some(path) = file {
        match std::fs::read_to_string(&path) {
            Ok(content) => {
                let content = Zeroizing::new(content);
                Some(Zeroizing::new(
                    content.lines().next().unwrap_or_default().trim().to_owned(),
                ))
            }
            Err(e) => {
                eprintln!("{}", text::qr::cannot_read_secret(&path, &e));
                return Err(exit::FAILURE);
            }
        }
    } else if client_id.is_some() {
        env
    } else {
        None
    };
    match (client_id, secret) {
        (None, None) => Ok(None),
        (Some(_), Some(s)) if s.is_empty() => {
            eprintln!("{}", text::qr::empty_secret());
            Err(exit::USAGE)
        }
        (Some(id), Some(s)) => Ok(Some((id, s))),
        _ => {
            eprintln!("{}", text::qr::secret_needs_id());
            Err(exit::USAGE)
        }
    }
}

/// What `vistalid verify` was asked to do.
pub(crate) struct VerifyRequest<'a> {
    /// `--text`.
    pub(crate) text: Option<String>,
    /// `--png`.
    pub(crate) png: Option<&'a Path>,
    /// `--server` (required unless `offline`).
    pub(crate) server: Option<&'a str>,
    /// `--offline`: saved keys only, no network.
    pub(crate) offline: bool,
    /// `--audience`.
    pub(crate) audience: Option<String>,
    /// Client id and secret, to redeem.
    pub(crate) redeem: Option<(String, Zeroizing<String>)>,
    /// The CLI's data folder (where the issuer keys are saved).
    pub(crate) data_dir: &'a Path,
}

/// `vistalid verify`.
pub(crate) async fn verify(req: VerifyRequest<'_>) -> u8 {
    let text = match (req.text, req.png) {
        (Some(t), None) => t,
        (None, Some(p)) => match decode_png(p) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e}");
                return exit::INVALID_QR;
            }
        },
        _ => {
            eprintln!("{}", text::qr::text_or_png());
            return exit::FAILURE;
        }
    };
    // The structure first, with no network: garbage never reaches the server.
    let mode = match presentation::decode(&text) {
        Ok(p) => p.mode(),
        Err(e) => {
            eprintln!("{}", text::qr::refused(&e));
            return exit::INVALID_QR;
        }
    };
    let client = match req.server.map(ServerClient::new).transpose() {
        Ok(c) => c,
        Err(e) => return fail(&e.into()),
    };
    let verified = match (mode, &client) {
        // An online-mode code names no issuer key: nothing to fetch.
        (Mode::Online, _) => verifier(Vec::new(), req.audience.as_deref()).verify(&text),
        (Mode::Offline, Some(c)) if !req.offline => {
            match cached_verify(c, req.data_dir, req.audience.as_deref(), &text).await {
                Ok(v) => v,
                Err(code) => return code,
            }
        }
        (Mode::Offline, _) => match saved_keys(req.data_dir, req.server) {
            Ok((k, _)) => verifier(k, req.audience.as_deref()).verify(&text),
            Err(code) => return code,
        },
    };
    match verified {
        Ok(Verified::Offline(v)) => {
            let c = &v.credential.claims;
            println!(
                "{}",
                text::qr::valid_offline(&c.given_name, &c.family_name, &c.subject)
            );
        }
        Ok(Verified::RedeemOnline(_)) if req.offline => {
            eprintln!("{}", text::qr::online_needs_server());
            return exit::INVALID_QR;
        }
        Ok(Verified::RedeemOnline(_)) if req.redeem.is_none() => {
            println!("{}", text::qr::redeem_online());
        }
        Ok(Verified::RedeemOnline(_)) => {}
        Err(e) => {
            eprintln!("{}", text::qr::refused(&e));
            return exit::INVALID_QR;
        }
    }
    match (req.redeem, client) {
        (Some((id, secret)), Some(client)) => redeem(&client, &text, &id, &secret).await,
        _ => exit::OK,
    }
}

/// A verifier of `keys` (with their windows) on the system clock, for `audience`.
fn verifier(keys: Vec<IssuerKey>, audience: Option<&str>) -> Verifier {
    let v = Verifier::with_issuer_keys(keys, Arc::new(SystemClock));
    match audience {
        Some(a) => v.with_audience(a),
        None => v,
    }
}

/// Verifies `text` with the server's issuer keys through core's self-refreshing cache,
/// starting from the keys saved for that server: they are fetched again only when older than
/// a day or when the credential names a key they do not hold (issue 19); new keys are saved
/// for `--offline` (a failed save only warns).
async fn cached_verify(
    client: &ServerClient,
    data_dir: &Path,
    audience: Option<&str>,
    text: &str,
) -> Result<Result<Verified, QrError>, u8> {
    let (keys, fetched_at) = match key_cache::load(data_dir, Some(client.base_url())) {
        Ok((k, at)) => (k, Some(at)),
        Err(_) => (Vec::new(), None),
    };
    let mut cache = IssuerKeyCache::new(
        Arc::new(client.clone()),
        Arc::new(SystemClock),
        keys,
        fetched_at,
    );
    if let Some(a) = audience {
        cache = cache.with_audience(a);
    }
    let result = cache.verify(text).await;
    if matches!(result, Err(QrError::KeysUnavailable)) {
        return Err(fail(&WalletError::Client(ClientError::Network {
            retryable: true,
        })));
    }
    let (keys, now_fetched) = cache.keys();
    if let Some(at) = now_fetched.filter(|at| Some(*at) != fetched_at) {
        if let Err(e) = key_cache::save(data_dir, client.base_url(), &keys, at) {
            eprintln!(
                "{}",
                text::qr::cannot_save_keys(&key_cache::path(data_dir), &e)
            );
        }
    }
    Ok(result)
}

/// The keys saved by an earlier fetch (of `server`, or of every server).
fn saved_keys(data_dir: &Path, server: Option<&str>) -> Result<(Vec<IssuerKey>, i64), u8> {
    key_cache::load(data_dir, server).map_err(|e| {
        match e {
            CacheError::Missing => eprintln!("{}", text::qr::no_saved_keys(server)),
            other => eprintln!(
                "{}",
                text::qr::unusable_saved_keys(&key_cache::path(data_dir), &other.to_string())
            ),
        }
        exit::FAILURE
    })
}

async fn redeem(client: &ServerClient, text: &str, id: &str, secret: &str) -> u8 {
    match client.redeem(text, id, secret).await {
        Ok(r) => {
            let who = &r.identity;
            println!(
                "{}",
                text::qr::redeemed(&who.given_name, &who.family_name, &who.subject_name_id)
            );
            exit::OK
        }
        Err(ClientError::Server { status: 409, .. }) => {
            eprintln!("{}", text::qr::already_redeemed());
            exit::INVALID_QR
        }
        Err(e) => fail(&e.into()),
    }
}
