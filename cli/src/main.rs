// SPDX-License-Identifier: Apache-2.0
//! `vistalid`: a terminal wallet for integrators testing against an identity server, and
//! `vistalid demo`, the whole system in one command. Messages are in English or French
//! (`VISTALID_LANG`, else the locale: see the `text` module).
#![forbid(unsafe_code)]

mod demo;
mod files;
mod key_cache;
mod offline_cmds;
mod qr_cmds;
mod scan_cmd;
mod text;
mod ui;
mod wallet_cmds;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Vistalid terminal wallet.
#[derive(Debug, Parser)]
#[command(name = "vistalid", version, about, after_help = ui::EXIT_CODES_HELP)]
struct Cli {
    /// Wallet state directory (default: $XDG_DATA_HOME/vistalid or ~/.local/share/vistalid).
    #[arg(long, global = true, env = "VISTALID_STATE_DIR")]
    state_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the whole system on loopback: server, enrolment, push approval, browser login,
    /// QR.
    Demo {
        /// Answer every prompt automatically (for CI).
        #[arg(long, conflicts_with = "serve")]
        non_interactive: bool,
        /// Keep the server and a sample health service running on loopback, for a login in
        /// your own browser (prints the URL and the phone's commands for a second terminal).
        #[arg(long)]
        serve: bool,
        /// Keep the QR as DIR/qr.png, DIR/qr.svg and DIR/qr.txt.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Enrols a new account with an activation code.
    Enrol {
        /// Identity server base URL (https, or http on loopback).
        #[arg(long)]
        server: String,
        /// One-time activation code.
        #[arg(long)]
        code: String,
    },
    /// Lists enrolled accounts.
    Accounts,
    /// Waits for login requests, shows them, asks for the PIN and the code.
    Approve {
        /// Seconds to wait for a request.
        #[arg(long, default_value_t = 25)]
        wait: u32,
    },
    /// Scan mode: reads the login page's QR code (its text, or a PNG image of it), shows the
    /// request, asks for the code and the PIN.
    Scan {
        /// The QR code's text (VLSCAN1:...), or a PNG file of it (FILE.png).
        input: String,
    },
    /// Waits for a login request and declines it.
    Deny {
        /// Seconds to wait for a request.
        #[arg(long, default_value_t = 25)]
        wait: u32,
        /// Report it as "this was not me".
        #[arg(long)]
        not_me: bool,
    },
    /// Shows a QR code for an insured account (terminal, and PNG/SVG/text with --out).
    Qr {
        /// Account id (default: the first insured account).
        #[arg(long)]
        account: Option<String>,
        /// Online mode: a smaller code carrying only the credential id.
        #[arg(long)]
        online: bool,
        /// Address the presentation to this recipient.
        #[arg(long)]
        audience: Option<String>,
        /// Write DIR/qr.png, DIR/qr.svg and DIR/qr.txt.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verifies a QR code as a professional's software does (text or PNG), and redeems it.
    /// The text is checked before any network; the issuer keys fetched are saved in the state
    /// directory for --offline.
    Verify {
        /// The QR text (VL1:...).
        #[arg(long, conflicts_with = "png")]
        text: Option<String>,
        /// A PNG image of the QR code.
        #[arg(long)]
        png: Option<PathBuf>,
        /// The identity server (its issuer keys are trusted). With --offline: whose saved keys
        /// to use (default: those of every server fetched before).
        #[arg(long, required_unless_present = "offline")]
        server: Option<String>,
        /// Checks an offline-mode QR code with the issuer keys saved by an earlier verify,
        /// without any network.
        #[arg(long, conflicts_with = "client_id")]
        offline: bool,
        /// Expected audience, if the presentation names one.
        #[arg(long)]
        audience: Option<String>,
        /// Redeem online with this client id (needs a client secret: --client-secret-file, or
        /// the VISTALID_CLIENT_SECRET environment variable).
        // Client ids and secrets are base64url: they may start with `-`.
        #[arg(long, allow_hyphen_values = true)]
        client_id: Option<String>,
        /// File whose first line is the client secret for redemption (keep it 0600).
        #[arg(long, value_name = "PATH")]
        client_secret_file: Option<PathBuf>,
        /// Client secret for redemption. Deprecated: a command line is visible to other users
        /// of this machine (ps, /proc); use --client-secret-file or VISTALID_CLIENT_SECRET.
        #[arg(
            long,
            conflicts_with = "client_secret_file",
            value_name = "SECRET",
            allow_hyphen_values = true
        )]
        client_secret: Option<String>,
    },
    /// Shows the offline code of an account after the PIN, with no network (for the login
    /// page's "My phone has no network").
    Code {
        /// Account id (default: the first account).
        #[arg(long)]
        account: Option<String>,
    },
    /// PIN management.
    Pin {
        #[command(subcommand)]
        action: PinAction,
    },
    /// Erases the wallet: platform key first, then the files.
    Wipe {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PinAction {
    /// Changes the PIN (the old PIN counts as a try).
    Change,
}

fn default_state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("vistalid");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/vistalid")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{}", text::wallet::no_runtime(&e));
            return ExitCode::from(ui::exit::FAILURE);
        }
    };
    let state_dir = cli.state_dir.unwrap_or_else(default_state_dir);
    let code = runtime.block_on(async move {
        match cli.command {
            Command::Demo { serve: true, .. } => demo::serve::run().await,
            Command::Demo {
                non_interactive,
                out,
                ..
            } => demo::run(non_interactive, out).await,
            Command::Enrol { server, code } => wallet_cmds::enrol(&state_dir, &server, &code).await,
            Command::Accounts => wallet_cmds::accounts(&state_dir),
            Command::Approve { wait } => wallet_cmds::approve(&state_dir, wait).await,
            Command::Scan { input } => scan_cmd::scan(&state_dir, &input).await,
            Command::Deny { wait, not_me } => wallet_cmds::deny(&state_dir, wait, not_me).await,
            Command::Qr {
                account,
                online,
                audience,
                out,
            } => qr_cmds::qr(&state_dir, account, online, audience, out.as_deref()).await,
            Command::Verify {
                text,
                png,
                server,
                offline,
                audience,
                client_id,
                client_secret_file,
                client_secret,
            } => {
                let sources = qr_cmds::SecretSources {
                    flag: client_secret,
                    file: client_secret_file,
                    env: std::env::var(qr_cmds::SECRET_ENV).ok(),
                };
                let redeem = match qr_cmds::redeem_credentials(client_id, sources) {
                    Ok(r) => r,
                    Err(code) => return code,
                };
                qr_cmds::verify(qr_cmds::VerifyRequest {
                    text,
                    png: png.as_deref(),
                    server: server.as_deref(),
                    offline,
                    audience,
                    redeem,
                    data_dir: &state_dir,
                })
                .await
            }
            Command::Code { account } => offline_cmds::code(&state_dir, account).await,
            Command::Pin {
                action: PinAction::Change,
            } => wallet_cmds::change_pin(&state_dir).await,
            Command::Wipe { yes } => wallet_cmds::wipe(&state_dir, yes).await,
        }
    });
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Client ids and secrets are base64url and may start with `-` (a flaky CLI test found it).
    #[test]
    fn a_client_id_or_secret_starting_with_a_dash_is_a_value() {
        let cli = Cli::try_parse_from([
            "vistalid",
            "verify",
            "--text",
            "VL1:X",
            "--server",
            "http://127.0.0.1:1",
            "--client-id",
            "-Habc",
            "--client-secret",
            "-_s",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let Command::Verify {
            client_id,
            client_secret,
            ..
        } = cli.command
        else {
            panic!("not verify");
        };
        assert_eq!(client_id.as_deref(), Some("-Habc"));
        assert_eq!(client_secret.as_deref(), Some("-_s"));
    }
}
