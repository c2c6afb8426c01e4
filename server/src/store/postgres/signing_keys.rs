// SPDX-License-Identifier: Apache-2.0
//! SQL of the `signing_keys` table.

use super::{all, exec, get, opt, Tx};
use crate::store::signing_keys::{Rotated, StoredKey};
use crate::store::StoreError;

/// The purposes a stored row may name (anything else is corrupt).
const PURPOSES: [&str; 3] = ["id_token", "challenge", "issuer"];

pub(in crate::store) async fn all_keys(tx: &Tx<'_>) -> Result<Vec<StoredKey>, StoreError> {
    all(
        tx,
        "SELECT purpose, kid, sealed, published_at, active_at, retired_at, expires_at
         FROM signing_keys ORDER BY purpose, active_at, kid",
        &[],
    )
    .await?
    .iter()
    .map(|r| {
        let purpose: String = get(r, 0)?;
        let purpose = PURPOSES
            .into_iter()
            .find(|p| *p == purpose)
            .ok_or(StoreError::Corrupt("signing_keys.purpose"))?;
        Ok(StoredKey {
            purpose,
            kid: get(r, 1)?,
            sealed: get(r, 2)?,
            published_at: get(r, 3)?,
            active_at: get(r, 4)?,
            retired_at: get(r, 5)?,
            expires_at: get(r, 6)?,
        })
    })
    .collect()
}

async fn insert(tx: &Tx<'_>, k: &StoredKey) -> Result<(), StoreError> {
    exec(
        tx,
        "INSERT INTO signing_keys
             (purpose, kid, sealed, published_at, active_at, retired_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &k.purpose,
            &k.kid,
            &k.sealed,
            &k.published_at,
            &k.active_at,
            &k.retired_at,
            &k.expires_at,
        ],
    )
    .await?;
    Ok(())
}

pub(in crate::store) async fn insert_first(tx: &Tx<'_>, k: &StoredKey) -> Result<bool, StoreError> {
    let any = opt(
        tx,
        "SELECT 1 FROM signing_keys WHERE purpose = $1 LIMIT 1",
        &[&k.purpose],
    )
    .await?;
    if any.is_some() {
        return Ok(false);
    }
    insert(tx, k).await?;
    Ok(true)
}

pub(in crate::store) async fn rotate(
    tx: &Tx<'_>,
    old_kid: &str,
    old_expires_at: i64,
    successor: &StoredKey,
    now: i64,
) -> Result<Rotated, StoreError> {
    let pending = opt(
        tx,
        "SELECT 1 FROM signing_keys WHERE purpose = $1 AND active_at > $2 LIMIT 1",
        &[&successor.purpose, &now],
    )
    .await?;
    if pending.is_some() {
        return Ok(Rotated::AlreadyPending);
    }
    let retired = exec(
        tx,
        "UPDATE signing_keys SET retired_at = $3, expires_at = $4
         WHERE purpose = $1 AND kid = $2 AND retired_at IS NULL",
        &[
            &successor.purpose,
            &old_kid,
            &successor.active_at,
            &old_expires_at,
        ],
    )
    .await?;
    if retired != 1 {
        return Ok(Rotated::Stale);
    }
    insert(tx, successor).await?;
    Ok(Rotated::Done)
}
