// SPDX-License-Identifier: Apache-2.0
//! SQL of the `offline_secrets` and `offline_guards` tables (issue 16).

use super::{all, exec, get, one, opt, Tx};
use crate::domain::{RequestStatus, Stored as _};
use crate::store::offline::{
    Accepted, Begin, DeviceSecret, Failed, NewOfflineSecret, OfflineAccept, LOCK_SECS, MAX_FAILURES,
};
use crate::store::{StoreError, Wakeup};

/// Creates `device_id`'s secret (in the enrolment's transaction).
pub(in crate::store) async fn insert(
    tx: &Tx<'_>,
    device_id: &str,
    s: &NewOfflineSecret,
    now: i64,
) -> Result<(), StoreError> {
    exec(
        tx,
        "INSERT INTO offline_secrets (device_id, key_id, sealed, created_at)
         VALUES ($1, $2, $3, $4)",
        &[&device_id, &s.key_id, &s.sealed, &now],
    )
    .await?;
    Ok(())
}

pub(in crate::store) async fn available(tx: &Tx<'_>, account_id: &str) -> Result<bool, StoreError> {
    get(
        &one(
            tx,
            "SELECT EXISTS (SELECT 1 FROM offline_secrets o JOIN devices d ON d.id = o.device_id
                            WHERE d.account_id = $1 AND d.revoked_at IS NULL)",
            &[&account_id],
        )
        .await?,
        0,
    )
}

async fn active_secrets(tx: &Tx<'_>, account_id: &str) -> Result<Vec<DeviceSecret>, StoreError> {
    all(
        tx,
        "SELECT o.device_id, o.key_id, o.sealed FROM offline_secrets o
         JOIN devices d ON d.id = o.device_id
         WHERE d.account_id = $1 AND d.revoked_at IS NULL ORDER BY d.created_at, d.seq",
        &[&account_id],
    )
    .await?
    .iter()
    .map(secret)
    .collect()
}

fn secret(r: &tokio_postgres::Row) -> Result<DeviceSecret, StoreError> {
    Ok(DeviceSecret {
        device_id: get(r, 0)?,
        key_id: get(r, 1)?,
        sealed: get(r, 2)?,
    })
}

/// `(failures, locked_until)` of the account's guard, a lock that ended read as none.
async fn guard(tx: &Tx<'_>, account_id: &str, now: i64) -> Result<(u32, Option<i64>), StoreError> {
    let row = opt(
        tx,
        "SELECT failures, locked_until FROM offline_guards WHERE account_id = $1",
        &[&account_id],
    )
    .await?;
    let Some(r) = row else {
        return Ok((0, None));
    };
    let failures = u32::try_from(get::<i64>(&r, 0)?)
        .map_err(|_| StoreError::Corrupt("offline_guards.failures"))?;
    Ok(match get::<Option<i64>>(&r, 1)? {
        Some(until) if until <= now => (0, None),
        until => (failures, until),
    })
}

async fn set_guard(
    tx: &Tx<'_>,
    account_id: &str,
    failures: u32,
    until: Option<i64>,
) -> Result<(), StoreError> {
    exec(
        tx,
        "INSERT INTO offline_guards (account_id, failures, locked_until) VALUES ($1, $2, $3)
         ON CONFLICT (account_id) DO UPDATE SET failures = $2, locked_until = $3",
        &[&account_id, &i64::from(failures), &until],
    )
    .await?;
    Ok(())
}

pub(in crate::store) async fn begin(
    tx: &Tx<'_>,
    account_id: &str,
    now: i64,
) -> Result<Begin, StoreError> {
    let (failures, until) = guard(tx, account_id, now).await?;
    if let Some(until) = until {
        return Ok(Begin::Locked { until });
    }
    if failures >= MAX_FAILURES {
        let until = now.saturating_add(LOCK_SECS);
        set_guard(tx, account_id, 0, Some(until)).await?;
        return Ok(Begin::Locked { until });
    }
    set_guard(tx, account_id, failures + 1, None).await?;
    active_secrets(tx, account_id).await.map(Begin::Go)
}

pub(in crate::store) async fn fail(
    tx: &Tx<'_>,
    account_id: &str,
    now: i64,
) -> Result<Failed, StoreError> {
    let (failures, until) = guard(tx, account_id, now).await?;
    if let Some(until) = until {
        return Ok(Failed::Locked { until });
    }
    if failures >= MAX_FAILURES {
        let until = now.saturating_add(LOCK_SECS);
        set_guard(tx, account_id, 0, Some(until)).await?;
        return Ok(Failed::Locked { until });
    }
    Ok(Failed::Wrong {
        left: MAX_FAILURES - failures,
    })
}

pub(in crate::store) async fn accept(
    tx: &Tx<'_>,
    a: &OfflineAccept,
) -> Result<Accepted, StoreError> {
    let fresh: bool = get(
        &one(
            tx,
            "SELECT EXISTS (SELECT 1 FROM offline_secrets o JOIN devices d ON d.id = o.device_id
                            WHERE o.device_id = $1 AND d.account_id = $2
                              AND d.revoked_at IS NULL
                              AND (o.last_step IS NULL OR o.last_step < $3))",
            &[&a.device_id, &a.account_id, &a.step],
        )
        .await?,
        0,
    )?;
    if !fresh {
        return Ok(Accepted::Replayed);
    }
    let approved = opt(
        tx,
        "UPDATE auth_requests SET status = $4, auth_time = $3, answered_by = $5,
             offline_otp = TRUE
         WHERE id = (SELECT request_id FROM login_attempts
                     WHERE id = $1 AND account_id = $2 AND done_at IS NULL
                       AND expires_at > $3)
           AND account_id = $2 AND status = $6
         RETURNING id",
        &[
            &a.attempt_id,
            &a.account_id,
            &a.now,
            &RequestStatus::Approved.as_stored(),
            &a.device_id,
            &RequestStatus::Pending.as_stored(),
        ],
    )
    .await?;
    let Some(r) = approved else {
        return Ok(Accepted::Closed);
    };
    let request_id: String = get(&r, 0)?;
    exec(
        tx,
        "UPDATE offline_secrets SET last_step = $2 WHERE device_id = $1",
        &[&a.device_id, &a.step],
    )
    .await?;
    set_guard(tx, &a.account_id, 0, None).await?;
    super::notify::announce(tx, &Wakeup::Request(request_id.clone())).await?;
    Ok(Accepted::Approved(request_id))
}

pub(in crate::store) async fn all_secrets(tx: &Tx<'_>) -> Result<Vec<DeviceSecret>, StoreError> {
    all(
        tx,
        "SELECT device_id, key_id, sealed FROM offline_secrets ORDER BY seq",
        &[],
    )
    .await?
    .iter()
    .map(secret)
    .collect()
}

pub(in crate::store) async fn reseal(
    tx: &Tx<'_>,
    device_id: &str,
    old_key_id: &str,
    new: &NewOfflineSecret,
) -> Result<bool, StoreError> {
    Ok(exec(
        tx,
        "UPDATE offline_secrets SET key_id = $3, sealed = $4 WHERE device_id = $1 AND key_id = $2",
        &[&device_id, &old_key_id, &new.key_id, &new.sealed],
    )
    .await?
        > 0)
}

pub(in crate::store) async fn client_refuses(
    tx: &Tx<'_>,
    client_id: &str,
) -> Result<bool, StoreError> {
    opt(
        tx,
        "SELECT no_offline_code FROM clients WHERE client_id = $1",
        &[&client_id],
    )
    .await?
    .map_or(Ok(true), |r| get(&r, 0))
}

pub(in crate::store) async fn set_client_refuses(
    tx: &Tx<'_>,
    client_id: &str,
    refuses: bool,
) -> Result<bool, StoreError> {
    Ok(exec(
        tx,
        "UPDATE clients SET no_offline_code = $2 WHERE client_id = $1",
        &[&client_id, &refuses],
    )
    .await?
        > 0)
}
