// SPDX-License-Identifier: Apache-2.0
//! SQL of the `push_tokens` and `push_token_requests` tables.

use vistalid_core::push::PushPlatform;

use super::{exec, get, opt, Tx};
use crate::store::push_tokens::{PushRegistration, RegisterOutcome, StoredPushToken};
use crate::store::StoreError;

pub(in crate::store) async fn register(
    tx: &Tx<'_>,
    reg: &PushRegistration,
) -> Result<RegisterOutcome, StoreError> {
    let live = opt(
        tx,
        "SELECT revoked_at IS NULL FROM devices WHERE id = $1",
        &[&reg.device_id],
    )
    .await?
    .map(|r| get::<bool>(&r, 0))
    .transpose()?;
    if live != Some(true) {
        return Ok(RegisterOutcome::NoDevice);
    }
    let spent = exec(
        tx,
        "INSERT INTO push_token_requests (device_id, jti, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (device_id, jti) DO NOTHING",
        &[&reg.device_id, &reg.jti, &reg.jti_expires_at],
    )
    .await?;
    if spent != 1 {
        return Ok(RegisterOutcome::Replayed);
    }
    match &reg.token {
        Some(t) => {
            exec(
                tx,
                "INSERT INTO push_tokens (device_id, platform, token, updated_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (device_id) DO UPDATE SET platform = excluded.platform,
                     token = excluded.token, updated_at = excluded.updated_at",
                &[&reg.device_id, &t.platform.as_str(), &t.token, &reg.now],
            )
            .await?;
            Ok(RegisterOutcome::Applied { registered: true })
        }
        None => {
            remove_in(tx, &reg.device_id).await?;
            Ok(RegisterOutcome::Applied { registered: false })
        }
    }
}

/// Removes `device_id`'s token (revocation, removal request).
pub(in crate::store) async fn remove_in(tx: &Tx<'_>, device_id: &str) -> Result<(), StoreError> {
    exec(
        tx,
        "DELETE FROM push_tokens WHERE device_id = $1",
        &[&device_id],
    )
    .await?;
    Ok(())
}

pub(in crate::store) async fn remove_if(
    tx: &Tx<'_>,
    device_id: &str,
    token: &str,
) -> Result<bool, StoreError> {
    Ok(exec(
        tx,
        "DELETE FROM push_tokens WHERE device_id = $1 AND token = $2",
        &[&device_id, &token],
    )
    .await?
        == 1)
}

pub(in crate::store) async fn of_device(
    tx: &Tx<'_>,
    device_id: &str,
) -> Result<Option<StoredPushToken>, StoreError> {
    let Some(r) = opt(
        tx,
        "SELECT p.platform, p.token FROM push_tokens p JOIN devices d ON d.id = p.device_id
         WHERE p.device_id = $1 AND d.revoked_at IS NULL",
        &[&device_id],
    )
    .await?
    else {
        return Ok(None);
    };
    let platform: String = get(&r, 0)?;
    Ok(Some(StoredPushToken {
        platform: PushPlatform::from_name(&platform)
            .ok_or(StoreError::Corrupt("push_tokens.platform"))?,
        token: get(&r, 1)?,
    }))
}
