// SPDX-License-Identifier: Apache-2.0
//! Two server instances on one database (issue 19, "several instances"): the same activation
//! code, the same signed answer and the same CIBA grant sent to both at once are each used
//! exactly once. Runs on the backend of the suite: on PostgreSQL (`VL_TEST_DATABASE_URL`,
//! scripts/test.sh) the instances race through serializable transactions; on SQLite through
//! the file's write lock.

mod common;

use std::sync::Arc;

use common::{Device, Harness};
use vistalid_core::protocol::{CodeMode, Decision};
use vistalid_server::ServerConfig;

/// Rounds of each race: a lost race shows up in one of them.
const ROUNDS: usize = 8;

/// A second instance on `h`'s database (same key-encryption key, same clock), seen as a
/// harness of its own.
async fn second_instance(h: &Harness) -> Harness {
    let mut c = ServerConfig::new(h.dir.path().join("server.sqlite"));
    c.poll_interval_secs = 0;
    c.clock = Arc::clone(&h.clock).into();
    c.use_test_database().expect("test database");
    let server = vistalid_server::start(c).await.expect("second instance");
    Harness {
        server,
        dir: tempfile::tempdir().expect("tempdir"),
        clock: Arc::clone(&h.clock),
        http: h.http.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_use_codes_answers_and_grants_once() {
    let a = Harness::start().await;
    let b = second_instance(&a).await;
    let rp = a.client(CodeMode::Type).await;

    for round in 0..ROUNDS {
        // One activation code, redeemed on both instances at once: one device is enrolled.
        let rpps = format!("{:011}", 20_000_000_000_u64 + round as u64);
        let code = a
            .admin()
            .add_practitioner(&rpps, "Jeanne", "Martin", "10")
            .expect("account");
        let (on_a, on_b) = tokio::join!(Device::enrol(&a, &code), Device::enrol(&b, &code));
        assert!(
            on_a.is_ok() != on_b.is_ok(),
            "round {round}: the code enrolled {} devices",
            usize::from(on_a.is_ok()) + usize::from(on_b.is_ok())
        );
        let dev = on_a.or(on_b).expect("one enrolment");

        // One login, answered with the same signed answer on both instances at once: one
        // answer is recorded.
        let req = rp.ciba(&a, &rpps).await.expect("ciba");
        let claims = dev.one_challenge(&b).await;
        let answer = dev.sign(
            &claims.id,
            Decision::Approve,
            Some(&req.dynamic_code),
            a.now(),
        );
        let (on_a, on_b) = tokio::join!(
            dev.post_answer(&a, &claims.id, answer.clone()),
            dev.post_answer(&b, &claims.id, answer)
        );
        assert!(
            on_a.is_ok() != on_b.is_ok(),
            "round {round}: answers recorded: {on_a:?} {on_b:?}"
        );

        // The approved request, polled on both instances at once: one token is issued.
        let (on_a, on_b) = tokio::join!(
            rp.token(&a, &req.auth_req_id),
            rp.token(&b, &req.auth_req_id)
        );
        assert!(
            on_a.is_ok() != on_b.is_ok(),
            "round {round}: tokens issued: {on_a:?} {on_b:?}"
        );
    }
    b.server.shutdown().await;
}
