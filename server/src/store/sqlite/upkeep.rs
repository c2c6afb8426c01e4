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
        Prunable::PushTokenRequests => by_expiry("push_token_requests", step.now),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::Db;

    const NOW: i64 = 1_000_000;
    const KEEP: i64 = 86_400;
    const HORIZON: i64 = NOW - KEEP;

    fn step(table: Prunable, limit: usize) -> PruneStep {
        PruneStep {
            table,
            now: NOW,
            keep_secs: KEEP,
            limit,
        }
    }

    fn count(db: &Db, sql: &'static str) -> i64 {
        db.read_blocking(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .expect("count")
    }

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("db.sqlite")).expect("open");
        (dir, db)
    }

    #[test]
    fn requests_go_with_their_challenges_a_day_after_expiry_and_live_ones_stay() {
        let (_dir, db) = db();
        db.write_blocking(|tx| {
            for (id, exp) in [("a", HORIZON - 1), ("b", HORIZON - 5), ("k", HORIZON + 10)] {
                tx.execute(
                    "INSERT INTO auth_requests (id, client_id, account_id, code, scope,
                         created_at, expires_at, interval_secs, status)
                     VALUES (?1, 'c', 'acct', '42', 'openid', 0, ?2, 5, 'pending')",
                    rusqlite::params![id, exp],
                )?;
                for n in 0..2 {
                    tx.execute(
                        "INSERT INTO challenges (id, auth_req_id, device_id, jws, exp, status)
                         VALUES (?1 || ?2, ?1, 'd', 'jws', ?3, 'pending')",
                        rusqlite::params![id, n, exp],
                    )?;
                }
            }
            Ok(())
        })
        .expect("fill");
        let first = db
            .write_blocking(|tx| prune(tx, &step(Prunable::Requests, 1)))
            .expect("prune");
        assert_eq!(
            first,
            Pruned {
                rows: 3,
                full: true
            },
            "the oldest, b"
        );
        let second = db
            .write_blocking(|tx| prune(tx, &step(Prunable::Requests, 10)))
            .expect("prune");
        assert_eq!(
            second,
            Pruned {
                rows: 3,
                full: false
            }
        );
        assert_eq!(count(&db, "SELECT count(*) FROM auth_requests"), 1);
        assert_eq!(
            count(
                &db,
                "SELECT count(*) FROM challenges WHERE auth_req_id = 'k'"
            ),
            2
        );
        assert_eq!(count(&db, "SELECT count(*) FROM challenges"), 2);
        // The kept request is still counted as expired-unanswered until pruned.
        let p = db.read_blocking(|c| pending(c, NOW)).expect("pending");
        assert_eq!((p.ciba_expired, p.ciba_pending, p.challenges), (1, 0, 0));
    }

    #[test]
    fn sessions_go_a_day_after_their_end_or_expiry_nonces_at_expiry_in_bounded_batches() {
        let (_dir, db) = db();
        db.write_blocking(|tx| {
            for (id, exp, ended) in [
                ("expired", HORIZON - 1, None),
                ("ended", NOW + 100, Some(HORIZON - 1)),
                ("ended-recently", NOW + 100, Some(HORIZON + 1)),
                ("live", NOW + 100, None),
            ] {
                tx.execute(
                    "INSERT INTO sessions (id, cookie_hash, account_id, device_id, auth_time,
                         created_at, expires_at, last_seen, ended_at)
                     VALUES (?1, randomblob(32), 'a', 'd', 0, 0, ?2, 0, ?3)",
                    rusqlite::params![id, exp, ended],
                )?;
            }
            for (nonce, exp) in [("spent", NOW - 1), ("valid", NOW + 1)] {
                tx.execute(
                    "INSERT INTO enrol_nonces (nonce, expires_at) VALUES (?1, ?2)",
                    rusqlite::params![nonce, exp],
                )?;
            }
            for i in 0..5 {
                tx.execute(
                    "INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at)
                     VALUES (randomblob(32), 'f', 0, ?1)",
                    [HORIZON - 1 - i],
                )?;
            }
            tx.execute(
                "INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at)
                 VALUES (randomblob(32), 'f', 0, ?1)",
                [HORIZON + 1],
            )?;
            Ok(())
        })
        .expect("fill");
        let run = |table, limit| {
            db.write_blocking(move |tx| prune(tx, &step(table, limit)))
                .expect("prune")
        };
        assert_eq!(
            run(Prunable::Sessions, 10),
            Pruned {
                rows: 2,
                full: false
            }
        );
        let left: Vec<String> = db
            .read_blocking(|c| {
                let mut st = c.prepare("SELECT id FROM sessions ORDER BY id")?;
                let ids = st
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                Ok(ids)
            })
            .expect("ids");
        assert_eq!(left, ["ended-recently", "live"]);
        assert_eq!(run(Prunable::EnrolNonces, 10).rows, 1);
        assert_eq!(
            count(
                &db,
                "SELECT count(*) FROM enrol_nonces WHERE nonce = 'valid'"
            ),
            1
        );
        // Batches of 2: full, full, then the last one; the live token stays.
        assert_eq!(
            run(Prunable::RefreshTokens, 2),
            Pruned {
                rows: 2,
                full: true
            }
        );
        assert_eq!(
            run(Prunable::RefreshTokens, 2),
            Pruned {
                rows: 2,
                full: true
            }
        );
        assert_eq!(
            run(Prunable::RefreshTokens, 2),
            Pruned {
                rows: 1,
                full: false
            }
        );
        assert_eq!(
            run(Prunable::RefreshTokens, 2),
            Pruned {
                rows: 0,
                full: false
            }
        );
        assert_eq!(count(&db, "SELECT count(*) FROM refresh_tokens"), 1);
    }

    #[test]
    fn every_batch_walks_an_index() {
        let (_dir, db) = db();
        for table in Prunable::ALL {
            let (name, column) = match table {
                Prunable::Requests => ("auth_requests", "expires_at"),
                other => (other.name(), "expires_at"),
            };
            let plan: String = db
                .read_blocking(move |c| {
                    let sql = format!(
                        "EXPLAIN QUERY PLAN SELECT rowid FROM {name} WHERE {column} < 5
                         ORDER BY {column} LIMIT 10"
                    );
                    let mut st = c.prepare(&sql)?;
                    let rows = st
                        .query_map([], |r| r.get::<_, String>(3))?
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(rows.join("; "))
                })
                .expect("plan");
            assert!(plan.contains("USING"), "{name}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{name}: {plan}");
        }
        let plan: String = db
            .read_blocking(|c| {
                Ok(c.query_row(
                    "EXPLAIN QUERY PLAN SELECT rowid FROM sessions WHERE ended_at < 5
                     ORDER BY ended_at LIMIT 10",
                    [],
                    |r| r.get::<_, String>(3),
                )?)
            })
            .expect("plan");
        assert!(plan.contains("sessions_ended"), "{plan}");
    }
}
