// SPDX-License-Identifier: Apache-2.0
//! Typed states in the database: a stored value the server does not know (a hand-edited or
//! corrupt file) is a server fault (500 `server_error`), never read as some default state.

mod common;

use common::{edit_database as edit, expect_err, Harness};
use vistalid_core::protocol::{CodeMode, Decision};

const RPPS: &str = "10101010101";

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
