// SPDX-License-Identifier: Apache-2.0
//! SQL of the `meta` table: named values the server keeps.

use super::{exec, get, opt, Tx};
use crate::store::StoreError;

/// The value stored under `key`, if any.
pub(in crate::store) async fn get_value(
    tx: &Tx<'_>,
    key: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    opt(tx, "SELECT value FROM meta WHERE key = $1", &[&key])
        .await?
        .map(|r| get(&r, 0))
        .transpose()
}

/// Deletes the value stored under `key` (nothing when absent).
pub(in crate::store) async fn remove(tx: &Tx<'_>, key: &str) -> Result<(), StoreError> {
    exec(tx, "DELETE FROM meta WHERE key = $1", &[&key]).await?;
    Ok(())
}
