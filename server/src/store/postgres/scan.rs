// SPDX-License-Identifier: Apache-2.0
//! SQL of scan mode (issue 16): an attempt's QR secret, and which challenges answer through
//! it.

use vistalid_core::scan::ScanSecret;

use super::last::{params, Last};
use super::{exec, get, opt, Tx};
use crate::store::{ScanKey, StoreError};

/// Gives attempt `id` its QR secret, unless it has one or is done.
pub(in crate::store) async fn enable(
    tx: &Tx<'_>,
    id: &str,
    secret: &ScanSecret,
) -> Result<bool, StoreError> {
    let n = exec(
        tx,
        "UPDATE login_attempts SET scan_secret = $2
         WHERE id = $1 AND scan_secret IS NULL AND done_at IS NULL",
        // EXPOSE: stored for the attempt's lifetime, to check its answers' MAC.
        &[&id, &secret.expose().as_slice()],
    )
    .await?;
    Ok(n > 0)
}

/// Adds to `last` the update that marks the challenges of request `request_id` as
/// answering through attempt `attempt`.
pub(super) fn mark_challenges<'p>(last: &mut Last<'p>, request_id: &'p str, attempt: &'p str) {
    last.add(
        "UPDATE challenges SET scan_attempt = $2 WHERE auth_req_id = $1",
        params![request_id, attempt],
    );
}

/// What the answer to challenge `id` must carry.
pub(in crate::store) async fn key_of(tx: &Tx<'_>, id: &str) -> Result<ScanKey, StoreError> {
    let row = opt(
        tx,
        "SELECT c.scan_attempt, a.scan_secret FROM challenges c
         LEFT JOIN login_attempts a ON a.id = c.scan_attempt
         WHERE c.id = $1",
        &[&id],
    )
    .await?;
    let Some(r) = row else {
        return Ok(ScanKey::NoChallenge);
    };
    Ok(
        match (
            get::<Option<String>>(&r, 0)?,
            get::<Option<Vec<u8>>>(&r, 1)?,
        ) {
            (None, _) => ScanKey::Plain,
            (Some(_), None) => ScanKey::Gone,
            (Some(_), Some(bytes)) => {
                let bytes = zeroize::Zeroizing::new(bytes);
                ScanKey::Scan(
                    ScanSecret::from_slice(&bytes)
                        .ok_or(StoreError::Corrupt("login_attempts.scan_secret"))?,
                )
            }
        },
    )
}
