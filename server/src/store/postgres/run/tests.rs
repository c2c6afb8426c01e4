// SPDX-License-Identifier: Apache-2.0
//! A read writes nothing (the pool's sessions are read-only outside a write's block), a
//! write whose future is dropped half-way leaves nothing written and its connection usable,
//! and a write's last statements sent with its COMMIT (`last::end_with`) run inside its
//! block, all or none.
//! On the PostgreSQL of `VL_TEST_DATABASE_URL` (the PostgreSQL suite); said skipped otherwise.

use std::time::Duration;

use super::super::last::{end_with, params, Last};
use super::super::testing::store;
use super::super::{exec, get, one, Fut, Tx};
use crate::store::StoreError;

fn insert<'a>(tx: &'a Tx<'a>, key: &'a &'static str) -> Fut<'a, u64> {
    Box::pin(insert_row(tx, key))
}

async fn insert_row(tx: &Tx<'_>, key: &str) -> Result<u64, StoreError> {
    exec(
        tx,
        "INSERT INTO meta (key, value) VALUES ($1, '\\x00')",
        &[&key],
    )
    .await
}

/// Inserts, then never finishes (its caller gives up).
fn insert_then_hang<'a>(tx: &'a Tx<'a>, key: &'a &'static str) -> Fut<'a, u64> {
    Box::pin(async move {
        insert_row(tx, key).await?;
        std::future::pending::<()>().await;
        Ok(0)
    })
}

fn count<'a>(tx: &'a Tx<'a>, key: &'a &'static str) -> Fut<'a, i64> {
    Box::pin(async move {
        get(
            &one(tx, "SELECT count(*) FROM meta WHERE key = $1", &[key]).await?,
            0,
        )
    })
}

fn jit_off<'a>(tx: &'a Tx<'a>, _: &'a ()) -> Fut<'a, bool> {
    Box::pin(async move {
        get(
            &one(tx, "SELECT current_setting('jit') = 'off'", &[]).await?,
            0,
        )
    })
}

fn in_block<'a>(tx: &'a Tx<'a>, _: &'a ()) -> Fut<'a, bool> {
    Box::pin(async move {
        get(
            &one(
                tx,
                "SELECT current_setting('transaction_isolation') = 'serializable'
                        AND current_setting('transaction_read_only') = 'off'",
                &[],
            )
            .await?,
            0,
        )
    })
}

#[tokio::test]
async fn a_read_cannot_write_and_a_write_runs_serializable_read_write() {
    let Some(pg) = store("run_read_only") else {
        return;
    };
    let refused = pg
        .read(&"read-tries", insert)
        .await
        .expect_err("read wrote");
    let code = match &refused {
        StoreError::Database(e) => e
            .downcast_ref::<tokio_postgres::Error>()
            .and_then(|e| e.code().cloned()),
        _ => None,
    };
    assert_eq!(
        code,
        Some(tokio_postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION),
        "not refused as read-only: {refused:?}"
    );
    assert_eq!(pg.read(&"read-tries", count).await.expect("count"), 0);
    assert_eq!(pg.write(&"write-does", insert).await.expect("write"), 1);
    assert_eq!(pg.read(&"write-does", count).await.expect("count"), 1);
    assert!(pg.write(&(), in_block).await.expect("write"));
    assert!(!pg.read(&(), in_block).await.expect("read"));
    assert!(
        pg.read(&(), jit_off).await.expect("read"),
        "JIT on for the pool's sessions"
    );
}

#[tokio::test]
async fn a_write_given_up_half_way_leaves_nothing_and_its_connection_clean() {
    let Some(pg) = store("run_dropped") else {
        return;
    };
    let given_up = tokio::time::timeout(
        Duration::from_millis(300),
        pg.write(&"dropped", insert_then_hang),
    )
    .await;
    assert!(given_up.is_err(), "the hanging write finished");
    // The pool's one connection again: the block was rolled back, not left open.
    assert_eq!(pg.read(&"dropped", count).await.expect("count"), 0);
    assert!(!pg.read(&(), in_block).await.expect("read"));
    assert_eq!(pg.write(&"dropped", insert).await.expect("write"), 1);
    assert_eq!(pg.read(&"dropped", count).await.expect("count"), 1);
    let e = pg
        .write(&"dropped", insert)
        .await
        .expect_err("a duplicate key");
    assert!(matches!(e, StoreError::Database(_)), "{e:?}");
}

/// Inserts `keys[0]`, then ends with the inserts of the others, in one go with the COMMIT.
fn insert_then_last<'a>(tx: &'a Tx<'a>, keys: &'a [&'static str; 4]) -> Fut<'a, ()> {
    Box::pin(async move {
        insert_row(tx, keys[0]).await?;
        let mut last = Last::default();
        for key in &keys[1..] {
            // A statement this connection has not prepared yet: its Parse waits for a reply
            // before anything is sent, so the COMMIT cannot overtake it.
            last.add(
                "INSERT INTO meta (key, value) VALUES ($1, '\\x01')",
                params![*key],
            );
        }
        end_with(tx, last).await
    })
}

fn count_all<'a, const N: usize>(tx: &'a Tx<'a>, keys: &'a [&'static str; N]) -> Fut<'a, i64> {
    Box::pin(async move {
        get(
            &one(
                tx,
                "SELECT count(*) FROM meta WHERE key = ANY($1)",
                &[&keys.as_slice()],
            )
            .await?,
            0,
        )
    })
}

#[tokio::test]
async fn a_write_ending_with_its_last_statements_commits_them_in_its_block() {
    let Some(pg) = store("run_last") else {
        return;
    };
    let keys = ["first", "last-1", "last-2", "last-3"];
    pg.write(&keys, insert_then_last).await.expect("write");
    // Sent after the COMMIT, an insert would have run on the read-only session and failed.
    assert_eq!(pg.read(&keys, count_all).await.expect("count"), 4);
    // The COMMIT ended the block: the connection is clean, and the next write commits.
    assert!(!pg.read(&(), in_block).await.expect("read"));
    assert!(pg.write(&(), in_block).await.expect("write"));
    assert_eq!(pg.write(&"after", insert).await.expect("write"), 1);
    assert_eq!(pg.read(&"after", count).await.expect("count"), 1);
}

#[tokio::test]
async fn a_last_statement_that_fails_leaves_nothing_of_the_write() {
    let Some(pg) = store("run_last_fails") else {
        return;
    };
    assert_eq!(pg.write(&"taken", insert).await.expect("write"), 1);
    // The third of the last statements hits a key that exists.
    let keys = ["early", "last-1", "taken", "last-3"];
    let e = pg
        .write(&keys, insert_then_last)
        .await
        .expect_err("a duplicate key");
    assert!(matches!(e, StoreError::Database(_)), "{e:?}");
    let written = ["early", "last-1", "last-3"];
    assert_eq!(pg.read(&written, count_all).await.expect("count"), 0);
    assert!(!pg.read(&(), in_block).await.expect("read"));
    assert_eq!(pg.write(&"after", insert).await.expect("write"), 1);
    assert_eq!(pg.read(&"after", count).await.expect("count"), 1);
}
