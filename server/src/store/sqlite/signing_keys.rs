// SPDX-License-Identifier: Apache-2.0
//! SQL of the `signing_keys` table.

use rusqlite::{Connection, OptionalExtension as _};

use super::Tx;
use crate::store::signing_keys::{Rotated, StoredKey};
use crate::store::StoreError;

/// The purposes a stored row may name (anything else is corrupt).
const PURPOSES: [&str; 3] = ["id_token", "challenge", "issuer"];

pub(in crate::store) fn all(c: &Connection) -> Result<Vec<StoredKey>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT purpose, kid, sealed, published_at, active_at, retired_at, expires_at
         FROM signing_keys ORDER BY purpose, active_at, kid",
    )?;
    let rows = stmt.query_map([], |r| {
        let purpose: String = r.get(0)?;
        let purpose = PURPOSES
            .into_iter()
            .find(|p| *p == purpose)
            .ok_or_else(|| super::corrupt(0, "signing_keys.purpose"))?;
        Ok(StoredKey {
            purpose,
            kid: r.get(1)?,
            sealed: r.get(2)?,
            published_at: r.get(3)?,
            active_at: r.get(4)?,
            retired_at: r.get(5)?,
            expires_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn insert(tx: &Tx<'_>, k: &StoredKey) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO signing_keys
             (purpose, kid, sealed, published_at, active_at, retired_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(rusqlite::params![
        k.purpose,
        k.kid,
        k.sealed,
        k.published_at,
        k.active_at,
        k.retired_at,
        k.expires_at
    ])?;
    Ok(())
}

pub(in crate::store) fn insert_first(tx: &Tx<'_>, k: &StoredKey) -> Result<bool, StoreError> {
    let any: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM signing_keys WHERE purpose = ?1 LIMIT 1")?
        .query_row([k.purpose], |r| r.get(0))
        .optional()?;
    if any.is_some() {
        return Ok(false);
    }
    insert(tx, k)?;
    Ok(true)
}

pub(in crate::store) fn rotate(
    tx: &Tx<'_>,
    old_kid: &str,
    old_expires_at: i64,
    successor: &StoredKey,
    now: i64,
) -> Result<Rotated, StoreError> {
    let pending: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM signing_keys WHERE purpose = ?1 AND active_at > ?2 LIMIT 1")?
        .query_row(rusqlite::params![successor.purpose, now], |r| r.get(0))
        .optional()?;
    if pending.is_some() {
        return Ok(Rotated::AlreadyPending);
    }
    let retired = tx
        .prepare_cached(
            "UPDATE signing_keys SET retired_at = ?3, expires_at = ?4
             WHERE purpose = ?1 AND kid = ?2 AND retired_at IS NULL",
        )?
        .execute(rusqlite::params![
            successor.purpose,
            old_kid,
            successor.active_at,
            old_expires_at
        ])?;
    if retired != 1 {
        return Ok(Rotated::Stale);
    }
    insert(tx, successor)?;
    Ok(Rotated::Done)
}
