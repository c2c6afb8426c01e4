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
    init_logging, open_admin, start, ApnsEnvironment, ApnsSettings, ClientOptions, FcmSettings,
    LogFormat, MetricsToken, PushDelivery, ServerConfig, ServerError,
};

/// The process's allocator: mimalloc (per-thread heaps, fewer instructions per allocation
/// than glibc's malloc; the load bench, which runs the server in its process, uses it too).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Database URL: `sqlite:PATH` or `postgres://user@host:port/database` (issue 19;
    /// PostgreSQL needs `key_encryption_key_file`). Overrides `--db`.
    #[arg(long, global = true, env = "VISTALID_DATABASE_URL")]
    database_url: Option<String>,
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
enum KeyKind {
    /// ID tokens and signed userinfo (the JWKS).
    IdToken,
    /// Device challenges (pinned by wallets; moved by rollover statements).
    Challenge,
    /// QR credentials (the issuer keys).
    Issuer,
}

impl KeyKind {
    fn purpose(self) -> vistalid_server::KeyPurpose {
        match self {
            Self::IdToken => vistalid_server::KeyPurpose::IdToken,
            Self::Challenge => vistalid_server::KeyPurpose::Challenge,
            Self::Issuer => vistalid_server::KeyPurpose::Issuer,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    /// Pick the code among 3 candidates.
    Pick,
    /// Type the 2-digit code.
    Type,
}

/// How a client's browser logins are approved (issue 16).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LoginMode {
    /// The phone gets the request and shows it.
    Push,
    /// The phone must scan the login page's QR code.
    Scan,
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
    // Operations (docs/operations.md).
    retention_secs: Option<u64>,
    retention_interval_secs: Option<u64>,
    retention_batch_rows: Option<usize>,
    retention_batches_per_run: Option<u32>,
    retention_pause_ms: Option<u64>,
    metrics_bind: Option<SocketAddr>,
    /// Better given as `VISTALID_METRICS_TOKEN` than written in the file.
    metrics_token: Option<String>,
    request_id_header: Option<String>,
    shutdown_grace_secs: Option<u64>,
    /// `sqlite:PATH` or `postgres://…` (issue 19); also `VISTALID_DATABASE_URL`.
    database_url: Option<String>,
    database_pool_size: Option<usize>,
    database_wait_timeout_ms: Option<u64>,
    database_statement_timeout_ms: Option<u64>,
    /// `human` (default) or `json`; also `VISTALID_LOG_FORMAT`.
    log_format: Option<String>,
    /// The key-encryption key file (issue 19); a relative path is taken from the config
    /// file's folder.
    key_encryption_key_file: Option<PathBuf>,
    /// The offline-code keys (issue 16), the current one first: `[{"id": "k2", "key":
    /// "<32 bytes, base64url>"}, ...]`.
    offline_code_keys: Option<Vec<FileOfflineKey>>,
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

/// One offline-code key of the config file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOfflineKey {
    id: String,
    key: String,
}

impl std::fmt::Debug for FileOfflineKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileOfflineKey({}, <redacted>)", self.id)
    }
}

/// The configured offline-code keys, checked.
fn offline_keys(keys: Vec<FileOfflineKey>) -> Result<vistalid_server::OfflineKeys, String> {
    use base64::Engine as _;
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let bytes = zeroize::Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(k.key.trim_end_matches('='))
                .map_err(|_| format!("offline_code_keys: key {} is not base64url", k.id))?,
        );
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| format!("offline_code_keys: key {} is not 32 bytes", k.id))?;
        let key = vistalid_server::OfflineCodeKey::new(&k.id, arr)
            .ok_or_else(|| format!("offline_code_keys: bad key id {:?}", k.id))?;
        if out
            .iter()
            .any(|o: &vistalid_server::OfflineCodeKey| o.id() == key.id())
        {
            return Err(format!("offline_code_keys: key id {} is repeated", k.id));
        }
        out.push(key);
    }
    Ok(vistalid_server::OfflineKeys::new(out))
}

/// The environment variable with the bearer token of `/metrics`.
const METRICS_TOKEN_ENV: &str = "VISTALID_METRICS_TOKEN";
/// The environment variable choosing the log format (`human` or `json`).
const LOG_FORMAT_ENV: &str = "VISTALID_LOG_FORMAT";

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

fn load_config(cli: &Cli) -> Result<(ServerConfig, LogFormat), String> {
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
    c.key_encryption_key_file = file.key_encryption_key_file.map(|p| {
        let base = cli.config.as_deref().and_then(std::path::Path::parent);
        base.map_or_else(|| p.clone(), |dir| dir.join(&p))
    });
    if let Some(keys) = file.offline_code_keys {
        c.offline_code_keys = offline_keys(keys)?;
    }
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
        pin_guess_limit,
        retention_secs,
        retention_interval_secs,
        retention_batch_rows,
        retention_batches_per_run,
        retention_pause_ms,
        shutdown_grace_secs,
        database_pool_size,
        database_wait_timeout_ms,
        database_statement_timeout_ms
    );
    c.database_url = cli.database_url.clone().or(file.database_url);
    c.metrics_bind = file.metrics_bind;
    c.request_id_header = file.request_id_header;
    c.metrics_token = std::env::var(METRICS_TOKEN_ENV)
        .ok()
        .or(file.metrics_token)
        .map(MetricsToken::new);
    let log_format = std::env::var(LOG_FORMAT_ENV)
        .ok()
        .or(file.log_format)
        .map(|f| f.parse::<LogFormat>())
        .transpose()?
        .unwrap_or_default();
    if let Ok(ms) = std::env::var(TEST_HOLD_ENV) {
        c.test_hold_after_guess_ms = ms
            .parse()
            .map_err(|_| format!("{TEST_HOLD_ENV} must be a number of milliseconds"))?;
    }
    Ok((c, log_format))
}

#[tokio::main]
async fn main() -> ExitCode {
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
    let (mut config, log_format) = load_config(&cli)?;
    init_logging(log_format, None, std::io::stderr)?;
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
            login_mode,
            no_offline_code,
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
            let options = options
                .userinfo_signed(userinfo_signed)
                .scan_login(login_mode == LoginMode::Scan)
                .no_offline_code(no_offline_code);
            let (id, secret) = admin.add_client_with(&name, &options).map_err(err)?;
            println!("client_id={id}");
            println!("client_secret={}", secret.as_str());
            Ok(())
        }
        Command::ResealOfflineSecrets => {
            let admin = open_admin(config).map_err(err)?;
            let (moved, kept) = admin.reseal_offline_secrets().map_err(err)?;
            println!("resealed={moved} already_current={kept}");
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
        Command::RotateKey {
            purpose,
            prepublish_secs,
        } => {
            let admin = open_admin(config).map_err(err)?;
            let purpose = purpose.purpose();
            let pre = prepublish_secs
                .unwrap_or_else(|| vistalid_server::Admin::default_prepublish_secs(purpose));
            let r = admin.rotate_key(purpose, pre).map_err(err)?;
            println!(
                "new key {} published now, signs from {}; old key {} signs until then and \
                 stays published until {}",
                r.new_kid, r.active_at, r.old_kid, r.old_expires_at
            );
            Ok(())
        }
        Command::Keys => {
            let admin = open_admin(config).map_err(err)?;
            let opt = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
            println!("purpose\tkid\tpublished\tsigns_from\tretired\tpublished_until");
            for k in admin.signing_keys().map_err(err)? {
                println!(
                    "{:?}\t{}\t{}\t{}\t{}\t{}",
                    k.purpose,
                    k.kid,
                    k.published_at,
                    k.active_at,
                    opt(k.retired_at),
                    opt(k.expires_at)
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

    /// The file's `push` section parsed into the push delivery (issue 20), relative key
    /// paths taken from the config file's folder.
    fn push_of(json: serde_json::Value) -> Result<PushDelivery, String> {
        let file: FileConfig = serde_json::from_value(json).map_err(|e| e.to_string())?;
        let push = file.push.ok_or("no push section")?;
        let d = push.into_delivery(Some(std::path::Path::new("/etc/vistalid")))?;
        d.validate()?;
        Ok(d)
    }

    #[test]
    fn the_push_section_parses_into_the_delivery() {
        let d = push_of(serde_json::json!({"push": {
            "fcm": {"service_account_file": "fcm.json"},
            "apns": {"key_file": "/keys/AuthKey_ABCDE12345.p8", "key_id": "ABCDE12345",
                     "team_id": "TEAM123456", "topic": "fr.vistalid.app",
                     "environment": "development", "token_refresh_secs": 1800},
            "queue_capacity": 64, "max_in_flight": 4, "max_attempts": 3,
            "backoff_base_ms": 100, "backoff_max_ms": 2000, "request_timeout_ms": 5000
        }}))
        .expect("a whole push section");
        let fcm = d.fcm.expect("fcm");
        assert_eq!(
            fcm.service_account_file,
            PathBuf::from("/etc/vistalid/fcm.json")
        );
        assert_eq!(fcm.endpoint, "https://fcm.googleapis.com");
        let apns = d.apns.expect("apns");
        assert_eq!(apns.key_file, PathBuf::from("/keys/AuthKey_ABCDE12345.p8"));
        assert_eq!(
            (apns.key_id.as_str(), apns.team_id.as_str()),
            ("ABCDE12345", "TEAM123456")
        );
        assert_eq!(apns.topic, "fr.vistalid.app");
        assert_eq!(apns.environment, ApnsEnvironment::Development);
        assert_eq!(apns.token_refresh_secs, 1800);
        assert_eq!(
            (d.queue_capacity, d.max_in_flight, d.max_attempts),
            (64, 4, 3)
        );
        assert_eq!(
            (d.backoff_base_ms, d.backoff_max_ms, d.request_timeout_ms),
            (100, 2000, 5000)
        );
        // Only APNs, the defaults elsewhere: production host, 40 min tokens.
        let d = push_of(serde_json::json!({"push": {"apns": {
            "key_file": "k.p8", "key_id": "ABCDE12345", "team_id": "TEAM123456",
            "topic": "fr.vistalid.app"}}}))
        .expect("apns alone");
        assert!(d.fcm.is_none());
        let apns = d.apns.expect("apns");
        assert_eq!(apns.environment, ApnsEnvironment::Production);
        assert_eq!(apns.token_refresh_secs, 2400);
        assert_eq!(apns.key_file, PathBuf::from("/etc/vistalid/k.p8"));
        assert_eq!(d.queue_capacity, PushDelivery::default().queue_capacity);
    }

    #[test]
    fn a_bad_push_entry_is_refused_by_name() {
        let apns = |extra: serde_json::Value| {
            let mut a = serde_json::json!({"key_file": "k.p8", "key_id": "ABCDE12345",
                "team_id": "TEAM123456", "topic": "fr.vistalid.app"});
            for (k, v) in extra.as_object().expect("object") {
                a[k] = v.clone();
            }
            serde_json::json!({"push": {"apns": a}})
        };
        for (json, names) in [
            (
                apns(serde_json::json!({"environment": "staging"})),
                "push.apns.environment",
            ),
            (apns(serde_json::json!({"key_id": "short"})), "key_id"),
            (
                apns(serde_json::json!({"team_id": "TEAM-12345"})),
                "team_id",
            ),
            (apns(serde_json::json!({"topic": ""})), "topic"),
            (
                apns(serde_json::json!({"token_refresh_secs": 600})),
                "token_refresh_secs",
            ),
            (
                apns(serde_json::json!({"token_refresh_secs": 3601})),
                "token_refresh_secs",
            ),
            (apns(serde_json::json!({"kid": "ABCDE12345"})), "kid"),
            (
                serde_json::json!({"push": {"apns": {"key_id": "ABCDE12345"}}}),
                "key_file",
            ),
            (
                serde_json::json!({"push": {"fcm": {}}}),
                "service_account_file",
            ),
            (
                serde_json::json!({"push": {"fcm": {"service_account_file": 7}}}),
                "invalid type",
            ),
            (serde_json::json!({"push": {"gcm": {}}}), "gcm"),
            (
                serde_json::json!({"push": {"queue_capacity": 0}}),
                "queue_capacity",
            ),
            (
                serde_json::json!({"push": {"max_in_flight": 300}}),
                "max_in_flight",
            ),
            (
                serde_json::json!({"push": {"max_attempts": 11}}),
                "max_attempts",
            ),
            (
                serde_json::json!({"push": {"backoff_base_ms": 5000, "backoff_max_ms": 100}}),
                "backoff_base_ms",
            ),
            (
                serde_json::json!({"push": {"request_timeout_ms": 0}}),
                "request_timeout_ms",
            ),
        ] {
            let err = push_of(json.clone()).expect_err(&format!("{json} accepted"));
            assert!(err.contains(names), "{json}: {err} does not name {names}");
        }
    }
}
