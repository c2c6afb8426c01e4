// SPDX-License-Identifier: Apache-2.0
//! `vistalid-server`: run the reference identity server, or administer its database.
//!
//! Settings come from an optional JSON config file (`--config`, keys named as the fields of
//! [`FileConfig`]), overridden by `VISTALID_DB`, `VISTALID_BIND` and `VISTALID_ISSUER` or the
//! matching flags. Secrets (client secrets, activation codes) are printed once on stdout and
//! never logged.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde::Deserialize;
use vistalid_core::protocol::CodeMode;
use vistalid_server::{
    open_admin, start, ApnsEnvironment, ApnsSettings, ClientOptions, FcmSettings, PushDelivery,
    ServerConfig, ServerError,
};

#[derive(Parser)]
#[command(
    name = "vistalid-server",
    version,
    about = "Vistalid reference identity server"
)]
struct Cli {
    /// JSON config file.
    #[arg(long, global = true, env = "VISTALID_CONFIG")]
    config: Option<PathBuf>,
    /// SQLite database file.
    #[arg(long, global = true, env = "VISTALID_DB")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    },
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
    /// Revoke a device.
    Revoke {
        /// Device id.
        #[arg(allow_hyphen_values = true)]
        device_id: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    /// Pick the code among 3 candidates.
    Pick,
    /// Type the 2-digit code.
    Type,
}

/// Keys of the JSON config file; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    db: Option<PathBuf>,
    bind: Option<SocketAddr>,
    issuer: Option<String>,
    challenge_ttl_secs: Option<u64>,
    ciba_expires_in: Option<u64>,
    poll_interval_secs: Option<u64>,
    max_pending_per_account: Option<u32>,
    body_limit_bytes: Option<usize>,
    request_timeout_secs: Option<u64>,
    max_wait_secs: Option<u64>,
    activation_ttl_secs: Option<u64>,
    activation_tries: Option<u32>,
    token_ttl_secs: Option<u64>,
    access_token_ttl_secs: Option<u64>,
    refresh_token_ttl_secs: Option<u64>,
    session_ttl_secs: Option<u64>,
    session_idle_secs: Option<u64>,
    browser_login_per_ip_per_min: Option<u32>,
    ciba_per_client_per_min: Option<u32>,
    enrol_per_ip_per_min: Option<u32>,
    header_read_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_ip: Option<usize>,
    not_me_hold_secs: Option<u64>,
    wrong_pick_backoff_secs: Option<u64>,
    wrong_pick_backoff_max_secs: Option<u64>,
    client_cache_secs: Option<u64>,
    pin_guess_limit: Option<u32>,
    /// The attestation policy file; a relative path is taken from the config file's folder.
    attestation_policy: Option<PathBuf>,
    /// The FCM and APNs delivery (issue 20, docs/push.md); absent: long-poll only.
    push: Option<FilePush>,
}

/// The `push` section of the config file (docs/push.md); relative paths are taken from the
/// config file's folder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePush {
    fcm: Option<FileFcm>,
    apns: Option<FileApns>,
    queue_capacity: Option<usize>,
    max_in_flight: Option<usize>,
    max_attempts: Option<u32>,
    backoff_base_ms: Option<u64>,
    backoff_max_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFcm {
    service_account_file: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileApns {
    key_file: PathBuf,
    key_id: String,
    team_id: String,
    topic: String,
    /// `production` (the default) or `development`.
    environment: Option<String>,
    token_refresh_secs: Option<u64>,
}

impl FilePush {
    fn into_delivery(self, base: Option<&std::path::Path>) -> Result<PushDelivery, String> {
        let at = |p: PathBuf| base.map_or_else(|| p.clone(), |dir| dir.join(&p));
        let fcm = self
            .fcm
            .map(|f| FcmSettings::new(at(f.service_account_file)));
        let apns = match self.apns {
            Some(a) => Some(ApnsSettings {
                key_file: at(a.key_file),
                key_id: a.key_id,
                team_id: a.team_id,
                topic: a.topic,
                environment: match a.environment.as_deref() {
                    None | Some("production") => ApnsEnvironment::Production,
                    Some("development") => ApnsEnvironment::Development,
                    Some(_) => {
                        return Err("push.apns.environment must be production or development".into())
                    }
                },
                endpoint: None,
                extra_roots_pem: None,
                token_refresh_secs: a.token_refresh_secs.unwrap_or(2400),
            }),
            None => None,
        };
        let mut d = PushDelivery {
            fcm,
            apns,
            ..PushDelivery::default()
        };
        macro_rules! set {
            ($($f:ident),*) => { $(if let Some(v) = self.$f { d.$f = v; })* };
        }
        set!(
            queue_capacity,
            max_in_flight,
            max_attempts,
            backoff_base_ms,
            backoff_max_ms,
            request_timeout_ms
        );
        Ok(d)
    }
}

/// Prints that `server` listens, once its signal handlers are in place (a SIGHUP sent as soon
/// as the line shows is handled, never the default "terminate").
fn say_listening(server: &vistalid_server::RunningServer) {
    println!(
        "listening on {} (issuer {})",
        server.addr(),
        server.base_url()
    );
}

/// Waits for Ctrl-C (or SIGTERM); on SIGHUP re-reads the attestation revocation list and
/// waits on.
async fn wait_for_stop(server: &vistalid_server::RunningServer) -> Result<(), String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let handler = |e: std::io::Error| format!("signal handler: {e}");
        let mut hangup = signal(SignalKind::hangup()).map_err(handler)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(handler)?;
        say_listening(server);
        loop {
            tokio::select! {
                r = tokio::signal::ctrl_c() => return r.map_err(handler),
                _ = terminate.recv() => return Ok(()),
                _ = hangup.recv() => match server.reload_revocations().await {
                    Ok(Some(n)) => {
                        tracing::info!(entries = n, "SIGHUP: attestation revocation list reloaded");
                    }
                    Ok(None) => tracing::info!("SIGHUP: no attestation revocation list configured"),
                    Err(e) => tracing::warn!(error = %e, "SIGHUP: revocation list not reloaded"),
                },
            }
        }
    }
    #[cfg(not(unix))]
    {
        say_listening(server);
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| format!("signal handler: {e}"))
    }
}

/// **Test only**: the environment variable that sets
/// [`ServerConfig::test_hold_after_guess_ms`] (the kill test's window between a counted PIN
/// guess and its answer). Never set it in production.
const TEST_HOLD_ENV: &str = "VISTALID_TEST_HOLD_AFTER_GUESS_MS";

fn load_config(cli: &Cli) -> Result<ServerConfig, String> {
    let file: FileConfig = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str(&text)
                .map_err(|e| format!("bad config {}: {e}", path.display()))?
        }
        None => FileConfig::default(),
    };
    let db = cli
        .db
        .clone()
        .or(file.db)
        .unwrap_or_else(|| PathBuf::from("vistalid-server.sqlite"));
    let mut c = ServerConfig::new(db);
    if let Some(v) = file.bind {
        c.bind = v;
    }
    c.issuer = file.issuer;
    c.attestation_policy = file.attestation_policy.map(|p| {
        let base = cli.config.as_deref().and_then(std::path::Path::parent);
        base.map_or_else(|| p.clone(), |dir| dir.join(&p))
    });
    if let Some(push) = file.push {
        let base = cli.config.as_deref().and_then(std::path::Path::parent);
        c.push_delivery = Some(push.into_delivery(base)?);
    }
    macro_rules! set {
        ($($f:ident),*) => { $(if let Some(v) = file.$f { c.$f = v; })* };
    }
    set!(
        challenge_ttl_secs,
        ciba_expires_in,
        poll_interval_secs,
        max_pending_per_account,
        body_limit_bytes,
        request_timeout_secs,
        max_wait_secs,
        activation_ttl_secs,
        activation_tries,
        token_ttl_secs,
        access_token_ttl_secs,
        refresh_token_ttl_secs,
        session_ttl_secs,
        session_idle_secs,
        browser_login_per_ip_per_min,
        ciba_per_client_per_min,
        enrol_per_ip_per_min,
        header_read_timeout_secs,
        idle_timeout_secs,
        max_connections,
        max_connections_per_ip,
        not_me_hold_secs,
        wrong_pick_backoff_secs,
        wrong_pick_backoff_max_secs,
        client_cache_secs,
        pin_guess_limit
    );
    if let Ok(ms) = std::env::var(TEST_HOLD_ENV) {
        c.test_hold_after_guess_ms = ms
            .parse()
            .map_err(|_| format!("{TEST_HOLD_ENV} must be a number of milliseconds"))?;
    }
    Ok(c)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let mut config = load_config(&cli)?;
    let err = |e: ServerError| e.to_string();
    match cli.command {
        Command::Serve { bind, issuer } => {
            if let Some(b) = bind {
                config.bind = b;
            }
            if issuer.is_some() {
                config.issuer = issuer;
            }
            let server = start(config).await.map_err(err)?;
            wait_for_stop(&server).await?;
            server.shutdown().await;
            Ok(())
        }
        Command::AddClient {
            name,
            mode,
            audience,
            redirect_uri,
            post_logout_redirect_uri,
            userinfo_signed,
        } => {
            let admin = open_admin(config).map_err(err)?;
            let mode = match mode {
                Mode::Pick => CodeMode::Pick,
                Mode::Type => CodeMode::Type,
            };
            let mut options = ClientOptions::new(mode);
            if let Some(a) = audience {
                options = options.audience(a);
            }
            for uri in redirect_uri {
                options = options.redirect_uri(uri);
            }
            for uri in post_logout_redirect_uri {
                options = options.post_logout_redirect_uri(uri);
            }
            let options = options.userinfo_signed(userinfo_signed);
            let (id, secret) = admin.add_client_with(&name, &options).map_err(err)?;
            println!("client_id={id}");
            println!("client_secret={}", secret.as_str());
            Ok(())
        }
        Command::RotateSecret { client_id } => {
            let admin = open_admin(config).map_err(err)?;
            let secret = admin.rotate_secret(&client_id).map_err(err)?;
            println!("client_id={client_id}");
            println!("client_secret={}", secret.as_str());
            Ok(())
        }
        Command::RemoveClient { client_id } => {
            let admin = open_admin(config).map_err(err)?;
            admin.remove_client(&client_id).map_err(err)?;
            println!("removed {client_id}");
            Ok(())
        }
        Command::ClearHold { account } => {
            let admin = open_admin(config).map_err(err)?;
            admin.clear_login_hold(&account).map_err(err)?;
            println!("login holds cleared for {account}");
            Ok(())
        }
        Command::AddPractitioner {
            rpps,
            given_name,
            family_name,
            profession,
        } => {
            let admin = open_admin(config).map_err(err)?;
            let code = admin
                .add_practitioner(&rpps, &given_name, &family_name, &profession)
                .map_err(err)?;
            println!("activation_code={}", code.as_str());
            println!("login_id={}", admin.login_id(&rpps).map_err(err)?);
            Ok(())
        }
        Command::AddInsured {
            id,
            given_name,
            family_name,
        } => {
            let admin = open_admin(config).map_err(err)?;
            let code = admin
                .add_insured(&id, &given_name, &family_name)
                .map_err(err)?;
            println!("activation_code={}", code.as_str());
            println!("login_id={}", admin.login_id(&id).map_err(err)?);
            Ok(())
        }
        Command::Reactivate { account } => {
            let admin = open_admin(config).map_err(err)?;
            let code = admin.new_activation_code(&account).map_err(err)?;
            println!("activation_code={}", code.as_str());
            Ok(())
        }
        Command::Devices { account } => {
            let admin = open_admin(config).map_err(err)?;
            for d in admin.list_devices(&account).map_err(err)? {
                let state = match d.revoked_at {
                    Some(t) => format!("revoked at {t}"),
                    None => "active".to_owned(),
                };
                let guesses = match d.guesses_left {
                    Some(0) => "PIN guesses left 0 (blocked: enrol again)".to_owned(),
                    Some(n) => format!("PIN guesses left {n}"),
                    None => "no PIN guard".to_owned(),
                };
                println!(
                    "{}\t{}\t{}\tkey {}\tenrolled {}\t{}\t{}\t{}",
                    d.device_id,
                    d.subject_name_id,
                    d.name,
                    d.key_thumbprint,
                    d.created_at,
                    state,
                    guesses,
                    d.attestation_text
                );
            }
            Ok(())
        }
        Command::AttestationRefusals => {
            let admin = open_admin(config).map_err(err)?;
            for r in admin.attestation_refusals().map_err(err)? {
                println!(
                    "{}\t{}\t{}\t{}\tlast {}",
                    r.stage, r.code, r.reason, r.count, r.last_at
                );
            }
            Ok(())
        }
        Command::Revoke { device_id } => {
            let admin = open_admin(config).map_err(err)?;
            if admin.revoke_device(&device_id).map_err(err)? {
                println!("revoked {device_id}");
            } else {
                println!("{device_id} was already revoked");
            }
            Ok(())
        }
    }
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
