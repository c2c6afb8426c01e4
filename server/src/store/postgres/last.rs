// SPDX-License-Identifier: Apache-2.0
//! The last statements of a write, sent in one go with the block's `COMMIT`: once a job has
//! read what it decides on, its remaining writes cost one round trip, not one each plus
//! one for `COMMIT`.
//!
//! Guarantees:
//! - [`end_with`] prepares every statement first (cached per connection), then queues them
//!   all on the connection in the order they were added, then `COMMIT` behind them, with no
//!   `await` in between: a dropped future leaves either nothing sent or all of it, and
//!   `COMMIT` never overtakes a statement.
//! - A statement that fails makes PostgreSQL abort the block, so the `COMMIT` behind it
//!   ends it as a rollback: nothing of the write stays. `end_with` returns the first
//!   statement's error, else the `COMMIT`'s (a serialization failure is
//!   [`StoreError::Conflict`], and `run` tries the whole write again).
//! - On a read (no block), the statements are sent together and nothing is committed.
//! - What `end_with` sends is decided: it returns no row counts, and it is the job's last
//!   step, its result the job's result (once it returns `Ok`, the write is committed).

use std::sync::atomic::Ordering;

use tokio_postgres::types::ToSql;

use super::run::{sent, Pending};
use super::{StoreError, Tx};

/// A statement's parameter, owned or borrowed for `'p`.
pub(super) type Param<'p> = Box<dyn ToSql + Sync + Send + 'p>;

/// The parameters of one statement of a [`Last`]: `params![a, &b, c.as_stored()]`.
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        vec![$(Box::new($p) as $crate::store::postgres::last::Param<'_>),*]
    };
}
pub(super) use params;

/// The statements a write ends with, in order (see the module guarantees).
#[derive(Default)]
pub(super) struct Last<'p> {
    statements: Vec<(&'p str, Vec<Param<'p>>)>,
}

impl<'p> Last<'p> {
    /// Adds `sql` with its parameters, to run after those added before.
    pub(super) fn add(&mut self, sql: &'p str, params: Vec<Param<'p>>) {
        self.statements.push((sql, params));
    }
}

/// Sends `last` and, in a write, the `COMMIT` after it; waits for their replies.
pub(super) async fn end_with(tx: &Tx<'_>, last: Last<'_>) -> Result<(), StoreError> {
    let mut prepared = Vec::with_capacity(last.statements.len());
    for (sql, _) in &last.statements {
        prepared.push(tx.client.prepare_cached(sql).await?);
    }
    let params: Vec<Vec<&(dyn ToSql + Sync)>> = last
        .statements
        .iter()
        .map(|(_, ps)| ps.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect())
        .collect();
    // From here to the COMMIT, nothing waits: each request is queued on the connection as
    // it is made.
    let replies: Vec<Pending<'_, u64>> = prepared
        .iter()
        .zip(&params)
        .map(|(st, ps)| sent(tx.client.execute(st, ps)))
        .collect();
    let commit = tx.write.then(|| {
        tx.commit_sent.store(true, Ordering::Relaxed);
        sent(tx.client.batch_execute("COMMIT"))
    });
    for reply in replies {
        reply.await?;
    }
    if let Some(commit) = commit {
        commit.await?;
    }
    Ok(())
}
