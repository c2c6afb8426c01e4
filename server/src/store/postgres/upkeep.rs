// SPDX-License-Identifier: Apache-2.0
//! SQL of the store's upkeep: batched pruning by expiry (each batch walks an expiry index,
//! oldest first), the readiness probe, the pending counts (through partial indexes).

use super::{all, big, exec, get, one, Tx};
use crate::domain::attempt::Flow;
use crate::store::upkeep::{PendingCounts, Prunable, PruneStep, Pruned};
use crate::store::StoreError;

/// Deletes up to `limit` rows of `table` whose `column` is below `before`, oldest first.
async fn delete_batch(
    tx: &Tx<'_>,
    table: &str,
    column: &str,
    before: i64,
    limit: usize,
) -> Result<usize, StoreError> {
    let sql = format!(
        "DELETE FROM {table} WHERE ctid IN
           (SELECT ctid FROM {table} WHERE {column} < $1 ORDER BY {column} LIMIT $2)"
    );
    let n = exec(tx, &sql, &[&before, &big(limit)]).await?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// One pruning step (see `store::upkeep`).
pub(in crate::store) async fn prune(tx: &Tx<'_>, step: &PruneStep) -> Result<Pruned, StoreError> {
    let horizon = step.now.saturating_sub(step.keep_secs);
    let limit = step.limit.max(1);
    let (table, before) = match step.table {
        Prunable::EnrolNonces => ("enrol_nonces", step.now),
        Prunable::PinGuardRequests => ("pin_guard_requests", step.now),
        Prunable::PushTokenRequests => ("push_token_requests", step.now),
        Prunable::Requests => return prune_requests(tx, horizon, limit).await,
        Prunable::Attempts => ("login_attempts", horizon),
        Prunable::Sessions => {
            let expired = delete_batch(tx, "sessions", "expires_at", horizon, limit).await?;
            let ended = if expired < limit {
                delete_batch(tx, "sessions", "ended_at", horizon, limit - expired).await?
            } else {
                0
            };
            return Ok(Pruned {
                rows: expired + ended,
                full: expired + ended >= limit,
            });
        }
        Prunable::AuthorizationCodes => ("authorization_codes", horizon),
        Prunable::AccessTokens => ("access_tokens", horizon),
        Prunable::RefreshTokens => ("refresh_tokens", horizon),
        Prunable::TokenFamilies => ("token_families", horizon),
        Prunable::ActivationCodes => ("activation_codes", horizon),
        Prunable::Redemptions => ("redemptions", horizon),
    };
    let rows = delete_batch(tx, table, "expires_at", before, limit).await?;
    Ok(Pruned {
        rows,
        full: rows >= limit,
    })
}

/// Up to `limit` login requests expired before `horizon`, with their challenges.
async fn prune_requests(tx: &Tx<'_>, horizon: i64, limit: usize) -> Result<Pruned, StoreError> {
    let ids: Vec<String> = all(
        tx,
        "SELECT id FROM auth_requests WHERE expires_at < $1 ORDER BY expires_at LIMIT $2",
        &[&horizon, &big(limit)],
    )
    .await?
    .iter()
    .map(|r| get(r, 0))
    .collect::<Result<_, _>>()?;
    let challenges = exec(
        tx,
        "DELETE FROM challenges WHERE auth_req_id = ANY($1)",
        &[&ids],
    )
    .await?;
    let requests = exec(tx, "DELETE FROM auth_requests WHERE id = ANY($1)", &[&ids]).await?;
    Ok(Pruned {
        rows: usize::try_from(challenges + requests).unwrap_or(usize::MAX),
        full: ids.len() >= limit,
    })
}

/// A trivial query.
pub(in crate::store) async fn ping(tx: &Tx<'_>) -> Result<(), StoreError> {
    one(tx, "SELECT 1", &[]).await?;
    Ok(())
}

/// Pending requests by flow and pending challenges at `now`.
pub(in crate::store) async fn pending(tx: &Tx<'_>, now: i64) -> Result<PendingCounts, StoreError> {
    let mut out = PendingCounts::default();
    for row in all(
        tx,
        "SELECT flow, expires_at > $1, count(*) FROM auth_requests
         WHERE status = 'pending' GROUP BY 1, 2",
        &[&now],
    )
    .await?
    {
        let flow = super::state::<Flow>(&row, 0)?;
        let live: bool = get(&row, 1)?;
        let n = u64::try_from(get::<i64>(&row, 2)?).unwrap_or(0);
        match (flow, live) {
            (Flow::Ciba, true) => out.ciba_pending = n,
            (Flow::Ciba, false) => out.ciba_expired = n,
            (Flow::Browser, true) => out.browser_pending = n,
            (Flow::Browser, false) => out.browser_expired = n,
        }
    }
    let challenges: i64 = get(
        &one(
            tx,
            "SELECT count(*) FROM challenges WHERE status = 'pending' AND exp > $1",
            &[&now],
        )
        .await?,
        0,
    )?;
    out.challenges = u64::try_from(challenges).unwrap_or(0);
    Ok(out)
}
