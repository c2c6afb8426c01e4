// SPDX-License-Identifier: Apache-2.0
//! The command line: the global flags and the subcommands of `vistalid-server`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "vistalid-server",
    version,
    about = "Vistalid reference identity server"
)]
pub(crate) struct Cli {
    /// JSON config file.
    #[arg(long, global = true, env = "VISTALID_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// SQLite database file.
    #[arg(long, global = true, env = "VISTALID_DB")]
    pub(crate) db: Option<PathBuf>,
    /// Database URL: `sqlite:PATH` or `postgres://user@host:port/database` (issue 19;
    /// PostgreSQL needs `key_encryption_key_file`; TLS: `?sslmode=verify-full&sslrootcert=PATH`).
    /// Overrides `--db`. `--help` never shows the variable's value (it may hold a password).
    #[arg(
        long,
        global = true,
        env = "VISTALID_DATABASE_URL",
        hide_env_values = true
    )]
    pub(crate) database_url: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Serve HTTP until Ctrl-C.
    Serve {
        /// Listen address, e.g. 127.0.0.1:8080.
        #[arg(long, env = "VISTALID_BIND")]
        bind: Option<SocketAddr>,
        /// Public base URL (OIDC issuer), without trailing slash.
        #[arg(long, env = "VISTALID_ISSUER")]
        issuer: Option<String>,
    },
    /// Register a relying party; prints its client id and secret.
    AddClient {
        /// Service name shown to users in challenges.
        name: String,
        /// How users prove they see the login page.
        #[arg(long, value_enum, default_value_t = Mode::Pick)]
        mode: Mode,
        /// The QR audience this client redeems for (what the insured's wallet names, e.g. the
        /// practice's name). Without it the client redeems only QR codes that name none.
        #[arg(long)]
        audience: Option<String>,
        /// A redirect URI of the browser login (repeatable; matched exactly): https, or
        /// http on a loopback host.
        #[arg(long = "redirect-uri")]
        redirect_uri: Vec<String>,
        /// A post-logout redirect URI (repeatable; matched exactly).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uri: Vec<String>,
        /// Userinfo answers this client with an ES256-signed JWT.
        #[arg(long)]
        userinfo_signed: bool,
        /// How its browser logins are approved: `push` (the phone gets the request), or
        /// `scan` (the phone must scan the login page's QR code; docs/scan-mode.md).
        #[arg(long, value_enum, default_value_t = LoginMode::Push)]
        login_mode: LoginMode,
        /// The client refuses the offline code (issue 16): phone approvals only.
        #[arg(long)]
        no_offline_code: bool,
    },
    /// Re-seal every offline-code secret under the current key (the first of
    /// `offline_code_keys`); prints how many moved. Run after putting a new key first.
    ResealOfflineSecrets,
    /// Give a client a new secret; prints it. The old one stops working (in a running server
    /// within its `client_cache_secs`, default 5 s).
    RotateSecret {
        /// Client id.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Remove a client (in a running server within its `client_cache_secs`, default 5 s).
    RemoveClient {
        /// Client id.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// End the login holds of an account ("not me" hold, wrong-pick back-off).
    ClearHold {
        /// RPPS number, pseudonymous id or account id.
        #[arg(allow_hyphen_values = true)]
        account: String,
    },
    /// Create a practitioner account; prints its activation code.
    AddPractitioner {
        /// RPPS number.
        rpps: String,
        /// Given name.
        given_name: String,
        /// Family name.
        family_name: String,
        /// Profession code (10 doctor, 21 pharmacist, 60 nurse, ...).
        #[arg(long, default_value = "10")]
        profession: String,
    },
    /// Create an insured account; prints its activation code.
    AddInsured {
        /// Pseudonymous id.
        id: String,
        /// Given name.
        given_name: String,
        /// Family name.
        family_name: String,
    },
    /// Issue a new activation code for an existing account.
    Reactivate {
        /// RPPS number, pseudonymous id or account id.
        #[arg(allow_hyphen_values = true)]
        account: String,
    },
    /// List the devices of an account, with what each one's attestation showed.
    Devices {
        /// RPPS number, pseudonymous id or account id.
        #[arg(allow_hyphen_values = true)]
        account: String,
    },
    /// Count the attestation refusals (enrolments, answers, logins), by code and failed check.
    AttestationRefusals,
    /// Rotate a signing key (docs/key-rotation.md): the successor is published now and signs
    /// after the pre-publication; the old key then stops signing and stays published until
    /// everything it signed has expired. Running instances pick it up within a minute.
    RotateKey {
        /// Which key: `id-token`, `challenge` or `issuer`.
        #[arg(value_enum)]
        purpose: KeyKind,
        /// Seconds between publication and first use (default: id-token 3600, challenge 300,
        /// issuer 86400; at least 120).
        #[arg(long)]
        prepublish_secs: Option<i64>,
    },
    /// List the signing keys with their timing (published, signs from, retired, published
    /// until).
    Keys,
    /// Revoke a device.
    Revoke {
        /// Device id.
        #[arg(allow_hyphen_values = true)]
        device_id: String,
    },
}

/// The signing keys the admin rotates.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum KeyKind {
    /// ID tokens and signed userinfo (the JWKS).
    IdToken,
    /// Device challenges (pinned by wallets; moved by rollover statements).
    Challenge,
    /// QR credentials (the issuer keys).
    Issuer,
}

impl KeyKind {
    pub(crate) fn purpose(self) -> vistalid_server::KeyPurpose {
        match self {
            Self::IdToken => vistalid_server::KeyPurpose::IdToken,
            Self::Challenge => vistalid_server::KeyPurpose::Challenge,
            Self::Issuer => vistalid_server::KeyPurpose::Issuer,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Mode {
    /// Pick the code among 3 candidates.
    Pick,
    /// Type the 2-digit code.
    Type,
}

/// How a client's browser logins are approved (issue 16).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LoginMode {
    /// The phone gets the request and shows it.
    Push,
    /// The phone must scan the login page's QR code.
    Scan,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids are base64url and may start with `-`: clap must take them as values, not options.
    #[test]
    fn ids_starting_with_a_dash_are_values() {
        for (cmd, id) in [
            ("rotate-secret", "-Uabc_123"),
            ("remove-client", "-x"),
            ("clear-hold", "-acct"),
            ("reactivate", "-acct"),
            ("devices", "--acct"),
            ("revoke", "-dev"),
        ] {
            let cli = Cli::try_parse_from(["vistalid-server", cmd, id])
                .unwrap_or_else(|e| panic!("{cmd} {id}: {e}"));
            let got = match cli.command {
                Command::RotateSecret { client_id } | Command::RemoveClient { client_id } => {
                    client_id
                }
                Command::ClearHold { account }
                | Command::Reactivate { account }
                | Command::Devices { account } => account,
                Command::Revoke { device_id } => device_id,
                _ => panic!("{cmd} parsed as another command"),
            };
            assert_eq!(got, id);
        }
    }
}
