// SPDX-License-Identifier: Apache-2.0
//! SQL of the `pin_guards` and `pin_guard_requests` tables.

use zeroize::Zeroizing;

use super::{exec, get, opt, Tx};
use crate::store::pin_guards::{GuardKeys, GuardRefusal, GuardRequest, GuessOutcome, NewPinGuard};
use crate::store::StoreError;

/// Creates `device_id`'s guard (in the enrolment's transaction).
pub(in crate::store) async fn insert(
    tx: &Tx<'_>,
    device_id: &str,
    g: &NewPinGuard,
    now: i64,
) -> Result<(), StoreError> {
    exec(
        tx,
        "INSERT INTO pin_guards (device_id, key_id, secret_key, unlock_key, confirm_key,
             guess_limit, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &device_id,
            &g.key_id,
            &g.secret_key.as_slice(),
            &g.unlock_key,
            &g.confirm_key,
            &i64::from(g.guess_limit),
            &now,
        ],
    )
    .await?;
    Ok(())
}

pub(in crate::store) async fn keys(
    tx: &Tx<'_>,
    device_id: &str,
) -> Result<Option<GuardKeys>, StoreError> {
    opt(
        tx,
        "SELECT g.unlock_key, g.confirm_key, d.revoked_at IS NOT NULL
         FROM pin_guards g JOIN devices d ON d.id = g.device_id WHERE g.device_id = $1",
        &[&device_id],
    )
    .await?
    .map(|r| {
        Ok(GuardKeys {
            unlock_key: get(&r, 0)?,
            confirm_key: get(&r, 1)?,
            revoked: get(&r, 2)?,
        })
    })
    .transpose()
}

/// Spends the request id; `false` when it was used before.
async fn spend(tx: &Tx<'_>, req: &GuardRequest) -> Result<bool, StoreError> {
    let n = exec(
        tx,
        "INSERT INTO pin_guard_requests (device_id, jti, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (device_id, jti) DO NOTHING",
        &[&req.device_id, &req.jti, &req.jti_expires_at],
    )
    .await?;
    Ok(n == 1)
}

/// The guard's key id, key (None once erased), guesses used and limit.
type Guard = (String, Option<Vec<u8>>, i64, i64);

async fn guard(tx: &Tx<'_>, device_id: &str) -> Result<Option<Guard>, StoreError> {
    opt(
        tx,
        "SELECT key_id, secret_key, guesses_used, guess_limit FROM pin_guards
         WHERE device_id = $1",
        &[&device_id],
    )
    .await?
    .map(|r| Ok((get(&r, 0)?, get(&r, 1)?, get(&r, 2)?, get(&r, 3)?)))
    .transpose()
}

fn left(limit: i64, used: i64) -> Result<u32, StoreError> {
    u32::try_from(limit.saturating_sub(used).max(0)).map_err(|_| StoreError::Corrupt("guess_limit"))
}

pub(in crate::store) async fn count_guess(
    tx: &Tx<'_>,
    req: &GuardRequest,
) -> Result<GuessOutcome, StoreError> {
    let refused = |r| Ok(GuessOutcome::Refused(r));
    let Some((key_id, secret, used, limit)) = guard(tx, &req.device_id).await? else {
        return refused(GuardRefusal::Unknown);
    };
    if !spend(tx, req).await? {
        return refused(GuardRefusal::Replayed);
    }
    if key_id != req.key_id {
        return refused(GuardRefusal::UnknownKey);
    }
    let Some(secret) = secret.map(Zeroizing::new) else {
        return refused(GuardRefusal::Blocked);
    };
    if used >= limit {
        // The limit was reached by earlier guesses: refuse and erase the key for good.
        exec(
            tx,
            "UPDATE pin_guards SET secret_key = NULL, erased_at = $2 WHERE device_id = $1",
            &[&req.device_id, &req.now],
        )
        .await?;
        return refused(GuardRefusal::Blocked);
    }
    exec(
        tx,
        "UPDATE pin_guards SET guesses_used = guesses_used + 1 WHERE device_id = $1",
        &[&req.device_id],
    )
    .await?;
    Ok(GuessOutcome::Counted {
        secret_key: secret,
        guesses_left: left(limit, used + 1)?,
    })
}

pub(in crate::store) async fn confirm(
    tx: &Tx<'_>,
    req: &GuardRequest,
) -> Result<Result<u32, GuardRefusal>, StoreError> {
    let Some((key_id, secret, _, limit)) = guard(tx, &req.device_id).await? else {
        return Ok(Err(GuardRefusal::Unknown));
    };
    if !spend(tx, req).await? {
        return Ok(Err(GuardRefusal::Replayed));
    }
    if key_id != req.key_id {
        return Ok(Err(GuardRefusal::UnknownKey));
    }
    if secret.map(Zeroizing::new).is_none() {
        return Ok(Err(GuardRefusal::Blocked));
    }
    exec(
        tx,
        "UPDATE pin_guards SET guesses_used = 0 WHERE device_id = $1",
        &[&req.device_id],
    )
    .await?;
    left(limit, 0).map(Ok)
}
