// SPDX-License-Identifier: Apache-2.0
//! SQL of scan mode (issue 16): an attempt's QR secret, and which challenges answer through
//! it.

use rusqlite::{Connection, OptionalExtension as _};
use vistalid_core::scan::ScanSecret;

use super::Tx;
use crate::store::{ScanKey, StoreError};

/// Gives attempt `id` its QR secret, unless it has one or is done.
pub(in crate::store) fn enable(
    tx: &Tx<'_>,
    id: &str,
    secret: &ScanSecret,
) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE login_attempts SET scan_secret = ?2
             WHERE id = ?1 AND scan_secret IS NULL AND done_at IS NULL",
        )?
        // EXPOSE: stored for the attempt's lifetime, to check its answers' MAC.
        .execute(rusqlite::params![id, secret.expose().as_slice()])?;
    Ok(n > 0)
}

/// Marks the challenges of request `request_id` as answering through attempt `attempt`.
pub(super) fn mark_challenges(
    tx: &Tx<'_>,
    request_id: &str,
    attempt: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE challenges SET scan_attempt = ?2 WHERE auth_req_id = ?1")?
        .execute(rusqlite::params![request_id, attempt])?;
    Ok(())
}

/// What the answer to challenge `id` must carry.
pub(in crate::store) fn key_of(c: &Connection, id: &str) -> Result<ScanKey, StoreError> {
    let row = c
        .prepare_cached(
            "SELECT c.scan_attempt, a.scan_secret FROM challenges c
             LEFT JOIN login_attempts a ON a.id = c.scan_attempt
             WHERE c.id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<Vec<u8>>>(1)?,
            ))
        })
        .optional()?;
    Ok(match row {
        None => ScanKey::NoChallenge,
        Some((None, _)) => ScanKey::Plain,
        Some((Some(_), None)) => ScanKey::Gone,
        Some((Some(_), Some(bytes))) => {
            let bytes = zeroize::Zeroizing::new(bytes);
            ScanKey::Scan(
                ScanSecret::from_slice(&bytes)
                    .ok_or(StoreError::Corrupt("login_attempts.scan_secret"))?,
            )
        }
    })
}
