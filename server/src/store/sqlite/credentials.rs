// SPDX-License-Identifier: Apache-2.0
//! SQL of the `credentials` and `redemptions` tables.

use rusqlite::{Connection, OptionalExtension as _};
use vistalid_core::protocol::Identity;

use super::Tx;
use crate::store::{NewCredential, NewRedemption, Presenter, Redemption, StoreError};

/// Redemption records are kept this long after the presentation's expiry.
const KEEP_SECS: i64 = 3600;

pub(in crate::store) fn record(tx: &Tx<'_>, c: &NewCredential) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO credentials (id, account_id, device_id, issued_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(rusqlite::params![
        c.id,
        c.account_id,
        c.device_id,
        c.issued_at,
        c.expires_at
    ])?;
    Ok(())
}

pub(in crate::store) fn presenter(
    c: &Connection,
    id: &[u8],
) -> Result<Option<Presenter>, StoreError> {
    Ok(c.prepare_cached(
        "SELECT d.public_key, d.revoked_at, c.expires_at, a.subject_name_id,
                    a.given_name, a.family_name
             FROM credentials c JOIN devices d ON d.id = c.device_id
             JOIN accounts a ON a.id = c.account_id WHERE c.id = ?1",
    )?
    .query_row([id], |r| {
        Ok(Presenter {
            public_key: r.get(0)?,
            revoked: r.get::<_, Option<i64>>(1)?.is_some(),
            expires_at: r.get(2)?,
            identity: Identity {
                subject_name_id: r.get(3)?,
                given_name: r.get(4)?,
                family_name: r.get(5)?,
                profession: None,
            },
        })
    })
    .optional()?)
}

pub(in crate::store) fn redeem(tx: &Tx<'_>, r: &NewRedemption) -> Result<Redemption, StoreError> {
    tx.prepare_cached("DELETE FROM redemptions WHERE expires_at < ?1")?
        .execute([r.now.saturating_sub(KEEP_SECS)])?;
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO redemptions (nonce, credential_id, client_id, redeemed_at,
                 expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(rusqlite::params![
            r.nonce,
            r.credential_id,
            r.client_id,
            r.now,
            r.expires_at
        ])?;
    Ok(if inserted == 1 {
        Redemption::Fresh
    } else {
        Redemption::AlreadyRedeemed
    })
}
