// SPDX-License-Identifier: Apache-2.0
//! SQL of the store's upkeep: batched pruning by expiry (each batch walks an expiry index,
//! oldest first), the readiness probe, the pending counts (through partial indexes that hold
//! only pending rows, so they cost the same on a database of any size).

use rusqlite::Connection;

use super::Tx;
use crate::domain::attempt::Flow;
use crate::store::upkeep::{PendingCounts, Prunable, PruneStep, Pruned};
use crate::store::StoreError;

/// Deletes up to `limit` rows of `table` whose `column` is below `before`, oldest first.
fn delete_batch(
    tx: &Tx<'_>,
    table: &str,
    column: &str,
    before: i64,
    limit: usize,
) -> Result<usize, StoreError> {
    let sql = format!(
        "DELETE FROM {table} WHERE rowid IN
           (SELECT rowid FROM {table} WHERE {column} < ?1 ORDER BY {column} LIMIT ?2)"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(tx
        .prepare_cached(&sql)?
        .execute(rusqlite::params![before, limit])?)
}

/// One pruning step (see `store::upkeep`).
pub(in crate::store) fn prune(tx: &Tx<'_>, step: &PruneStep) -> Result<Pruned, StoreError> {
    let horizon = step.now.saturating_sub(step.keep_secs);
    let limit = step.limit.max(1);
    let by_expiry = |table: &str, before: i64| -> Result<Pruned, StoreError> {
        let rows = delete_batch(tx, table, "expires_at", before, limit)?;
        Ok(Pruned {
            rows,
            full: rows >= limit,
        })
    };
    match step.table {
        Prunable::EnrolNonces => by_expiry("enrol_nonces", step.now),
        Prunable::PinGuardRequests => by_expiry("pin_guard_requests", step.now),
        Prunable::Requests => prune_requests(tx, horizon, limit),
        Prunable::Attempts => by_expiry("login_attempts", horizon),
        Prunable::Sessions => {
            let expired = delete_batch(tx, "sessions", "expires_at", horizon, limit)?;
            let ended = if expired < limit {
                delete_batch(tx, "sessions", "ended_at", horizon, limit - expired)?
            } else {
                0
            };
            Ok(Pruned {
                rows: expired + ended,
                full: expired + ended >= limit,
            })
        }
        Prunable::AuthorizationCodes => by_expiry("authorization_codes", horizon),
        Prunable::AccessTokens => by_expiry("access_tokens", horizon),
        Prunable::RefreshTokens => by_expiry("refresh_tokens", horizon),
        Prunable::TokenFamilies => by_expiry("token_families", horizon),
        Prunable::ActivationCodes => by_expiry("activation_codes", horizon),
        Prunable::Redemptions => by_expiry("redemptions", horizon),
    }
}

/// Up to `limit` login requests expired before `horizon`, with their challenges.
fn prune_requests(tx: &Tx<'_>, horizon: i64, limit: usize) -> Result<Pruned, StoreError> {
    let ids: Vec<String> = tx
        .prepare_cached(
            "SELECT id FROM auth_requests WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2",
        )?
        .query_map(
            rusqlite::params![horizon, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut challenges = tx.prepare_cached("DELETE FROM challenges WHERE auth_req_id = ?1")?;
    let mut requests = tx.prepare_cached("DELETE FROM auth_requests WHERE id = ?1")?;
    let mut rows = 0;
    for id in &ids {
        rows += challenges.execute([id])?;
        rows += requests.execute([id])?;
    }
    Ok(Pruned {
        rows,
        full: ids.len() >= limit,
    })
}

/// A trivial query on a reader connection.
pub(in crate::store) fn ping(conn: &Connection) -> Result<(), StoreError> {
    conn.prepare_cached("SELECT 1")?
        .query_row([], |r| r.get::<_, i64>(0))?;
    Ok(())
}

/// Pending requests by flow and pending challenges at `now`.
pub(in crate::store) fn pending(conn: &Connection, now: i64) -> Result<PendingCounts, StoreError> {
    let mut out = PendingCounts::default();
    let mut by_flow = conn.prepare_cached(
        "SELECT flow, expires_at > ?1, count(*) FROM auth_requests
         WHERE status = 'pending' GROUP BY 1, 2",
    )?;
    let mut rows = by_flow.query([now])?;
    while let Some(row) = rows.next()? {
        let flow = super::state::<Flow>(row, 0)?;
        let live: bool = row.get(1)?;
        let n = u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0);
        match (flow, live) {
            (Flow::Ciba, true) => out.ciba_pending = n,
            (Flow::Ciba, false) => out.ciba_expired = n,
            (Flow::Browser, true) => out.browser_pending = n,
            (Flow::Browser, false) => out.browser_expired = n,
        }
    }
    let challenges: i64 = conn
        .prepare_cached("SELECT count(*) FROM challenges WHERE status = 'pending' AND exp > ?1")?
        .query_row([now], |r| r.get(0))?;
    out.challenges = u64::try_from(challenges).unwrap_or(0);
    Ok(out)
}
