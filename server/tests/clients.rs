// SPDX-License-Identifier: Apache-2.0
//! Client secrets (issue 13 item 6): removing a client or rotating its secret takes effect at
//! once in the server that made the change, and within `client_cache_secs` in a server that
//! shares the SQLite file with a separate admin process.

mod common;

use std::time::{Duration, Instant};

use common::{expect_err, Harness, Rp};
use vistalid_core::protocol::CodeMode;

const RPPS: &str = "10101010101";

#[tokio::test]
async fn rotating_a_secret_stops_the_old_one_at_once() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let _dev = h.practitioner(RPPS).await;
    // Authenticated once: the record is cached.
    rp.ciba(&h, RPPS).await.expect("old secret works");
    let new_secret = h.admin().rotate_secret(&rp.id).expect("rotate");
    assert_eq!(new_secret.len(), 43);
    expect_err(rp.ciba(&h, RPPS).await, 401, "invalid_client");
    let rotated = Rp {
        id: rp.id.clone(),
        secret: new_secret.to_string(),
    };
    rotated.ciba(&h, RPPS).await.expect("new secret works");
    assert!(matches!(
        h.admin().rotate_secret("no-such-client"),
        Err(vistalid_server::ServerError::NotFound(_))
    ));
}

#[tokio::test]
async fn removing_a_client_stops_it_at_once() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let other = h.client(CodeMode::Pick).await;
    let _dev = h.practitioner(RPPS).await;
    let ciba = rp.ciba(&h, RPPS).await.expect("works");
    h.admin().remove_client(&rp.id).expect("remove");
    expect_err(rp.ciba(&h, RPPS).await, 401, "invalid_client");
    expect_err(rp.token(&h, &ciba.auth_req_id).await, 401, "invalid_client");
    other.ciba(&h, RPPS).await.expect("others unaffected");
    assert!(matches!(
        h.admin().remove_client(&rp.id),
        Err(vistalid_server::ServerError::NotFound(_))
    ));
}

/// The admin CLI is another process on the same file: the running server cannot be told, so
/// its cached copy lives at most `client_cache_secs`.
#[tokio::test]
async fn a_separate_admin_process_is_seen_within_the_cache_lifetime() {
    let h = Harness::start_with(|c| {
        c.client_cache_secs = 1;
        c.max_pending_per_account = 1000;
        c.ciba_per_client_per_min = 100_000;
    })
    .await;
    let _dev = h.practitioner(RPPS).await;
    let mut config = vistalid_server::ServerConfig::new(h.dir.path().join("server.sqlite"));
    config.use_test_database().expect("test database");
    let separate = vistalid_server::open_admin(config).expect("open admin");
    let (id, secret) = separate
        .add_client("Dossier patient", CodeMode::Pick)
        .expect("client");
    let rp = Rp {
        id: id.clone(),
        secret: secret.to_string(),
    };
    rp.ciba(&h, RPPS).await.expect("cached now");

    let rotated_at = Instant::now();
    let new_secret = separate.rotate_secret(&id).expect("rotate");
    // The new secret works at once (a mismatch re-reads the record).
    let rotated = Rp {
        id: id.clone(),
        secret: new_secret.to_string(),
    };
    rotated.ciba(&h, RPPS).await.expect("new secret at once");
    // The old one stops within the bound.
    refused_within(&h, &rp, rotated_at, "old secret still accepted").await;
    let removed_at = Instant::now();
    separate.remove_client(&id).expect("remove");
    refused_within(&h, &rotated, removed_at, "removed client still accepted").await;
}

/// Waits until `rp` gets 401, at most 1.5 s after `since` (a 1 s cache lifetime, plus slack).
async fn refused_within(h: &Harness, rp: &Rp, since: Instant, what: &str) {
    let deadline = since + Duration::from_millis(1500);
    loop {
        if matches!(rp.ciba(h, RPPS).await, Err(f) if f.status.as_u16() == 401) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
