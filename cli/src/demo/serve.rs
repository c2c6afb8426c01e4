// SPDX-License-Identifier: Apache-2.0
//! `vistalid demo --serve`: the reference server and the sample health service
//! ([`super::service`]) on loopback, with a practitioner account waiting for a phone, kept
//! running so that a person can click through the whole browser login in their own browser
//! while a second terminal plays the phone (`vistalid enrol`, `vistalid approve`).
//!
//! Guarantees: both listen on 127.0.0.1 only, on free ports, with SQLite in a temporary
//! directory removed at exit; the printed commands are the ones that work against this run
//! (its server URL, its activation code, a wallet directory of its own); it stops on Ctrl-C
//! or when its standard input closes, shutting the server down.

use std::io::Write as _;
use std::path::Path;

use tokio::sync::oneshot;
use vistalid_core::protocol::CodeMode;
use vistalid_server::relying_party::RelyingParty;
use vistalid_server::{ClientOptions, ServerConfig};

use super::browser::SERVICE;
use super::service::Service;
use super::{NATIONAL_ID, RPPS};
use crate::text::browser as says;
use crate::ui::exit;

/// Runs until Ctrl-C or the end of standard input; returns the exit code.
pub(crate) async fn run() -> u8 {
    match serve().await {
        Ok(()) => exit::OK,
        Err(why) => {
            eprintln!("{}", crate::text::demo::aborted(&why));
            exit::FAILURE
        }
    }
}

async fn serve() -> Result<(), String> {
    let data = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let mut config = ServerConfig::for_tests(&data.path().join("server"));
    config.poll_interval_secs = 1;
    let server = vistalid_server::start(config)
        .await
        .map_err(|e| format!("server: {e}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("service: {e}"))?;
    let service_url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| format!("service: {e}"))?
    );
    let admin = server.admin();
    let options = ClientOptions::new(CodeMode::Pick)
        .redirect_uri(Service::callback(&service_url))
        .post_logout_redirect_uri(Service::logged_out(&service_url));
    let (client_id, secret) = admin
        .add_client_with(SERVICE, &options)
        .map_err(|e| format!("add client: {e}"))?;
    let activation = admin
        .add_practitioner(RPPS, "Camille", "Martin", "10")
        .map_err(|e| format!("add practitioner: {e}"))?;
    let rp = RelyingParty::new(server.base_url(), &client_id, &secret);
    let app = Service::new(rp, service_url.clone()).router();

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let service = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await;
    });

    let phone = data.path().join("phone");
    println!("{}", says::serve_intro(&service_url, server.base_url()));
    println!(
        "{}",
        says::serve_phone(
            &command(
                &phone,
                &format!(
                    "enrol --server {} --code {}",
                    server.base_url(),
                    activation.as_str()
                )
            ),
            &command(&phone, "approve --wait 120"),
            NATIONAL_ID
        )
    );
    println!("{}", says::serve_stop());
    let _ = std::io::stdout().flush();

    wait_for_stop().await;
    let _ = stop_tx.send(());
    let _ = service.await;
    server.shutdown().await;
    println!("{}", says::serve_stopped());
    Ok(())
}

/// The `vistalid` command line for the wallet in `dir`.
fn command(dir: &Path, args: &str) -> String {
    let exe = std::env::current_exe()
        .ok()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "vistalid".to_owned());
    format!("{exe} --state-dir {} {args}", dir.display())
}

/// Until Ctrl-C, or the end of standard input.
async fn wait_for_stop() {
    let (eof_tx, eof_rx) = oneshot::channel::<()>();
    // A thread of its own: a blocking read of stdin must not hold a runtime worker.
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut sink);
        let _ = eof_tx.send(());
    });
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = eof_rx => {}
    }
}
