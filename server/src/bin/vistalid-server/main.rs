// SPDX-License-Identifier: Apache-2.0
//! `vistalid-server`: run the reference identity server, or administer its database.
//!
//! Settings come from an optional JSON config file (`--config`, keys named as the fields of
//! `file_config::FileConfig`), overridden by `VISTALID_DB`, `VISTALID_BIND` and `VISTALID_ISSUER` or the
//! matching flags. Secrets (client secrets, activation codes) are printed once on stdout and
//! never logged.

mod cli;
mod file_config;

use std::process::ExitCode;

use clap::Parser as _;
use vistalid_core::protocol::CodeMode;
use vistalid_server::{init_logging, open_admin, start, ClientOptions, ServerError};

use cli::{Cli, Command, LoginMode, Mode};
use file_config::load_config;

/// The process's allocator: mimalloc (per-thread heaps, fewer instructions per allocation
/// than glibc's malloc; the load bench, which runs the server in its process, uses it too).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
