// SPDX-License-Identifier: Apache-2.0
//! SQL of the `meta` table: named values the server keeps (its signing keys).

use rusqlite::{Connection, OptionalExtension as _};

use crate::store::StoreError;

/// The value stored under `key`, if any.
pub(in crate::store) fn get(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Deletes the value stored under `key` (nothing when absent).
pub(in crate::store) fn remove(conn: &Connection, key: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM meta WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}
