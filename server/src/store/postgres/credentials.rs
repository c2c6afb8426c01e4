// SPDX-License-Identifier: Apache-2.0
//! SQL of the `credentials` and `redemptions` tables.

use vistalid_core::protocol::Identity;

use super::{exec, get, opt, Tx};
use crate::store::{NewCredential, NewRedemption, Presenter, Redemption, StoreError};

/// Redemption records are kept this long after the presentation's expiry.
const KEEP_SECS: i64 = 3600;

pub(in crate::store) async fn record(tx: &Tx<'_>, c: &NewCredential) -> Result<(), StoreError> {
    exec(
        tx,
        "INSERT INTO credentials (id, account_id, device_id, issued_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &c.id,
            &c.account_id,
            &c.device_id,
            &c.issued_at,
            &c.expires_at,
        ],
    )
    .await?;
    Ok(())
}

pub(in crate::store) async fn presenter(
    tx: &Tx<'_>,
    id: &[u8],
) -> Result<Option<Presenter>, StoreError> {
    let Some(r) = opt(
        tx,
        "SELECT COALESCE(g.unlock_key, d.public_key), d.revoked_at, c.expires_at,
                a.subject_name_id, a.given_name, a.family_name
         FROM credentials c JOIN devices d ON d.id = c.device_id
         JOIN accounts a ON a.id = c.account_id
         LEFT JOIN pin_guards g ON g.device_id = d.id WHERE c.id = $1",
        &[&id],
    )
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(Presenter {
        public_key: get(&r, 0)?,
        revoked: get::<Option<i64>>(&r, 1)?.is_some(),
        expires_at: get(&r, 2)?,
        identity: Identity {
            subject_name_id: get(&r, 3)?,
            given_name: get(&r, 4)?,
            family_name: get(&r, 5)?,
            profession: None,
        },
    }))
}

pub(in crate::store) async fn redeem(
    tx: &Tx<'_>,
    r: &NewRedemption,
) -> Result<Redemption, StoreError> {
    exec(
        tx,
        "DELETE FROM redemptions WHERE expires_at < $1",
        &[&r.now.saturating_sub(KEEP_SECS)],
    )
    .await?;
    let inserted = exec(
        tx,
        "INSERT INTO redemptions (nonce, credential_id, client_id, redeemed_at, expires_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (nonce) DO NOTHING",
        &[
            &r.nonce,
            &r.credential_id,
            &r.client_id,
            &r.now,
            &r.expires_at,
        ],
    )
    .await?;
    Ok(if inserted == 1 {
        Redemption::Fresh
    } else {
        Redemption::AlreadyRedeemed
    })
}
