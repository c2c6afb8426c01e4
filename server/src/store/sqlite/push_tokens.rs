// SPDX-License-Identifier: Apache-2.0
//! SQL of the `push_tokens` and `push_token_requests` tables.

use rusqlite::{Connection, OptionalExtension as _};
use vistalid_core::push::PushPlatform;

use super::Tx;
use crate::store::push_tokens::{PushRegistration, RegisterOutcome, StoredPushToken};
use crate::store::StoreError;

pub(in crate::store) fn register(
    tx: &Tx<'_>,
    reg: &PushRegistration,
) -> Result<RegisterOutcome, StoreError> {
    let live: Option<bool> = tx
        .prepare_cached("SELECT revoked_at IS NULL FROM devices WHERE id = ?1")?
        .query_row([&reg.device_id], |r| r.get(0))
        .optional()?;
    if live != Some(true) {
        return Ok(RegisterOutcome::NoDevice);
    }
    let spent = tx
        .prepare_cached(
            "INSERT INTO push_token_requests (device_id, jti, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (device_id, jti) DO NOTHING",
        )?
        .execute(rusqlite::params![
            reg.device_id,
            reg.jti,
            reg.jti_expires_at
        ])?;
    if spent != 1 {
        return Ok(RegisterOutcome::Replayed);
    }
    match &reg.token {
        Some(t) => {
            tx.prepare_cached(
                "INSERT INTO push_tokens (device_id, platform, token, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (device_id) DO UPDATE SET platform = excluded.platform,
                     token = excluded.token, updated_at = excluded.updated_at",
            )?
            .execute(rusqlite::params![
                reg.device_id,
                t.platform.as_str(),
                t.token,
                reg.now
            ])?;
            Ok(RegisterOutcome::Applied { registered: true })
        }
        None => {
            remove_in(tx, &reg.device_id)?;
            Ok(RegisterOutcome::Applied { registered: false })
        }
    }
}

/// Removes `device_id`'s token (revocation, removal request).
pub(in crate::store) fn remove_in(tx: &Tx<'_>, device_id: &str) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM push_tokens WHERE device_id = ?1")?
        .execute([device_id])?;
    Ok(())
}

pub(in crate::store) fn remove_if(
    tx: &Tx<'_>,
    device_id: &str,
    token: &str,
) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached("DELETE FROM push_tokens WHERE device_id = ?1 AND token = ?2")?
        .execute([device_id, token])?
        == 1)
}

pub(in crate::store) fn of_device(
    c: &Connection,
    device_id: &str,
) -> Result<Option<StoredPushToken>, StoreError> {
    let row: Option<(String, String)> = c
        .prepare_cached(
            "SELECT p.platform, p.token FROM push_tokens p JOIN devices d ON d.id = p.device_id
             WHERE p.device_id = ?1 AND d.revoked_at IS NULL",
        )?
        .query_row([device_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(platform, token)| {
        Ok(StoredPushToken {
            platform: PushPlatform::from_name(&platform)
                .ok_or(StoreError::Corrupt("push_tokens.platform"))?,
            token,
        })
    })
    .transpose()
}
