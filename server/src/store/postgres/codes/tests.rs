// SPDX-License-Identifier: Apache-2.0
//! Issuing an activation code reads `activation_codes` by index only: a sequential scan
//! there (the sessions disable them, so it is planned at a prohibitive cost) would lock the
//! whole table for `SERIALIZABLE`'s conflict check, making every concurrent enrolment
//! conflict. Counted by PostgreSQL itself for the write's own transaction
//! (`pg_stat_xact_user_tables`). On the PostgreSQL of `VL_TEST_DATABASE_URL`.

use super::super::testing::store;
use super::super::{exec, get, one, Fut, Tx};
use super::store_code;
use crate::domain::activation::CodeKey;
use crate::store::CodeIssue;

/// Creates account `id`, issues it a code twice (the second kills the first), and returns
/// the sequential scans of `activation_codes` in this transaction.
fn issue_twice<'a>(tx: &'a Tx<'a>, id: &'a &'static str) -> Fut<'a, i64> {
    Box::pin(async move {
        exec(
            tx,
            "INSERT INTO accounts (id, kind, subject_name_id, given_name, family_name,
                 created_at) VALUES ($1, 'practitioner', $1, 'Ada', 'Test', 0)",
            &[id],
        )
        .await?;
        for lookup in ["AAAA", "BBBB"] {
            let code = CodeIssue {
                candidates: vec![CodeKey {
                    lookup: lookup.to_owned(),
                    secret_hash: [7; 32],
                }],
                now: 1,
                expires_at: 1_000,
                tries: 5,
            };
            assert_eq!(store_code(tx, id, &code).await?, 0);
        }
        get(
            &one(
                tx,
                "SELECT seq_scan FROM pg_stat_xact_user_tables
                 WHERE relid = 'activation_codes'::regclass",
                &[],
            )
            .await?,
            0,
        )
    })
}

/// The account's codes still alive (tries left and unused).
fn alive<'a>(tx: &'a Tx<'a>, id: &'a &'static str) -> Fut<'a, i64> {
    Box::pin(async move {
        get(
            &one(
                tx,
                "SELECT count(*) FROM activation_codes
                 WHERE account_id = $1 AND used_at IS NULL AND tries_left > 0",
                &[id],
            )
            .await?,
            0,
        )
    })
}

#[tokio::test]
async fn issuing_a_code_scans_no_table() {
    let Some(pg) = store("codes_scan") else {
        return;
    };
    assert_eq!(pg.write(&"acct-1", issue_twice).await.expect("issue"), 0);
    // The earlier code died; only the last one is alive.
    assert_eq!(pg.read(&"acct-1", alive).await.expect("count"), 1);
}
