// SPDX-License-Identifier: Apache-2.0
//! Typed states in the database: a stored value the server does not know (a hand-edited or
//! corrupt file) is a server fault (500 `server_error`), never read as some default state.

mod common;

use common::{expect_err, Harness};
use vistalid_core::protocol::{CodeMode, Decision};

const RPPS: &str = "10101010101";

/// Runs one SQL statement on the server's database (the SQLite file, or the PostgreSQL
/// schema of `VL_TEST_DATABASE_URL`), beside the running server.
fn edit(h: &Harness, sql: &str) {
    let mut config = vistalid_server::ServerConfig::new(h.dir.path().join("server.sqlite"));
    config.use_test_database().expect("test database");
    if let Some(url) = config.database_url.map(|u| u.expose().to_owned()) {
        let owned = sql.to_owned();
        let changed = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .expect("connect");
                tokio::spawn(conn);
                client.execute(owned.as_str(), &[]).await.expect("edit")
            })
        })
        .join()
        .expect("edit thread");
        assert!(changed > 0, "{sql} changed nothing");
        return;
    }
    let conn = rusqlite::Connection::open(h.dir.path().join("server.sqlite")).expect("open");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    let changed = conn.execute(sql, []).expect("edit");
    assert!(changed > 0, "{sql} changed nothing");
}

#[tokio::test]
async fn an_unknown_account_kind_is_a_server_fault_not_a_practitioner() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    h.practitioner(RPPS).await;
    edit(&h, "UPDATE accounts SET kind = 'robot'");
    expect_err(rp.ciba(&h, RPPS).await, 500, "server_error");
}

#[tokio::test]
async fn an_unknown_client_mode_is_a_server_fault_not_pick_mode() {
    let h = Harness::start().await;
    h.practitioner(RPPS).await;
    let rp = h.client(CodeMode::Pick).await;
    edit(&h, "UPDATE clients SET mode = 'guess'");
    expect_err(rp.ciba(&h, RPPS).await, 500, "server_error");
}

#[tokio::test]
async fn an_unknown_request_status_is_a_server_fault_not_pending() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    h.practitioner(RPPS).await;
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    edit(&h, "UPDATE auth_requests SET status = 'half-approved'");
    expect_err(rp.token(&h, &ciba.auth_req_id).await, 500, "server_error");
}

#[tokio::test]
async fn an_unknown_denial_reason_is_a_server_fault() {
    let h = Harness::start().await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let ciba = rp.ciba(&h, RPPS).await.expect("ciba");
    let c = dev.one_challenge(&h).await;
    dev.answer(&h, &c.id, Decision::Deny, None)
        .await
        .expect("denied");
    edit(&h, "UPDATE auth_requests SET reason = 'bored'");
    expect_err(rp.token(&h, &ciba.auth_req_id).await, 500, "server_error");
}
