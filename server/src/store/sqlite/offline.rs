// SPDX-License-Identifier: Apache-2.0
//! SQL of the `offline_secrets` and `offline_guards` tables (issue 16).

use rusqlite::{Connection, OptionalExtension as _};

use super::Tx;
use crate::domain::{RequestStatus, Stored as _};
use crate::store::offline::{
    Accepted, Begin, DeviceSecret, Failed, NewOfflineSecret, OfflineAccept, LOCK_SECS, MAX_FAILURES,
};
use crate::store::StoreError;

/// Creates `device_id`'s secret (in the enrolment's transaction).
pub(in crate::store) fn insert(
    tx: &Tx<'_>,
    device_id: &str,
    s: &NewOfflineSecret,
    now: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO offline_secrets (device_id, key_id, sealed, created_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(rusqlite::params![device_id, s.key_id, s.sealed, now])?;
    Ok(())
}

pub(in crate::store) fn available(c: &Connection, account_id: &str) -> Result<bool, StoreError> {
    Ok(c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM offline_secrets o JOIN devices d ON d.id = o.device_id
                        WHERE d.account_id = ?1 AND d.revoked_at IS NULL)",
    )?
    .query_row([account_id], |r| r.get(0))?)
}

fn active_secrets(tx: &Tx<'_>, account_id: &str) -> Result<Vec<DeviceSecret>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT o.device_id, o.key_id, o.sealed FROM offline_secrets o
             JOIN devices d ON d.id = o.device_id
             WHERE d.account_id = ?1 AND d.revoked_at IS NULL ORDER BY d.created_at, d.rowid",
        )?
        .query_map([account_id], |r| {
            Ok(DeviceSecret {
                device_id: r.get(0)?,
                key_id: r.get(1)?,
                sealed: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// `(failures, locked_until)` of the account's guard, a lock that ended read as none.
fn guard(tx: &Tx<'_>, account_id: &str, now: i64) -> Result<(u32, Option<i64>), StoreError> {
    let row: Option<(u32, Option<i64>)> = tx
        .prepare_cached("SELECT failures, locked_until FROM offline_guards WHERE account_id = ?1")?
        .query_row([account_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((_, Some(until))) if until <= now => (0, None),
        Some(v) => v,
        None => (0, None),
    })
}

fn set_guard(
    tx: &Tx<'_>,
    account_id: &str,
    failures: u32,
    until: Option<i64>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO offline_guards (account_id, failures, locked_until) VALUES (?1, ?2, ?3)
         ON CONFLICT (account_id) DO UPDATE SET failures = ?2, locked_until = ?3",
    )?
    .execute(rusqlite::params![account_id, failures, until])?;
    Ok(())
}

pub(in crate::store) fn begin(
    tx: &Tx<'_>,
    account_id: &str,
    now: i64,
) -> Result<Begin, StoreError> {
    let (failures, until) = guard(tx, account_id, now)?;
    if let Some(until) = until {
        return Ok(Begin::Locked { until });
    }
    if failures >= MAX_FAILURES {
        let until = now.saturating_add(LOCK_SECS);
        set_guard(tx, account_id, 0, Some(until))?;
        return Ok(Begin::Locked { until });
    }
    set_guard(tx, account_id, failures + 1, None)?;
    active_secrets(tx, account_id).map(Begin::Go)
}

pub(in crate::store) fn fail(
    tx: &Tx<'_>,
    account_id: &str,
    now: i64,
) -> Result<Failed, StoreError> {
    let (failures, until) = guard(tx, account_id, now)?;
    if let Some(until) = until {
        return Ok(Failed::Locked { until });
    }
    if failures >= MAX_FAILURES {
        let until = now.saturating_add(LOCK_SECS);
        set_guard(tx, account_id, 0, Some(until))?;
        return Ok(Failed::Locked { until });
    }
    Ok(Failed::Wrong {
        left: MAX_FAILURES - failures,
    })
}

pub(in crate::store) fn accept(tx: &Tx<'_>, a: &OfflineAccept) -> Result<Accepted, StoreError> {
    let fresh: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM offline_secrets o JOIN devices d ON d.id = o.device_id
                            WHERE o.device_id = ?1 AND d.account_id = ?2
                              AND d.revoked_at IS NULL
                              AND (o.last_step IS NULL OR o.last_step < ?3))",
        )?
        .query_row(rusqlite::params![a.device_id, a.account_id, a.step], |r| {
            r.get(0)
        })?;
    if !fresh {
        return Ok(Accepted::Replayed);
    }
    let approved: Option<String> = tx
        .prepare_cached(
            "UPDATE auth_requests SET status = ?4, auth_time = ?3, answered_by = ?5,
                 offline_otp = 1
             WHERE id = (SELECT request_id FROM login_attempts
                         WHERE id = ?1 AND account_id = ?2 AND done_at IS NULL
                           AND expires_at > ?3)
               AND account_id = ?2 AND status = ?6
             RETURNING id",
        )?
        .query_row(
            rusqlite::params![
                a.attempt_id,
                a.account_id,
                a.now,
                RequestStatus::Approved.as_stored(),
                a.device_id,
                RequestStatus::Pending.as_stored()
            ],
            |r| r.get(0),
        )
        .optional()?;
    let Some(request_id) = approved else {
        return Ok(Accepted::Closed);
    };
    tx.prepare_cached("UPDATE offline_secrets SET last_step = ?2 WHERE device_id = ?1")?
        .execute(rusqlite::params![a.device_id, a.step])?;
    set_guard(tx, &a.account_id, 0, None)?;
    Ok(Accepted::Approved(request_id))
}

pub(in crate::store) fn all(c: &Connection) -> Result<Vec<DeviceSecret>, StoreError> {
    Ok(
        c.prepare_cached("SELECT device_id, key_id, sealed FROM offline_secrets ORDER BY rowid")?
            .query_map([], |r| {
                Ok(DeviceSecret {
                    device_id: r.get(0)?,
                    key_id: r.get(1)?,
                    sealed: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?,
    )
}

pub(in crate::store) fn reseal(
    tx: &Tx<'_>,
    device_id: &str,
    old_key_id: &str,
    new: &NewOfflineSecret,
) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached(
            "UPDATE offline_secrets SET key_id = ?3, sealed = ?4
             WHERE device_id = ?1 AND key_id = ?2",
        )?
        .execute(rusqlite::params![
            device_id, old_key_id, new.key_id, new.sealed
        ])?
        > 0)
}

pub(in crate::store) fn client_refuses(
    c: &Connection,
    client_id: &str,
) -> Result<bool, StoreError> {
    Ok(
        c.prepare_cached("SELECT no_offline_code FROM clients WHERE client_id = ?1")?
            .query_row([client_id], |r| r.get(0))
            .optional()?
            .unwrap_or(true),
    )
}

pub(in crate::store) fn set_client_refuses(
    tx: &Tx<'_>,
    client_id: &str,
    refuses: bool,
) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached("UPDATE clients SET no_offline_code = ?2 WHERE client_id = ?1")?
        .execute(rusqlite::params![client_id, refuses])?
        > 0)
}
